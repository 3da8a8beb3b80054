"""Push throughput end to end (gunicorn, 2 workers, 4 client threads, batches of 50 mixed
items) against two baselines measured in the same run, on SQLite and on PostgreSQL:

- a raw SQLAlchemy Core insert of **the same rows the push writes**, every table (ledger,
  reports, photos, contacts, presence, cases, tasks, task events, deliveries, feed changes and
  counters, statistics marks), each row once with its final values, one multi-row insert per
  table and one commit per batch. The rows are those the service's own push wrote in process
  for batches like the measured ones (recorded per push, read back after);
- the code before this issue: a ``git worktree`` of ``--before`` (default 1f2dfe9, the main
  issue 20's push part branched from) served by gunicorn from that tree, on its own database.

    .venv/bin/python -m benchmarks.bench_push [--batches 120] [--rounds 3]
        [--backend sqlite|postgresql] [--before COMMIT]

Prints the medians of the rounds (each round: now and before, in alternating order, then the
raw insert), rows per push and the ratios; takes two to four minutes per backend.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.helpers.servers import PostgresServer, RedisServer, free_port
from tests.helpers.sync_items import batch, contact, presence, report

ROOT = Path(__file__).resolve().parent.parent

BATCH = 50
CLIENT_THREADS = 4
WORKERS = 2
BEFORE = "1f2dfe9"

_PREPARE = """
import sys, uuid
from flask_migrate import upgrade
from backend.app import create_app
from backend.extensions import db
from backend.reference.services import load_reference_data
from backend.users.services import create_user

app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1]})
with app.app_context():
    upgrade()
    load_reference_data(db.session())
    _, token = create_user(db.session(), name=f"bench-{uuid.uuid4().hex[:6]}", role="field")
    db.session.remove()
    db.engine.dispose()
print(token)
"""


def _items(n: int) -> list[dict[str, Any]]:
    makers = (report, report, contact, presence)
    return [makers[i % len(makers)]() for i in range(n)]


def _fresh(n_batches: int) -> list[list[dict[str, Any]]]:
    return [_items(BATCH) for _ in range(n_batches)]


def _prepare(url: str, tree: Path = ROOT) -> str:
    """Migrate, load the reference data and create the pushing user with ``tree``'s code;
    returns the user's token."""
    done = subprocess.run(
        [sys.executable, "-c", _PREPARE, url],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


@contextmanager
def before_tree(commit: str, tmp: Path) -> Iterator[Path]:
    """A git worktree of ``commit`` (the code before this issue), removed afterwards."""
    path = tmp / f"before-{commit}"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit],
        check=True,
        capture_output=True,
    )
    try:
        yield path
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
            check=False,
            capture_output=True,
        )


@contextmanager
def gunicorn(url: str, tree: Path) -> Iterator[int]:
    port = free_port()
    # One token pushes every batch, far past a phone's rate limit: this measures ingest.
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "RATE_LIMIT_PUSH_PER_MINUTE": "0",
        "PYTHONPATH": str(tree),
    }
    command = [sys.executable, "-m", "gunicorn", "--chdir", str(tree), "--workers", str(WORKERS)]
    command += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"]
    proc = subprocess.Popen(command, cwd=tree, env=env)
    try:
        deadline = time.monotonic() + 120  # imports take long on loaded shared CPUs
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(60)  # the workers finish their requests first; slow on loaded CPUs
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _post(port: int, token: str, body: dict[str, Any] | bytes) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/sync/push",
        data=body if isinstance(body, bytes) else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        result: dict[str, Any] = json.loads(reply.read())
        return result


@contextmanager
def warmed(url: str, token: str, tree: Path) -> Iterator[int]:
    """``tree``'s code under gunicorn, each worker past its first pushes; yields the port."""
    with gunicorn(url, tree) as port:
        for _ in range(2 * WORKERS):  # warm the workers' imports, pools and caches
            _post(port, token, batch(_items(BATCH)))
        yield port


def end_to_end(url: str, token: str, batches: list[list[dict[str, Any]]], tree: Path) -> float:
    """Items/s of ``tree``'s code under gunicorn, 4 client threads pushing ``batches``."""
    with warmed(url, token, tree) as port:
        return push_all(port, token, batches)


