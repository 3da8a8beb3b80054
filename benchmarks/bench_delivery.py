"""Delivery: time from push to delivered (p50, p99), the relay woken on commit against its poll,
and inbox deliveries per second with one and with two workers.

Everything runs here: a temporary SQLite database (or a durable PostgreSQL server of its own, or
BENCH_DATABASE_URL), a redis-server on a free port, `flask --app wsgi worker` processes (each a
relay, a non-forking delivery worker and the forking worker of the fixed queues). Baselines
measured in the same run:

- latency: a bare RQ job (enqueue -> finished) on the same delivery worker; and the same
  pushes with the wake-up off (``RELAY_WAKE_ON_COMMIT=0``: the relay's 0.5 s poll only).
  Push to delivered is each row's ``delivered_at - created_at`` (the commit is inside it);
  pushes come one at a time, a random 0-50 ms after the previous one was delivered, so the
  poll's phase is not fixed.
- throughput: a backlog of inbox deliveries spread over every organisation, committed at once
  into running, warmed-up workers; 2 workers against 1, in ``--rounds`` rounds (medians; the
  ratio is the median of each round's ratio). Each drain also reports how many of the
  machine's CPUs were busy and which processes used them (``/proc``, Linux): on a machine whose
  CPUs one worker's relay, delivery worker, database and Redis already keep busy, a second
  worker cannot double anything.

    .venv/bin/python -m benchmarks.bench_delivery [--backend sqlite|postgresql]
        [--latency-n 100] [--backlog 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Queue

from benchmarks.workers import CpuMeter, Workers, delivered, percentile
from tests.helpers.servers import PostgresServer, RedisServer

ROOT = Path(__file__).resolve().parent.parent


def ms(values: list[float]) -> str:
    p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
    return f"p50 {p50:7.1f} ms   p99 {p99:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--latency-n", type=int, default=100)
    parser.add_argument("--backlog", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    postgres = None
    url = os.environ.get("BENCH_DATABASE_URL", "")
    if not url and args.backend == "postgresql":
        postgres = PostgresServer(durable=True)
        postgres.start()
        url = postgres.create_database("bench_delivery")
    url = url or f"sqlite:///{tmp / 'bench.db'}"
    redis_server = RedisServer()
    redis_server.start()
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_server.url(0)}
    os.environ.update(env)

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from backend import queues
    from backend.app import create_app
    from backend.database import utcnow
    from backend.delivery import wake
    from backend.delivery.models import Delivery
    from backend.delivery.services import delivery_values
    from backend.extensions import db
    from backend.organisations.models import Organisation
    from backend.reference.services import load_reference_data

    app = create_app()
    workers = Workers(env)

    def push(organisations: list[Any], n: int) -> list[uuid.UUID]:
        """n inbox deliveries spread over ``organisations``, in one commit (that wakes)."""
        now = utcnow()
        rows = [
            delivery_values(
                organisations[i % len(organisations)], "task.created", "task", uuid.uuid4(), now
            )
            for i in range(n)
        ]
        db.session.execute(Delivery.__table__.insert(), rows)
        wake.deliveries_written(db.session())
        db.session.commit()
        return [r["id"] for r in rows]

    relayed: list[float] = []

    def latencies(organisation: Any, n: int) -> list[float]:
        found: list[float] = []
        for _ in range(n):
            (one,) = push([organisation], 1)
            while delivered(db.session(), Delivery.id, [one]) == 0:
                time.sleep(0.01)
            row = db.session.get_one(Delivery, one)
            assert row.delivered_at is not None and row.enqueued_at is not None
            found.append((row.delivered_at - row.created_at).total_seconds())
            relayed.append((row.enqueued_at - row.created_at).total_seconds())
            db.session.rollback()
            time.sleep(random.uniform(0, 0.05))
        return found

    def outstanding() -> int:
        """Deliveries not yet delivered (the status index; no list of ids to send)."""
        count = db.session.execute(
            select(func.count()).where(Delivery.status.in_(("pending", "enqueued")))
        ).scalar_one()
        db.session.rollback()
        return int(count)

    def started(n: int, organisation: Any, **extra: str) -> None:
        workers.start(n, **extra)
        workers.wait_ready(connection)
        latencies(organisation, 3)  # imports, connections, the first relay passes

    try:
        with app.app_context():
            upgrade()
            load_reference_data(db.session())
            organisations = list(db.session.execute(select(Organisation)).scalars())
            for organisation in organisations:
                organisation.channel = "inbox"
            db.session.commit()
            org = next(o for o in organisations if o.slug == "trafikkontoret")
            connection = Redis.from_url(redis_server.url(0))

            started(1, org)
            bare: list[float] = []
            queue = Queue(queues.delivery(org.slug), connection=connection)
            for _ in range(args.latency_n):
                begun = time.perf_counter()
                job = queue.enqueue("os.getpid", result_ttl=60)
                while job.get_status(refresh=True) != "finished":
                    time.sleep(0.001)
                bare.append(time.perf_counter() - begun)
            relayed.clear()
            woken = latencies(org, args.latency_n)
            woken_relayed = list(relayed)
            workers.stop()
            started(1, org, RELAY_WAKE_ON_COMMIT="0")
            polled = latencies(org, args.latency_n)
            workers.stop()

            rates: dict[int, list[float]] = {1: [], 2: []}
            meters: dict[int, list[CpuMeter]] = {1: [], 2: []}
            for round_ in range(args.rounds):
                for n in (1, 2):
                    started(n, org)
                    ids = push(organisations, args.backlog)
                    meter = CpuMeter()
                    meter.start()
                    begun = time.perf_counter()
                    while outstanding() > 0:
                        time.sleep(0.02)
                    rates[n].append(len(ids) / (time.perf_counter() - begun))
                    meter.stop()
                    meters[n].append(meter)
                    workers.stop()
                    print(
                        f"round {round_ + 1}, {n} worker(s): {rates[n][-1]:.0f}/s; "
                        f"{meter.summary()}",
                        flush=True,
                    )
            jobs = db.session.execute(
                select(func.count(func.distinct(Delivery.job_id))).where(Delivery.id.in_(ids))
            ).scalar_one()
            db.session.rollback()
    finally:
        workers.stop()
        redis_server.cleanup()
        if postgres is not None:
            postgres.cleanup()

    interval = app.config["RELAY_INTERVAL_SECONDS"]
    print(
        f"database: {url.split(':', 1)[0]}, RELAY_INTERVAL_SECONDS={interval}, "
        f"{os.cpu_count()} CPUs shared with this script, Redis and the database"
    )
    print(f"bare RQ job round trip (delivery worker):  {ms(bare)}")
    print(f"push -> delivered, relay woken on commit:  {ms(woken)}")
    print(f"  of which push -> enqueued by the relay:  {ms(woken_relayed)}")
    print(f"push -> delivered, poll only (wake off):   {ms(polled)}")
    print(
        f"woken vs polled: p50 {percentile(woken, 0.5) / percentile(polled, 0.5):.2f}x, "
        f"p99 {percentile(woken, 0.99) / percentile(polled, 0.99):.2f}x; "
        f"woken p99 vs bare RQ p99 {percentile(woken, 0.99) / percentile(bare, 0.99):.1f}x"
    )
    ratios = [two / one for one, two in zip(rates[1], rates[2], strict=True)]
    busy = {n: statistics.median(m.busy_cpus for m in meters[n]) for n in (1, 2)}
    print(
        f"backlog of {args.backlog} inbox deliveries over {len(organisations)} organisations "
        f"({jobs} jobs in the last 2-worker run), medians of {args.rounds} rounds: "
        f"1 worker {statistics.median(rates[1]):.0f}/s, "
        f"2 workers {statistics.median(rates[2]):.0f}/s "
        f"(ratio {statistics.median(ratios):.2f}x; rounds {', '.join(f'{r:.2f}' for r in ratios)})"
    )
    cost = {
        n: statistics.median(m.busy_cpus / r for m, r in zip(meters[n], rates[n], strict=True))
        for n in (1, 2)
    }
    print(
        f"CPUs busy while draining (median): 1 worker {busy[1]:.2f}, 2 workers {busy[2]:.2f} "
        f"of {os.cpu_count()}; CPU time a delivery (every process): 1 worker "
        f"{cost[1] * 1000:.3f} ms, 2 workers {cost[2] * 1000:.3f} ms, so these CPUs deliver "
        f"at most {(os.cpu_count() or 1) / cost[2]:.0f}/s"
    )


if __name__ == "__main__":
    main()
