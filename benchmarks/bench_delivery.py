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
  into running, warmed-up workers; 2 workers against 1.

    .venv/bin/python -m benchmarks.bench_delivery [--backend sqlite|postgresql]
        [--latency-n 100] [--backlog 6000]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Queue

from benchmarks.workers import Workers, delivered, percentile
from tests.helpers.servers import PostgresServer, RedisServer

ROOT = Path(__file__).resolve().parent.parent


def ms(values: list[float]) -> str:
    p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
    return f"p50 {p50:7.1f} ms   p99 {p99:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--latency-n", type=int, default=100)
    parser.add_argument("--backlog", type=int, default=6000)
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

            rates: dict[int, float] = {}
            for n in (1, 2):
                started(n, org)
                ids = push(organisations, args.backlog)
                begun = time.perf_counter()
                while outstanding() > 0:
                    time.sleep(0.02)
                rates[n] = len(ids) / (time.perf_counter() - begun)
                workers.stop()
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
    print(
        f"backlog of {args.backlog} inbox deliveries over {len(organisations)} organisations "
        f"({jobs} jobs in the 2-worker run): 1 worker {rates[1]:.0f}/s, "
        f"2 workers {rates[2]:.0f}/s (ratio {rates[2] / rates[1]:.2f}x)"
    )


if __name__ == "__main__":
    main()