def push_all(port: int, token: str, batches: list[list[dict[str, Any]]]) -> float:
    """Items/s of 4 client threads pushing ``batches`` to the server on ``port``; each item
    must come back ``created``."""
    # Encoded before the clock starts: the client shares the 2 CPUs with the server.
    todo = [json.dumps(batch(items)).encode() for items in batches]
    lock = threading.Lock()
    created = 0

    def worker() -> None:
        nonlocal created
        while True:
            with lock:
                if not todo:
                    return
                body = todo.pop()
            results = _post(port, token, body)["results"]
            assert all(r["status"] == "created" for r in results), results[:2]
            with lock:
                created += len(results)

    threads = [threading.Thread(target=worker) for _ in range(CLIENT_THREADS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return created / (time.perf_counter() - start)


def _engine(url: str) -> Any:
    from sqlalchemy import create_engine

    import backend.database  # noqa: F401  (SQLite pragmas and BEGIN IMMEDIATE)

    return create_engine(url)


def captured_rows(url: str, token: str, batches: list[list[dict[str, Any]]]) -> list[Any]:
    """The rows the service's push writes for ``batches``, per batch: (table, rows) in
    foreign-key order (the push writes some tables twice, e.g. the contacts' tasks before
    placement and the cases' after), every row with its final values (what later statements
    of the same push changed, such as a case's report count, included)."""
    from datetime import UTC, datetime

    from sqlalchemy import event, select
    from sqlalchemy.sql.dml import Insert

    from backend.app import create_app
    from backend.auth import user_for_token
    from backend.extensions import db
    from backend.feed.models import FeedStream
    from backend.sync import services

    inserted: list[list[tuple[Any, list[dict[str, Any]]]]] = []

    def record(conn: Any, clause: Any, multiparams: Any, params: Any, options: Any) -> None:
        if isinstance(clause, Insert) and inserted:
            if clause.select is not None:
                # INSERT ... SELECT FROM unnest (PostgreSQL, backend.database.insert_rows):
                # the rows are the arrays bound to it, a column each.
                inserted[-1].append((clause.table, _unnested(clause, (multiparams or [params])[0])))
                return
            # SQLAlchemy 2 hands an executemany's rows as a list of dicts.
            rows = multiparams if multiparams else [params or {}]
            inserted[-1].append((clause.table, [dict(r) for r in rows]))

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        settings = services.SyncSettings.from_config(app.config)
        with db.engine.connect() as conn:
            streams_before = set(_by_key(conn, FeedStream.__table__))
        event.listen(db.engine, "before_execute", record)
        for items in batches:
            session = db.session()
            user = user_for_token(session, token)
            assert user is not None
            inserted.append([])
            body = services.Batch("bench", "1", datetime.now(UTC), items)
            result = services.push(session, user, body, settings)
            assert all(r.status == "created" for r in result.results)
            db.session.remove()
        event.remove(db.engine, "before_execute", record)
        with db.engine.connect() as conn:
            final = {
                table.name: {
                    _key(table, r): dict(r) for r in conn.execute(select(table)).mappings()
                }
                for table in {t for push in inserted for t, _ in push}
            }
        order = {table: n for n, table in enumerate(db.metadata.sorted_tables)}
        db.engine.dispose()
    seen: set[tuple[str, Any]] = set()
    out = []
    for push in inserted:
        tables: dict[Any, list[dict[str, Any]]] = {}
        for table, rows in push:
            for row in rows:
                key = _key(table, row)
                if not row:  # INSERT ... VALUES: the stream counter, added below
                    continue
                if key is None:  # autoincrement: as sent (nothing later changes these)
                    tables.setdefault(table, []).append(row)
                elif (table.name, key) not in seen and key in final[table.name]:
                    seen.add((table.name, key))
                    tables.setdefault(table, []).append(final[table.name][key])
        out.append(sorted(tables.items(), key=lambda kv: order[kv[0]]))
    # The pusher's feed counter: one row, with its final value, written with the first push.
    streams = final[FeedStream.__tablename__]
    new_streams = [row for key, row in streams.items() if key not in streams_before]
    out[0].insert(0, (FeedStream.__table__, new_streams))
    return out


def _unnested(clause: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of an ``INSERT ... SELECT FROM unnest(...)`` (``backend.database.unnest_rows``)
    from the parameters it was executed with: one array per column, JSON columns as text."""
    from sqlalchemy import JSON

    from backend.database import UNNEST_PREFIX

    arrays = {k[len(UNNEST_PREFIX) :]: v for k, v in params.items() if k.startswith(UNNEST_PREFIX)}
    rows = [dict(zip(arrays, values, strict=True)) for values in zip(*arrays.values(), strict=True)]
    for name in arrays:
        if isinstance(clause.table.c[name].type, JSON):
            for row in rows:
                row[name] = None if row[name] is None else json.loads(row[name])
    return rows


def _by_key(conn: Any, table: Any) -> dict[Any, dict[str, Any]]:
    from sqlalchemy import select

    return {_key(table, row): dict(row) for row in conn.execute(select(table)).mappings()}


def _key(table: Any, row: Any) -> Any:
    values = tuple(row.get(c.name) for c in table.primary_key.columns)
    return None if None in values else values


def raw_insert(url: str, prepared: list[Any]) -> float:
    """The captured rows through SQLAlchemy Core: one insert per table, one commit per batch."""
    engine = _engine(url)
    items = sum(len(rows) for push in prepared for t, rows in push if t.name == "sync_items")
    with engine.connect() as conn:
        conn.commit()
        start = time.perf_counter()
        for push in prepared:
            for table, rows in push:
                if rows:
                    conn.execute(table.insert(), rows)
            conn.commit()
        elapsed = time.perf_counter() - start
    engine.dispose()
    return items / elapsed


def _databases(backend: str, tmp: Path, server: PostgresServer | None) -> Iterator[str]:
    for name in ("after", "before", "capture", "raw"):
        if server is None:
            yield f"sqlite:///{tmp}/{backend}-{name}.db"
        else:
            yield server.create_database(f"bench_{name}_{uuid.uuid4().hex[:6]}")


def _clone(source: str, target: str, server: PostgresServer | None) -> None:
    """``target`` as a copy of ``source`` (same users, same reference data)."""
    if server is None:
        shutil.copy(source.removeprefix("sqlite:///"), target.removeprefix("sqlite:///"))
        return
    import psycopg

    with psycopg.connect(
        f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        name = target.rsplit("/", 1)[1]
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source.rsplit("/", 1)[1]}"')


def run(backend: str, tmp: Path, before: Path, n_batches: int, rounds: int) -> dict[str, float]:
    """Medians of ``rounds`` rounds; each round pushes ``n_batches`` to the code of now and of
    before (their order alternating) and inserts the rows of ``n_batches`` pushes raw."""
    server = None
    if backend == "postgresql":
        server = PostgresServer()
        server.start()
    try:
        after_url, before_url, capture_url, raw_url = _databases(backend, tmp, server)
        tokens = {"after": _prepare(after_url), "before": _prepare(before_url, before)}
        capture_token = _prepare(capture_url)
        _clone(capture_url, raw_url, server)
        prepared = captured_rows(capture_url, capture_token, _fresh(n_batches * rounds))
        trees = {"after": (after_url, ROOT), "before": (before_url, before)}
        runs: dict[str, list[float]] = {"after": [], "before": [], "raw": []}
        for n in range(rounds):
            for name in ("after", "before") if n % 2 == 0 else ("before", "after"):
                url, tree = trees[name]
                runs[name].append(end_to_end(url, tokens[name], _fresh(n_batches), tree))
            runs["raw"].append(raw_insert(raw_url, prepared[n * n_batches : (n + 1) * n_batches]))
        rows = sum(len(r) for push in prepared for _, r in push) / len(prepared)
    finally:
        if server is not None:
            server.cleanup()
    figures = {name: statistics.median(values) for name, values in runs.items()}
    print(
        f"{backend:<11} push {figures['after']:>6.0f} items/s | raw insert of its rows "
        f"{figures['raw']:>6.0f} items/s ({rows:.0f} rows per {BATCH} items) | ratio "
        f"{figures['after'] / figures['raw']:.2f} | before {figures['before']:>6.0f} items/s "
        f"(ratio {figures['before'] / figures['raw']:.2f}) | now/before "
        f"{figures['after'] / figures['before']:.2f}x",
        flush=True,
    )
    print(
        f"{'':<11} rounds: " + "; ".join(f"{k} {[round(v) for v in vs]}" for k, vs in runs.items())
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=120)
    parser.add_argument("--backend", action="append", choices=("sqlite", "postgresql"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", default=BEFORE, help="the commit measured as 'before'")
    args = parser.parse_args()
    backends = args.backend or ["sqlite", "postgresql"]
    print(
        f"push benchmark: batches of {BATCH}, {args.batches} batches per measurement, gunicorn "
        f"{WORKERS} workers, {CLIENT_THREADS} client threads, {os.cpu_count()} CPUs, before = "
        f"{args.before}",
        flush=True,
    )
    # A Redis as deployed: a push that routes signals the relay after its commit (issue 20's
    # wake-up; without a server each signal would fail and be skipped).
    redis_server = RedisServer()
    redis_server.start()
    os.environ["REDIS_URL"] = redis_server.url(0)
    try:
        with tempfile.TemporaryDirectory() as name, before_tree(args.before, Path(name)) as before:
            for backend in backends:
                run(backend, Path(name), before, args.batches, args.rounds)
    finally:
        redis_server.cleanup()


if __name__ == "__main__":
    main()
