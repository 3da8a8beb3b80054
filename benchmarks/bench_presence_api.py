"""The daily presence log served by the route, from the database, for 200 workers pinging
every minute through a 12-hour day (144,000 pings plus shift starts and ends), on SQLite and
PostgreSQL.

Beside it, in the same run and on the same events: the pure computation alone
(``daily_log`` + ``daily_log_json`` on values already in memory, the baseline), and loading
the events from the database (``services.load_events``). The route is measured with every
worker's stored day clean (the steady state), with every one dirty (the day's pushes not yet
read: each worker's day computed from its events and saved, the event path), and with one
worker's day dirty (a late ping). Marking is setup, not timed. Prints the best of ``ROUNDS``
times, the peak memory traced by tracemalloc (Python allocations, driver buffers included),
and each ratio to the baseline.

    .venv/bin/python -m benchmarks.bench_presence_api [sqlite|postgresql ...]
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from backend.localtime import LOCAL_TZ
from benchmarks.bench_presence import ROUNDS, measure  # the same best-of-N time and traced peak

WORKERS = 200
HOURS = 12
DAY = date(2026, 5, 12)
JSON = "application/json"
ZONES = ["sergels-torg", "drottninggatan", "hotorget", "kungstradgarden", "brunkebergstorg", None]


def measure_after(setup: Callable[[], object], fn: Callable[[], object]) -> tuple[float, int]:
    """``measure`` with ``setup`` run (untimed, untraced) before each call."""
    best = float("inf")
    for _ in range(ROUNDS):
        setup()
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    setup()
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak


def fill(session: Any, worker_ids: list[uuid.UUID]) -> int:
    """Store the day as the push would: a ledger row and a presence row per item, and the
    workers' days marked dirty."""
    import random

    from sqlalchemy import insert

    from backend.presence import stored
    from backend.presence.models import PresenceEvent
    from backend.sync.models import SyncItem

    rnd = random.Random(2026)
    start = datetime(DAY.year, DAY.month, DAY.day, 7, tzinfo=LOCAL_TZ).astimezone(UTC)
    ledger: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for worker in worker_ids:
        zone = rnd.choice(ZONES)
        plan = [("shift_start", start, zone)]
        for minute in range(HOURS * 60):
            if rnd.random() < 0.05:
                zone = rnd.choice(ZONES)
            at = start + timedelta(minutes=minute, seconds=rnd.randrange(60))
            plan.append(("ping", at, zone))
        plan.append(("shift_end", start + timedelta(hours=HOURS, minutes=1), None))
        for kind, at, where in plan:
            item_id = uuid.uuid4()
            ledger.append(
                {"id": item_id, "type": "presence", "user_id": worker, "device_id": "bench",
                 "content_hash": "0" * 64, "captured_at_raw": at.isoformat(), "captured_at": at,
                 "occurred_at": at, "clock_skew_s": 0.0, "received_at": at, "status": "received"}
            )  # fmt: skip
            events.append(
                {"id": item_id, "user_id": worker, "event": kind, "zone": where,
                 "lat": 59.3325, "lon": 18.0642, "accuracy_m": 8.0, "occurred_at": at}
            )  # fmt: skip
    for n in range(0, len(ledger), 5000):
        session.execute(insert(SyncItem), ledger[n : n + 5000])
        session.execute(insert(PresenceEvent), events[n : n + 5000])
    stored.mark_dirty(session, [(e["user_id"], e["occurred_at"]) for e in events])
    session.commit()
    return len(events)


def bench(backend: str, url: str) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import update

    from backend.app import create_app
    from backend.extensions import db
    from backend.presence import log, services
    from backend.presence import stored as presence_days
    from backend.presence.export import daily_log_json
    from backend.presence.models import PresenceDay
    from backend.reference.services import load_reference_data
    from backend.users.services import create_user

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade()
        session = db.session()
        load_reference_data(session)
        workers = [
            create_user(session, name=f"worker-{n:03d}", role="field", organisation=None)[0].id
            for n in range(WORKERS)
        ]
        _, token = create_user(
            session, name="bench supervisor", role="supervisor", organisation=None
        )
        t0 = time.perf_counter()
        stored = fill(session, workers)
        print(f"[{backend}] stored {stored} presence events in {time.perf_counter() - t0:.1f} s")
        lo, hi = log.event_window(DAY)
        values = services.load_events(session, lo, hi, None)
        session.commit()

        def pure() -> object:
            return daily_log_json(log.daily_log(values, [], DAY))

        def load() -> object:
            rows = services.load_events(db.session(), lo, hi, None)
            db.session.commit()
            return rows

        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}

        def route(accept: str) -> Callable[[], object]:
            def call() -> object:
                response = client.get(
                    "/api/v1/presence/daily",
                    query_string={"date": DAY.isoformat()},
                    headers={**headers, "Accept": accept},
                )
                assert response.status_code == 200, response.get_data(as_text=True)[:200]
                return response.data

            return call

        body = client.get(
            "/api/v1/presence/daily", query_string={"date": DAY.isoformat()}, headers=headers
        ).get_json()
        intervals = sum(len(w["intervals"]) for w in body["workers"])
        print(f"[{backend}] log: {len(body['workers'])} workers, {intervals} intervals")

        def all_dirty() -> None:
            db.session.execute(
                update(PresenceDay).values(
                    version=PresenceDay.version + 1, computed=None, segments=None
                )
            )
            db.session.commit()

        def one_dirty() -> None:
            late = datetime(DAY.year, DAY.month, DAY.day, 9, tzinfo=LOCAL_TZ)
            presence_days.mark_dirty(db.session(), [(workers[0], late)])
            db.session.commit()

        base_t, base_m = measure(pure)
        rows = [
            ("pure daily_log + JSON (baseline)", base_t, base_m),
            ("load events from the database", *measure(load)),
            ("GET daily JSON, every day dirty", *measure_after(all_dirty, route(JSON))),
            ("GET daily JSON, stored days", *measure(route(JSON))),
            ("GET daily JSON, one day dirty", *measure_after(one_dirty, route(JSON))),
            ("GET daily CSV, stored days", *measure(route("text/csv"))),
        ]
        for name, seconds, peak in rows:
            print(
                f"[{backend}] {name:33} {seconds * 1000:8.1f} ms  x{seconds / base_t:5.2f}   "
                f"peak {peak / 2**20:7.1f} MiB  x{peak / base_m:5.2f}"
            )
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    chosen = sys.argv[1:] or ["sqlite", "postgresql"]
    print(f"{WORKERS} workers pinging every minute for {HOURS} h; best of {ROUNDS}")
    if "sqlite" in chosen:
        with tempfile.TemporaryDirectory() as tmp:
            bench("sqlite", f"sqlite:///{tmp}/bench.db")
    if "postgresql" in chosen:
        from tests.helpers.servers import PostgresServer

        server = PostgresServer()
        server.start()
        try:
            bench("postgresql", server.create_database("bench_presence"))
        finally:
            server.cleanup()


if __name__ == "__main__":
    main()
