"""Push throughput with 1,000 and with 1,000,000 stored reports, in the same run; the ratio.

Goal: at least 0.8, i.e. finding dedup candidates does not grow with the stored reports (an
indexed cell lookup over open cases, see ``sync.cells``). Pushes go through the Flask test
client in batches of 50 reports at random points of the 2 x 2 km around Sergels Torg, captured
in the last hour. Seeding is set-based SQL (``INSERT ... SELECT`` over a generated series):
250,000 cases of 4 reports each, spread over a 10 x 10 km city area and a year of time; cases
older than a week are resolved, as a working routing loop leaves them.

    .venv/bin/python -m benchmarks.bench_cases [--db sqlite|postgresql] [--batches N]

Prints seeding time, items/s at each size (median of rounds) and the ratio, per backend.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from backend.cases.models import Case
from sync.cells import _ROW_DEG, COLUMNS, cell_of

# The seeded cases lie south of 60° N, where every row has COLUMNS columns of this width
# (sync.cells.columns), so SQL can number their cells without the polar narrowing.
_COL_DEG = 360.0 / COLUMNS

BATCH = 50
REPORTS_PER_CASE = 4
SMALL, LARGE = 1_000, 1_000_000
CENTRE = (59.3325, 18.0642)
CATEGORIES = [
    ("litter.overflowing_bin", "litter", "bin"),
    ("litter.broken_glass", "litter", "glass"),
    ("litter.dumped_items", "litter", "dumped"),
    ("litter.syringes", "litter", "syringes"),
    ("damage.graffiti", "damage", "graffiti"),
    ("damage.broken_light", "damage", "light"),
    ("damage.broken_furniture", "damage", "furniture"),
    ("damage.broken_sign", "damage", "sign"),
    ("damage.building", "damage", "building"),
    ("litter.overflowing_bin", "litter", "bin"),
]


def _seed_sql(dialect: str) -> list[str]:
    """Statements inserting cases :c0 <= c < :c1 and their reports (ids from c)."""
    cats = ", ".join(f"({i}, '{c}', '{k}', '{g}')" for i, (c, k, g) in enumerate(CATEGORIES))
    if dialect == "postgresql":
        series = "SELECT generate_series(CAST(:c0 AS bigint), :c1 - 1) AS c"
        uid = "CAST(lpad(to_hex({tag}), 8, '0') || lpad(to_hex({n}), 24, '0') AS uuid)"
        ts = "to_timestamp(:now - ({secs}))"
        floor = "floor({x})"
        user = "CAST(:user_id AS uuid)"
    else:
        series = (
            "WITH RECURSIVE s(c) AS (SELECT :c0 UNION ALL SELECT c + 1 FROM s WHERE c < :c1 - 1)"
            " SELECT c FROM s"
        )
        uid = "printf('%08x%024x', {tag}, {n})"
        ts = "strftime('%Y-%m-%d %H:%M:%S', :now - ({secs}), 'unixepoch') || '.000000'"
        floor = "CAST({x} AS INTEGER)"
        user = ":user_id"
    # Cheap deterministic scatter: multiplicative hashing of the case number.
    lat = "(59.2875 + ((c * 7919) % 100003) / 100003.0 * 0.09)"
    lon = "(17.98 + ((c * 104729) % 100019) / 100019.0 * 0.17)"
    age = "(3600 + (c * 15485863) % 31536000)"  # seconds before now, up to a year
    cell = (
        f"({floor.format(x=f'({lat} + 90) / {_ROW_DEG!r}')} * {COLUMNS}"
        f" + {floor.format(x=f'({lon} + 180) / {_COL_DEG!r}')} % {COLUMNS})"
    )
    week = 7 * 86400
    base = f"""WITH cat(i, code, kind, grp) AS (VALUES {cats}),
        s AS ({series}),
        k(k) AS (VALUES (0), (1), (2), (3))"""
    cases = f"""{base}
        INSERT INTO cases (id, category, kind, dedup_group, dedup_cell, lat, lon, accuracy_m,
            zone, status, first_at, last_at, resolved_at, merged_into_id, report_count, created_at)
        SELECT {uid.format(tag=1, n="c")}, cat.code, cat.kind, cat.grp, {cell}, {lat}, {lon}, 8,
            NULL, CASE WHEN {age} > {week} THEN 'resolved' ELSE 'open' END,
            {ts.format(secs=age)}, {ts.format(secs=f"{age} - 900")},
            CASE WHEN {age} > {week} THEN {ts.format(secs=f"{age} - 86400")} END,
            NULL, {REPORTS_PER_CASE}, {ts.format(secs=age)}
        FROM s JOIN cat ON cat.i = c % 10"""
    items = f"""{base}
        INSERT INTO sync_items (id, type, user_id, device_id, content_hash, captured_at_raw,
            captured_at, occurred_at, clock_skew_s, received_at, status)
        SELECT {uid.format(tag=2, n=f"c * {REPORTS_PER_CASE} + k")}, 'report', {user}, 'seed',
            'seed', 'seed', {ts.format(secs=f"{age} - k * 300")},
            {ts.format(secs=f"{age} - k * 300")}, 0, {ts.format(secs=f"{age} - k * 300")},
            CASE WHEN k > 0 THEN 'merged' ELSE 'received' END
        FROM s CROSS JOIN k"""
    reports = f"""{base}
        INSERT INTO reports (id, user_id, kind, category, lat, lon, accuracy_m, zone, note,
            occurred_at, case_id, joined, merge_reason)
        SELECT {uid.format(tag=2, n=f"c * {REPORTS_PER_CASE} + k")}, {user}, cat.kind, cat.code,
            {lat}, {lon}, 8, NULL, '', {ts.format(secs=f"{age} - k * 300")},
            {uid.format(tag=1, n="c")}, k > 0, NULL
        FROM s CROSS JOIN k JOIN cat ON cat.i = c % 10"""
    return [cases, items, reports]


def seed(app: Flask, user_id: uuid.UUID, first_case: int, end_case: int) -> float:
    from backend.extensions import db

    started = time.perf_counter()
    with app.app_context():
        dialect = db.engine.dialect.name
        params: dict[str, Any] = {
            "c0": first_case,
            "c1": end_case,
            "now": int(time.time()),
            "user_id": str(user_id) if dialect == "postgresql" else user_id.hex,
        }
        with db.engine.begin() as conn:
            for statement in _seed_sql(dialect):
                conn.execute(text(statement), params)
        if dialect == "postgresql":
            # As a nightly maintenance window leaves a database: hint bits set, statistics
            # fresh, the bulk load's dirty pages written; otherwise the first pushes after
            # seeding pay for the seeding's own write-back.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
                conn.execute(text("CHECKPOINT"))
        else:
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        elapsed = time.perf_counter() - started
        # The SQL cell formula must agree with sync.cells, or the lookup would miss cases.
        sample = db.session.execute(
            select(Case.lat, Case.lon, Case.dedup_cell).order_by(Case.created_at).limit(200)
        ).all()
        assert all(cell_of(lat, lon) == cell for lat, lon, cell in sample)
        db.session.remove()
    return elapsed


def _batch(rng: random.Random) -> dict[str, Any]:
    now = datetime.now(UTC)
    items = []
    for _ in range(BATCH):
        category, kind, _ = rng.choice(CATEGORIES)
        items.append(
            {
                "type": "report",
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "captured_at": (now - timedelta(minutes=rng.uniform(1, 60))).isoformat(),
                "kind": kind,
                "category": category,
                "location": {
                    "lat": CENTRE[0] + rng.uniform(-0.009, 0.009),
                    "lon": CENTRE[1] + rng.uniform(-0.018, 0.018),
                    "accuracy_m": rng.uniform(3, 30),
                },
                "note": "",
                "photos": [],
            }
        )
    return {"device_id": "bench", "app_version": "1.0", "sent_at": now.isoformat(), "items": items}


def throughput(client: FlaskClient, token: str, rng: random.Random, batches: int) -> float:
    """Median items/s over 3 rounds of ``batches`` pushes."""
    headers = {"Authorization": f"Bearer {token}"}
    client.post("/api/v1/sync/push", json=_batch(rng), headers=headers)  # warm caches
    rates = []
    for _ in range(3):
        bodies = [_batch(rng) for _ in range(batches)]
        started = time.perf_counter()
        for body in bodies:
            response = client.post("/api/v1/sync/push", json=body, headers=headers)
            assert response.status_code == 200, response.get_json()
        rates.append(batches * BATCH / (time.perf_counter() - started))
    return statistics.median(rates)


def run(dialect: str, batches: int, large: int) -> None:
    from flask_migrate import upgrade

    from backend.app import create_app
    from backend.extensions import db
    from backend.reference.services import load_reference_data
    from backend.users.services import create_user

    server = None
    tmp = Path(tempfile.mkdtemp(prefix="bench-cases-"))
    if dialect == "postgresql":
        from tests.helpers.servers import PostgresServer

        server = PostgresServer()
        server.start()
        url = server.create_database("bench_cases")
    else:
        url = f"sqlite:///{tmp / 'bench.db'}"
    try:
        # No per-token push limit: one benchmark phone pushes far more than 60 times a minute
        # (with a local Redis up, the limit would otherwise apply).
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "RATE_LIMIT_PUSH_PER_MINUTE": 0}
        )
        with app.app_context():
            upgrade()
            load_reference_data(db.session())
            _, token = create_user(db.session(), name="bench", role="field")
            seeder, _ = create_user(db.session(), name="seed", role="field")
            seeder_id = seeder.id
            db.session.remove()
        cases_small = SMALL // REPORTS_PER_CASE
        t_small = seed(app, seeder_id, 0, cases_small)
        client = app.test_client()
        rng = random.Random(20260612)
        small = throughput(client, token, rng, batches)
        t_large = seed(app, seeder_id, cases_small, large // REPORTS_PER_CASE)
        big = throughput(client, token, rng, batches)
        print(
            f"{dialect:>10}  seed {SMALL:,}: {t_small:5.1f} s  seed to {large:,}: {t_large:6.1f} s"
            f"  items/s @1k {small:7.0f}  @{large:,} {big:7.0f}  ratio {big / small:.2f}",
            flush=True,
        )
    finally:
        if server is not None:
            server.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", action="append", choices=("sqlite", "postgresql"))
    parser.add_argument("--batches", type=int, default=10, help="pushes of 50 per round")
    parser.add_argument("--stored", type=int, default=LARGE, help="reports stored at the end")
    args = parser.parse_args()
    for dialect in args.db or ("sqlite", "postgresql"):
        run(dialect, args.batches, args.stored)


if __name__ == "__main__":
    main()
