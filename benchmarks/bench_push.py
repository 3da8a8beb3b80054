"""Push throughput: gunicorn (2 workers) end to end, beside a raw SQLAlchemy insert of the same
rows measured in the same run, on SQLite and on PostgreSQL. Also the set-based ledger claim
against a round trip per item, in process.

    .venv/bin/python -m benchmarks.bench_push [--batches 120] [--backend sqlite|postgresql]

Prints items/s and the ratios; takes about a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.helpers.servers import PostgresServer, free_port
from tests.helpers.sync_items import batch, contact, presence, report

ROOT = Path(__file__).resolve().parent.parent

BATCH = 50
CLIENT_THREADS = 4


def _items(n: int) -> list[dict[str, Any]]:
    makers = (report, report, contact, presence)
    return [makers[i % len(makers)]() for i in range(n)]


def _prepare(url: str) -> tuple[Any, str]:
    from flask_migrate import upgrade

    from backend.app import create_app
    from backend.extensions import db
    from backend.reference.services import load_reference_data
    from backend.users.services import create_user

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        load_reference_data(db.session())
        _, token = create_user(db.session(), name=f"bench-{uuid.uuid4().hex[:6]}", role="field")
        db.session.remove()
    return app, token


def _gunicorn(url: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    # One token pushes every batch, far past a phone's rate limit: this measures ingest.
    env = {**os.environ, "DATABASE_URL": url, "RATE_LIMIT_PUSH_PER_MINUTE": "0"}
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


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


def end_to_end(url: str, token: str, batches: list[list[dict[str, Any]]]) -> float:
    proc, port = _gunicorn(url)
    try:
        _post(port, token, batch(_items(BATCH)))  # warm both workers' imports and pools
        _post(port, token, batch(_items(BATCH)))
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
        elapsed = time.perf_counter() - start
        return created / elapsed
    finally:
        proc.terminate()
        proc.wait(10)


def raw_insert(app: Any, batches: list[list[dict[str, Any]]]) -> float:
    """The same rows through SQLAlchemy Core, built before the clock starts: one multi-row
    insert per table and one commit per batch. The floor the service is compared against."""
    from backend.database import utcnow
    from backend.extensions import db
    from backend.sync import item_rows, ledger, services
    from backend.sync.models import SyncItem
    from backend.users.models import User
    from sync import envelope
    from sync.clock import estimate_clock

    with app.app_context():
        session = db.session()
        user = session.query(User).first()
        settings = services.SyncSettings.from_config(app.config)
        reference, zones = services.load_reference(session)
        prepared = []
        for items in batches:
            now = utcnow()
            clock = estimate_clock(now, now, settings.clock)
            valid = [
                envelope.validate_item(i, reference, settings.limits, clock, settings.clock)
                for i in items
            ]
            envelope_ = services.Batch("bench", "1", now, items)
            tables = [(SyncItem, ledger.ledger_rows(valid, user.id, envelope_.device_id, 0.0, now))]
            prepared.append(tables + item_rows.detail_rows(user, valid, zones)[1])
        session.commit()
        start = time.perf_counter()
        for tables in prepared:
            for model, rows in tables:
                if rows:
                    session.execute(model.__table__.insert(), rows)
            session.commit()
        elapsed = time.perf_counter() - start
        db.session.remove()
    return sum(len(b) for b in batches) / elapsed


def in_process(app: Any, token: str, batches: list[list[dict[str, Any]]], claim: Callable) -> float:
    """``services.push`` without HTTP, with the given ledger claim strategy."""
    from datetime import UTC, datetime

    from backend.auth import user_for_token
    from backend.extensions import db
    from backend.sync import services

    with app.app_context():
        settings = services.SyncSettings.from_config(app.config)
        start = time.perf_counter()
        for items in batches:
            session = db.session()
            user = user_for_token(session, token)
            assert user is not None
            body = services.Batch("bench", "1", datetime.now(UTC), items)
            result = services.push(session, user, body, settings, claim=claim)
            assert all(r.status == "created" for r in result.results)
            db.session.remove()
        elapsed = time.perf_counter() - start
    return sum(len(b) for b in batches) / elapsed


def run(backend: str, url: str, n_batches: int) -> dict[str, float]:
    from backend.sync.ledger import claim_per_item, claim_set_based

    app, token = _prepare(url)

    def fresh() -> list[list[dict[str, Any]]]:
        return [_items(BATCH) for _ in range(n_batches)]

    figures = {
        "raw": raw_insert(app, fresh()),
        "e2e": end_to_end(url, token, fresh()),
        "set_based": in_process(app, token, fresh(), claim_set_based),
        "per_item": in_process(app, token, fresh(), claim_per_item),
    }
    with app.app_context():
        from backend.extensions import db

        db.engine.dispose()
    print(
        f"{backend:<11} end-to-end {figures['e2e']:>7.0f} items/s | raw insert "
        f"{figures['raw']:>7.0f} items/s | ratio {figures['e2e'] / figures['raw']:.2f} | "
        f"in-process set-based {figures['set_based']:>6.0f} vs per-item "
        f"{figures['per_item']:>6.0f} items/s ({figures['set_based'] / figures['per_item']:.2f}x)",
        flush=True,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=120)
    parser.add_argument("--backend", action="append", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    backends = args.backend or ["sqlite", "postgresql"]
    print(
        f"push benchmark: batches of {BATCH}, {args.batches} batches per measurement, "
        f"gunicorn 2 workers, {CLIENT_THREADS} client threads, {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in backends:
            run("sqlite", f"sqlite:///{tmp}/bench.db", args.batches)
        if "postgresql" in backends:
            server = PostgresServer()
            server.start()
            try:
                run("postgresql", server.create_database("bench"), args.batches)
            finally:
                server.cleanup()


if __name__ == "__main__":
    main()
