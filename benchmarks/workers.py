"""What the delivery and routing benchmarks share: `flask --app wsgi worker` processes, a count
of delivered outbox rows, and the percentile they report. Not a benchmark itself (`make bench`
runs `bench_*.py` only)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).with_name("flask"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Workers:
    """Worker processes (relay beside an RQ worker each) started and stopped as a group."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, n: int) -> None:
        for _ in range(n):
            self.processes.append(
                subprocess.Popen(
                    [FLASK, "--app", "wsgi", "worker"],
                    cwd=ROOT,
                    env=self.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

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
