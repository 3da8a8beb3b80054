"""A year of weekly statistics answered from the daily aggregates, beside the same answer
computed from the rows, on SQLite and PostgreSQL.

Synthetic year (``--days``, default 365 from Monday 2025-11-24, both clock changes
inside): 50 field workers, 30 of them on an 8-hour shift each day with a ping every 10 minutes
(1,500 presence events a day), 200 reports a day in five zones, each its own case routed to
Trafikkontoret or Fastighetskontoret; tasks acknowledged after 0.5-8 h, resolved after 2-96 h,
one in ten rejected and forwarded (its successor resolved), a few left open.

Prints, best of ``ROUNDS`` (the rows' answer once): ``GET /api/v1/stats/weekly`` for the
year (read the aggregates, sum the weeks, JSON; and CSV), the same figures computed from the
rows (every day's reports, cases, tasks and presence log: the work the aggregates save a
request), and the ratio; the time to recompute one day (what the refresh job costs per marked
day) and to build the year. The two answers are compared and must be equal.

    .venv/bin/python -m benchmarks.bench_stats [sqlite|postgresql ...] [--days N]
        [--sqlite-file PATH]   (keep the SQLite year there; measure it again without refilling)
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from backend.localtime import LOCAL_TZ

FIRST = date(2025, 11, 24)  # a Monday; its 53 weeks end on Sunday 29 November 2026
WORKERS = 50
ON_SHIFT = 30
REPORTS_PER_DAY = 200
ROUNDS = 3
ZONES = ["sergels-torg", "drottninggatan", "hotorget", "kungstradgarden", "brunkebergstorg"]
CATEGORIES = [
    ("litter", "litter.overflowing_bin"),
    ("litter", "litter.broken_glass"),
    ("litter", "litter.dumped_items"),
    ("damage", "damage.graffiti"),
    ("damage", "damage.building"),
]


def _ledger(item_id: uuid.UUID, kind: str, user: uuid.UUID, at: datetime) -> dict[str, Any]:
    return {"id": item_id, "type": kind, "user_id": user, "device_id": "bench",
            "content_hash": "0" * 64, "captured_at_raw": at.isoformat(), "captured_at": at,
            "occurred_at": at, "clock_skew_s": 0.0, "received_at": at,
            "status": "received"}  # fmt: skip


def fill(session: Any, days: int, workers: list[uuid.UUID], orgs: dict[str, uuid.UUID]) -> int:
    """Store the year as the push and the task workflow would have: Core inserts per day."""
    from sqlalchemy import insert

    from backend.cases.models import Case
    from backend.presence import stored as presence_days
    from backend.presence.models import PresenceEvent
    from backend.reports.models import Report
    from backend.sync.models import SyncItem
    from backend.tasks.models import Task, TaskEvent

    rnd = random.Random(2026)
    stored = 0
    for n in range(days):
        day = FIRST + timedelta(days=n)
        ledger: list[dict[str, Any]] = []
        presence: list[dict[str, Any]] = []
        reports: list[dict[str, Any]] = []
        cases: list[dict[str, Any]] = []
        tasks: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for worker in rnd.sample(workers, ON_SHIFT):
            start = datetime.combine(day, datetime.min.time(), LOCAL_TZ) + timedelta(
                hours=rnd.choice((6, 7, 14, 15))
            )
            zone = rnd.choice(ZONES)
            plan = [("shift_start", start, zone)]
            for m in range(10, 8 * 60, 10):
                if rnd.random() < 0.1:
                    zone = rnd.choice(ZONES)
                plan.append(("ping", start + timedelta(minutes=m), zone))
            plan.append(("shift_end", start + timedelta(hours=8), zone))
            for event, at, where in plan:
                item = uuid.uuid4()
                ledger.append(_ledger(item, "presence", worker, at.astimezone(UTC)))
                presence.append({"id": item, "user_id": worker, "event": event, "zone": where,
                                 "lat": None, "lon": None, "accuracy_m": None,
                                 "occurred_at": at.astimezone(UTC)})  # fmt: skip
        for _ in range(REPORTS_PER_DAY):
            at = (
                datetime.combine(day, datetime.min.time(), LOCAL_TZ)
                + timedelta(minutes=rnd.randrange(6 * 60, 22 * 60))
            ).astimezone(UTC)
            kind, category = rnd.choice(CATEGORIES)
            zone = rnd.choice(ZONES)
            item, case_id = uuid.uuid4(), uuid.uuid4()
            user = rnd.choice(workers)
            ledger.append(_ledger(item, "report", user, at))
            cases.append({"id": case_id, "category": category, "kind": kind,
                          "dedup_group": category, "dedup_cell": 0, "lat": 59.3325,
                          "lon": 18.0642, "accuracy_m": 8.0, "zone": zone, "status": "open",
                          "first_at": at, "last_at": at, "resolved_at": None,
                          "merged_into_id": None, "report_count": 1, "route_after": None,
                          "created_at": at})  # fmt: skip
            reports.append({"id": item, "user_id": user, "kind": kind, "category": category,
                            "lat": 59.3325, "lon": 18.0642, "accuracy_m": 8.0, "zone": zone,
                            "note": "", "occurred_at": at, "case_id": case_id, "joined": False,
                            "merge_reason": None})  # fmt: skip
            org = "fastighetskontoret" if category == "damage.building" else "trafikkontoret"
            routed, due = at, at + timedelta(hours=24)
            previous = None
            for hop in range(2):
                task_id = uuid.uuid4()
                ack = routed + timedelta(minutes=rnd.randrange(30, 8 * 60))
                done = ack + timedelta(minutes=rnd.randrange(90, 88 * 60))
                forward = hop == 0 and rnd.random() < 0.1
                open_ = not forward and rnd.random() < 0.03
                status = "rejected" if forward else ("acknowledged" if open_ else "resolved")
                tasks.append({"id": task_id, "case_id": case_id, "contact_id": None,
                              "organisation_id": orgs[org], "status": status, "kind": kind,
                              "category": category, "zone": zone, "lat": 59.3325,
                              "lon": 18.0642, "referral": None, "priority": "normal",
                              "deadline": "hours(24)", "due_at": due, "rule_id": "bench",
                              "rule_set_version": 1, "rerouted_from_id": previous,
                              "routed_at": routed,
                              "resolved_at": done if status == "resolved" else None,
                              "updated_at": done})  # fmt: skip
                actions = [("routed", routed), ("acknowledge", ack)]
                if not open_:
                    actions.append(("reject" if forward else "resolve", done))
                events.extend(
                    {"id": uuid.uuid4(), "task_id": task_id, "user_id": None, "action": a,
                     "note": None, "at": t}
                    for a, t in actions
                )  # fmt: skip
                if status == "resolved":
                    cases[-1] |= {"status": "resolved", "resolved_at": done}
                if not forward:
                    break
                previous, routed = task_id, done
                org = "city-i-samverkan"
        for model, rows in (
            (SyncItem, ledger),
            (Case, cases),
            (Report, reports),
            (PresenceEvent, presence),
            (Task, tasks),
            (TaskEvent, events),
        ):
            session.execute(insert(model), rows)
            stored += len(rows)
        # The push marks the workers' days it stores presence for (backend.presence.stored).
        presence_days.mark_dirty(session, [(e["user_id"], e["occurred_at"]) for e in presence])
        session.commit()
    return stored


def best(fn: Any, rounds: int = ROUNDS) -> tuple[float, float, Any]:
    """Best wall-clock time, best CPU time of this process, and the result. On SQLite the
    database works in this process, so the CPU time is what the answer costs on an idle
    machine; the wall clock also counts the other processes sharing the CPUs."""
    times, cpu, result = [], [], None
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(times), min(cpu), result


def from_rows(session: Any, first: date, last: date, now: datetime) -> dict[str, Any]:
    """The weekly figures computed from the rows of every day, as a request would without
    the aggregates: the same per-day computation, nothing stored."""
    from backend.stats import refresh, weekly

    weeks = weekly.iso_weeks(first, last)
    reports, tasks, zones, hours = [], [], [], []
    day = weeks[0].start
    while day <= weeks[-1].end:
        figures = refresh.compute_day(session, day, now)
        reports += [
            weekly.ReportRow(day, kind, category, *counts)
            for (_, kind, category), counts in figures.reports.items()
        ]
        tasks += [
            weekly.TaskRow(day, org, *(getattr(f, n) for n in weekly.COUNTS),
                           weekly.join_seconds(f.ack_seconds),
                           weekly.join_seconds(f.resolve_seconds))
            for (org, _), f in figures.tasks.items()
        ]  # fmt: skip
        for (zone, hour), seconds in (figures.presence or {}).items():
            zones.append(weekly.ZoneSeconds(day, zone, seconds))
            hours.append(weekly.HourSeconds(day, hour, seconds))
        day += timedelta(days=1)
    session.commit()
    rows, total = weekly.table(weeks, reports, tasks, zones, hours)
    return {"weeks": rows, "total": total}


def bench(backend: str, url: str, days: int, reuse: bool = False) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import select

    from backend.app import create_app
    from backend.database import utcnow
    from backend.extensions import db
    from backend.organisations.models import Organisation
    from backend.reference.services import load_reference_data
    from backend.stats import jobs
    from backend.users.services import create_user

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade()
        session = db.session()
        load_reference_data(session)
        _, token = create_user(session, name="bench", role="supervisor", organisation=None)
        orgs = dict(session.execute(select(Organisation.slug, Organisation.id)).all())
        last = FIRST + timedelta(days=days - 1)
        now = utcnow()
        if not reuse:
            workers = [
                create_user(session, name=f"worker-{n:02d}", role="field", organisation=None)[0].id
                for n in range(WORKERS)
            ]
            t0 = time.perf_counter()
            stored = fill(session, days, workers, orgs)
            print(f"[{backend}] stored {stored:,} rows for {days} days in "
                  f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
            per_day = []
            t0 = time.perf_counter()
            day = FIRST - timedelta(days=FIRST.weekday())
            while day <= last + timedelta(days=6 - last.weekday()):
                t1 = time.perf_counter()
                jobs.refresh(db.session(), day, app.config, now)
                per_day.append(time.perf_counter() - t1)
                day += timedelta(days=1)
            build = time.perf_counter() - t0
            print(f"[{backend}] aggregates of {len(per_day)} days built in {build:.1f} s; one "
                  f"day's refresh job: median {statistics.median(per_day) * 1000:.0f} ms, "
                  f"max {max(per_day) * 1000:.0f} ms")  # fmt: skip

        client = app.test_client()
        query = {"from": FIRST.isoformat(), "to": last.isoformat()}
        headers = {"Authorization": f"Bearer {token}"}

        def answer() -> dict[str, Any]:
            response = client.get("/api/v1/stats/weekly", query_string=query, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
            return response.get_json()

        def csv_answer() -> bytes:
            response = client.get(
                "/api/v1/stats/weekly",
                query_string=query,
                headers={**headers, "Accept": "text/csv"},
            )
            assert response.status_code == 200
            return response.data

        aggregate_t, aggregate_cpu, served = best(answer)
        csv_t, csv_cpu, _ = best(csv_answer)
        # Once: it takes as long as building the aggregates (that is the point).
        rows_t, rows_cpu, computed = best(
            lambda: from_rows(db.session(), FIRST, last, now), rounds=1
        )
        same = served["weeks"] == computed["weeks"] and served["total"] == computed["total"]
        assert same, "the aggregates' answer differs from the rows'"
        weeks = len(served["weeks"])
        print(f"[{backend}] {weeks} weeks (route best of {ROUNDS}), the two answers equal:")
        for name, wall, cpu in (
            ("GET /stats/weekly JSON (aggregates)", aggregate_t, aggregate_cpu),
            ("GET /stats/weekly CSV  (aggregates)", csv_t, csv_cpu),
            ("same figures from the rows", rows_t, rows_cpu),
        ):
            print(f"[{backend}]   {name:36} {wall * 1000:9.0f} ms  (CPU {cpu * 1000:7.0f} ms)")
        print(f"[{backend}]   ratio rows / aggregates              {rows_t / aggregate_t:9.1f}x")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("backends", nargs="*", default=["sqlite", "postgresql"])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument(
        "--sqlite-file",
        help="keep the SQLite database here; when it exists, measure it again without refilling",
    )
    args = parser.parse_args()
    print(f"{args.days} days: {WORKERS} workers ({ON_SHIFT} on shift a day), "
          f"{REPORTS_PER_DAY} reports a day")  # fmt: skip
    if "sqlite" in args.backends and args.sqlite_file:
        path = Path(args.sqlite_file).resolve()
        bench("sqlite", f"sqlite:///{path}", args.days, reuse=path.exists())
    elif "sqlite" in args.backends:
        with tempfile.TemporaryDirectory() as tmp:
            bench("sqlite", f"sqlite:///{tmp}/bench.db", args.days)
    if "postgresql" in args.backends:
        from tests.helpers.servers import PostgresServer

        server = PostgresServer()
        server.start()
        try:
            bench("postgresql", server.create_database("bench_stats"), args.days)
        finally:
            server.cleanup()


if __name__ == "__main__":
    main()
