"""Delivery: time from push to delivered (p50, p99) and deliveries per second with two workers.

Everything runs here: a temporary SQLite database (or BENCH_DATABASE_URL), a redis-server on a
free port, `flask --app wsgi worker` processes. Baselines measured in the same run:

- latency: a bare RQ job (enqueue -> finished) on the same worker; the ratio shows what the
  outbox and relay add (mostly RELAY_INTERVAL_SECONDS, the relay's poll).
- throughput: the same backlog delivered by one worker; the ratio shows how two scale.

    .venv/bin/python -m benchmarks.bench_delivery [--latency-n 60] [--backlog 400]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from redis import Redis
from rq import Queue

from benchmarks.workers import Workers, delivered, percentile
from tests.helpers.servers import RedisServer

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-n", type=int, default=60)
    parser.add_argument("--backlog", type=int, default=400)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
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

    app = create_app()
    workers = Workers(env)

    def push(org_id: uuid.UUID, n: int) -> list[uuid.UUID]:
        ids = [
            enqueue_delivery(
                db.session(),
                organisation_id=org_id,
                event_type="task.created",
                subject_type="task",
                subject_id=uuid.uuid4(),
            ).id
            for _ in range(n)
        ]
        db.session.commit()
        return ids

    try:
        with app.app_context():
            upgrade()
            load_reference_data(db.session())
            org = get_by_slug(db.session(), "trafikkontoret").id
            db.session.commit()
            connection = Redis.from_url(redis_server.url(0))

            workers.start(1)
            time.sleep(3)  # imports and the first relay pass
            # Baseline: a bare RQ job on the same worker.
            bare: list[float] = []
            queue = Queue("default", connection=connection)
            for _ in range(args.latency_n):
                started = time.perf_counter()
                job = queue.enqueue("os.getpid", result_ttl=60)
                while job.get_status(refresh=True) != "finished":
                    time.sleep(0.002)
                bare.append(time.perf_counter() - started)
            # Push to delivered, one push at a time (as phones push).
            latencies: list[float] = []
            for _ in range(args.latency_n):
                (one,) = push(org, 1)
                started = time.perf_counter()
                while delivered(db.session(), Delivery.id, [one]) == 0:
                    time.sleep(0.005)
                latencies.append(time.perf_counter() - started)
            workers.stop()

            rates: dict[int, float] = {}
            for n in (1, 2):
                ids = push(org, args.backlog)
                started = time.perf_counter()
                workers.start(n)
                while delivered(db.session(), Delivery.id, ids) < len(ids):
                    time.sleep(0.05)
                rates[n] = len(ids) / (time.perf_counter() - started)
                workers.stop()
    finally:
        workers.stop()
        redis_server.cleanup()

    interval = app.config["RELAY_INTERVAL_SECONDS"]
    print(f"database: {url.split(':', 1)[0]}, RELAY_INTERVAL_SECONDS={interval}")
    print(
        f"bare RQ job round trip:   p50 {percentile(bare, 0.5) * 1000:7.1f} ms   "
        f"p99 {percentile(bare, 0.99) * 1000:7.1f} ms"
    )
    print(
        f"push -> delivered:        p50 {percentile(latencies, 0.5) * 1000:7.1f} ms   "
        f"p99 {percentile(latencies, 0.99) * 1000:7.1f} ms   "
        f"(ratio to bare RQ p50: {statistics.median(latencies) / statistics.median(bare):.1f}x)"
    )
    print(
        f"backlog of {args.backlog}: 1 worker {rates[1]:.0f}/s, 2 workers {rates[2]:.0f}/s "
        f"(ratio {rates[2] / rates[1]:.2f}x), worker start-up included"
    )


if __name__ == "__main__":
    main()
