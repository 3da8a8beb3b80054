"""What the delivery and routing benchmarks share: `flask --app wsgi worker` processes, a count
of delivered outbox rows, and the percentile they report. Not a benchmark itself (`make bench`
runs `bench_*.py` only)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).with_name("flask"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Workers:
    """`flask --app wsgi worker` processes (each a relay, a delivery worker and a forking RQ
    worker) started and stopped as a group."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, n: int, **extra: str) -> None:
        for _ in range(n):
            self.processes.append(
                subprocess.Popen(
                    [FLASK, "--app", "wsgi", "worker"],
                    cwd=ROOT,
                    env={**self.env, **extra},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def wait_ready(self, connection: Any, timeout: float = 60) -> None:
        """Until as many delivery workers as started have registered with RQ (the relays
        start beside them; a warm-up delivery tells the caller when one is through)."""
        from rq import Worker

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listening = [
                w
                for w in Worker.all(connection=connection)
                if any(name.startswith("deliver.") for name in w.queue_names())
            ]
            if len(listening) >= len(self.processes):
                return
            time.sleep(0.1)
        raise RuntimeError("delivery workers did not start")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(30)
        self.processes.clear()


def delivered(session: Any, column: Any, ids: Sequence[Any]) -> int:
    """How many deliveries whose ``column`` (``Delivery.id`` or ``Delivery.subject_id``) is
    among ``ids`` are delivered; ends the read so the next call sees the workers' commits."""
    from sqlalchemy import func, select

    from backend.delivery.models import Delivery

    count = session.execute(
        select(func.count())
        .select_from(Delivery)
        .where(column.in_(list(ids)), Delivery.status == "delivered")
    ).scalar_one()
    session.rollback()
    return int(count)
