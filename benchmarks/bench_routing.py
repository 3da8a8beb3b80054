"""Routing: time from push to delivery (p50, p99) and cases routed per second with two workers.

A temporary SQLite database (or BENCH_DATABASE_URL), a redis-server on a free port and
`flask --app wsgi worker` processes. Pushes go through the real route (`POST
/api/v1/sync/push`, in-process test client): each report at a bin of its own, so each starts a
case that the push routes. Baselines measured in the same run:

- routing cost: the same pushes of reports that each join an existing case (stored, placed,
  no routing): the ratio is what routing adds to a push.
- latency: a bare outbox row (`enqueue_delivery` + commit) to delivered, on the same worker.
- throughput: the same backlog of routed cases delivered by one worker, then by two.

    .venv/bin/python -m benchmarks.bench_routing [--latency-n 40] [--backlog 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from benchmarks.workers import Workers, delivered, percentile
from tests.helpers.servers import RedisServer

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-n", type=int, default=40)
    parser.add_argument("--backlog", type=int, default=300)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-routing-"))
    url = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{tmp / 'bench.db'}")
    redis_server = RedisServer()
    redis_server.start()
    # No per-token push limit: one benchmark phone pushes far more than 60 times a minute.
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_server.url(0),
        "RATE_LIMIT_PUSH_PER_MINUTE": "0",
    }
    os.environ.update(env)

    from flask_migrate import upgrade

    from backend.app import create_app
    from backend.delivery.models import Delivery
    from backend.delivery.services import enqueue_delivery
    from backend.extensions import db
    from backend.organisations.services import get_by_slug
    from backend.reference.services import load_reference_data
    from backend.routing.rule_store import seed_rule_set
    from backend.tasks.models import Task
    from backend.users.services import create_user
    from tests.helpers.sync_items import SERGELS_TORG, batch, report

    app = create_app()
    client = app.test_client()
    workers = Workers(env)
    bins = iter(range(10**9))

    def new_bin() -> dict[str, float]:
        # A grid of bins 50 m apart: each report starts a case of its own (dedup radius 15 m).
        n = next(bins)
        return {
            "lat": SERGELS_TORG["lat"] + (n // 50) * 0.00045,
            "lon": SERGELS_TORG["lon"] + (n % 50) * 0.0009,
            "accuracy_m": 5,
        }

    def push(items: list[dict[str, object]]) -> list[str]:
        response = client.post("/api/v1/sync/push", json=batch(items), headers=headers)
        assert response.status_code == 200, response.get_json()
        return [r["case_id"] for r in response.get_json()["results"]]

    def route(n: int, per_push: int = 1) -> list[uuid.UUID]:
        """Push n reports at new bins; the ids of the tasks the pushes routed."""
        cases: list[str] = []
        for start in range(0, n, per_push):
            k = min(per_push, n - start)
            cases += push([report(location=new_bin()) for _ in range(k)])
        ids = list(
            db.session.execute(
                select(Task.id).where(Task.case_id.in_([uuid.UUID(c) for c in cases]))
            ).scalars()
        )
        db.session.rollback()
        assert len(ids) == n
        return ids

    def join(n: int, per_push: int = 1) -> None:
        """Push n reports that join the case already at the first bin: no routing."""
        for start in range(0, n, per_push):
            k = min(per_push, n - start)
            push([report(location=dict(anchor)) for _ in range(k)])

    def bare(org_id: uuid.UUID, n: int) -> list[uuid.UUID]:
        ids = []
        for _ in range(n):
            ids.append(
                enqueue_delivery(
                    db.session(),
                    organisation_id=org_id,
                    event_type="task.created",
                    subject_type="task",
                    subject_id=uuid.uuid4(),
                ).subject_id
            )
            db.session.commit()
        return ids

    try:
        with app.app_context():
            upgrade()
            load_reference_data(db.session())
            seed_rule_set(db.session())
            org = get_by_slug(db.session(), "trafikkontoret").id
            _, token = create_user(db.session(), "bench phone", "field")
            headers = {"Authorization": f"Bearer {token}"}
            anchor = new_bin()
            push([report(location=dict(anchor))])
            db.session.commit()

            # In-process cost of routing in the push, no workers running.
            n = args.backlog
            started = time.perf_counter()
            join(n)
            join_rate = n / (time.perf_counter() - started)
            started = time.perf_counter()
            route(n)
            route_rate = n / (time.perf_counter() - started)
            started = time.perf_counter()
            join(n, per_push=50)
            join_batch_rate = n / (time.perf_counter() - started)
            started = time.perf_counter()
            route(n, per_push=50)
            route_batch_rate = n / (time.perf_counter() - started)
            workers.start(1)
            everything = list(db.session.execute(select(Delivery.subject_id)).scalars())
            while delivered(db.session(), Delivery.subject_id, everything) < len(everything):
                time.sleep(0.1)

            def latency(make: Callable[[int], list[uuid.UUID]]) -> list[float]:
                found: list[float] = []
                for _ in range(args.latency_n):
                    started = time.perf_counter()
                    (one,) = make(1)
                    while delivered(db.session(), Delivery.subject_id, [one]) == 0:
                        time.sleep(0.005)
                    found.append(time.perf_counter() - started)
                return found

            bare_latency = latency(lambda k: bare(org, k))
            routed_latency = latency(route)
            workers.stop()

            rates: dict[int, float] = {}
            for count in (1, 2):
                subjects = route(args.backlog, per_push=50)
                started = time.perf_counter()
                workers.start(count)
                while delivered(db.session(), Delivery.subject_id, subjects) < len(subjects):
                    time.sleep(0.05)
                rates[count] = len(subjects) / (time.perf_counter() - started)
                workers.stop()
    finally:
        workers.stop()
        redis_server.cleanup()

    interval = app.config["RELAY_INTERVAL_SECONDS"]
    print(f"database: {url.split(':', 1)[0]}, RELAY_INTERVAL_SECONDS={interval}")
    print(
        f"push, in-process, {n} reports one per push: joining a case {join_rate:.0f}/s, "
        f"starting a routed case {route_rate:.0f}/s (ratio {route_rate / join_rate:.2f}x)"
    )
    print(
        f"push, in-process, {n} reports 50 per push: joining a case {join_batch_rate:.0f}/s, "
        f"starting a routed case {route_batch_rate:.0f}/s "
        f"(ratio {route_batch_rate / join_batch_rate:.2f}x)"
    )
    print(
        f"bare outbox row -> delivered: p50 {percentile(bare_latency, 0.5) * 1000:7.1f} ms   "
        f"p99 {percentile(bare_latency, 0.99) * 1000:7.1f} ms"
    )
    print(
        f"push -> delivered:            p50 {percentile(routed_latency, 0.5) * 1000:7.1f} ms   "
        f"p99 {percentile(routed_latency, 0.99) * 1000:7.1f} ms   "
        f"(ratio to bare p50: "
        f"{statistics.median(routed_latency) / statistics.median(bare_latency):.2f}x)"
    )
    print(
        f"backlog of {args.backlog} routed cases delivered: 1 worker {rates[1]:.0f}/s, "
        f"2 workers {rates[2]:.0f}/s (ratio {rates[2] / rates[1]:.2f}x), worker start-up included"
    )


if __name__ == "__main__":
    main()
