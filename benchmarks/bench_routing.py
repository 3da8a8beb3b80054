"""Routing: time from push to delivered (p50, p99) and cases routed per second with two workers.

A temporary SQLite database (or BENCH_DATABASE_URL), a redis-server on a free port and
`flask --app wsgi worker` processes. "Push" here is what the integrator's push transaction adds
for a new case: `route_case` (rule match, task, task event, outbox row, feed status) and the
commit. Baselines measured in the same run:

- routing cost: the same number of bare `enqueue_delivery` + commit (no rule match, no task):
  the ratio is what routing adds to a push transaction.
- latency: the bare delivery (outbox row only) to delivered, on the same worker.
- throughput: the same backlog of routed cases delivered by one worker, then by two.

    .venv/bin/python benchmarks/bench_routing.py [--latency-n 40] [--backlog 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from tests.servers import RedisServer  # noqa: E402

FLASK = str(Path(sys.executable).with_name("flask"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-n", type=int, default=40)
    parser.add_argument("--backlog", type=int, default=300)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-routing-"))
    url = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{tmp / 'bench.db'}")
    redis_server = RedisServer()
    redis_server.start()
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_server.url(0)}
    os.environ.update(env)

    from flask_migrate import upgrade

    from backend.app import create_app
    from backend.delivery.models import Delivery
    from backend.delivery.services import enqueue_delivery
    from backend.extensions import db
    from backend.organisations.services import get_by_slug
    from backend.reference.services import load_reference_data
    from backend.routing.rules import CaseFacts
    from backend.routing.services import seed_rule_set
    from backend.tasks.services import route_case

    app = create_app()
    workers: list[subprocess.Popen[bytes]] = []
    facts = CaseFacts(kind="litter", category="litter.overflowing_bin", zone="sergels-torg")

    def start_workers(n: int) -> None:
        for _ in range(n):
            workers.append(
                subprocess.Popen(
                    [FLASK, "--app", "wsgi", "worker"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def stop_workers() -> None:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            proc.wait(30)
        workers.clear()

    def route(n: int) -> list[uuid.UUID]:
        tasks = []
        for _ in range(n):
            tasks.append(
                route_case(db.session(), uuid.uuid4(), facts, received_at=datetime.now(UTC)).id
            )
            db.session.commit()
        return tasks

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

    def delivered(subjects: list[uuid.UUID]) -> int:
        count = db.session.execute(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.subject_id.in_(subjects), Delivery.status == "delivered")
        ).scalar_one()
        db.session.rollback()
        return int(count)

    try:
        with app.app_context():
            upgrade()
            load_reference_data(db.session())
            seed_rule_set(db.session())
            org = get_by_slug(db.session(), "trafikkontoret").id
            db.session.commit()

            # In-process cost of the push transaction's routing part, no workers running.
            n = args.backlog
            started = time.perf_counter()
            bare(org, n)
            bare_rate = n / (time.perf_counter() - started)
            started = time.perf_counter()
            route(n)
            route_rate = n / (time.perf_counter() - started)
            start_workers(1)
            while (
                delivered(list(db.session.execute(select(Delivery.subject_id)).scalars())) < 2 * n
            ):
                time.sleep(0.1)

            def latency(make: Callable[[int], list[uuid.UUID]]) -> list[float]:
                found: list[float] = []
                for _ in range(args.latency_n):
                    started = time.perf_counter()
                    (one,) = make(1)
                    while delivered([one]) == 0:
                        time.sleep(0.005)
                    found.append(time.perf_counter() - started)
                return found

            bare_latency = latency(lambda k: bare(org, k))
            routed_latency = latency(route)
            stop_workers()

            rates: dict[int, float] = {}
            for count in (1, 2):
                subjects = route(args.backlog)
                started = time.perf_counter()
                start_workers(count)
                while delivered(subjects) < len(subjects):
                    time.sleep(0.05)
                rates[count] = len(subjects) / (time.perf_counter() - started)
                stop_workers()
    finally:
        stop_workers()
        redis_server.cleanup()

    interval = app.config["RELAY_INTERVAL_SECONDS"]
    print(f"database: {url.split(':', 1)[0]}, RELAY_INTERVAL_SECONDS={interval}")
    print(
        f"in-process, {n} each: bare outbox row {bare_rate:.0f}/s, route_case {route_rate:.0f}/s "
        f"(ratio {route_rate / bare_rate:.2f}x)"
    )
    print(
        f"bare outbox row -> delivered: p50 {percentile(bare_latency, 0.5) * 1000:7.1f} ms   "
        f"p99 {percentile(bare_latency, 0.99) * 1000:7.1f} ms"
    )
    print(
        f"routed case -> delivered:     p50 {percentile(routed_latency, 0.5) * 1000:7.1f} ms   "
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
