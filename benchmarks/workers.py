"""What the delivery and routing benchmarks share: `flask --app wsgi worker` processes, a count
of delivered outbox rows, and the percentile they report. Not a benchmark itself (`make bench`
runs `bench_*.py` only)."""

from __future__ import annotations

import os
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


def _process_group(name: str, cmdline: str) -> str | None:
    """Which part of the system a process is (None: not ours): the servers by their process
    name, ours by their command line (the benchmark's own, ``--backend postgresql``, is
    neither)."""
    if name == "postgres":
        return "postgres"
    if name == "redis-server":
        return "redis"
    if " relay" in cmdline:
        return "relay"
    if "delivery-worker" in cmdline:
        return "delivery workers"
    if "wsgi worker" in cmdline:
        return "forking workers"
    return None


class CpuMeter:
    """CPU seconds the machine and each part of the system (PostgreSQL, Redis, relays, delivery
    workers) spent between :meth:`start` and :meth:`stop`, read from Linux's ``/proc``; shows
    whether a run was bound by the machine's CPUs or by waiting. Processes that end in between
    are missed (none do while a backlog drains)."""

    def __init__(self) -> None:
        self._started: tuple[float, float, dict[str, float]] = (0.0, 0.0, {})
        self.busy_cpus = 0.0
        self.by_group: dict[str, float] = {}

    @staticmethod
    def _machine() -> tuple[float, float]:
        """Busy and wall seconds summed over every CPU since boot."""
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
        hz = os.sysconf("SC_CLK_TCK")
        idle = ticks[3] + ticks[4]  # idle, iowait
        return (sum(ticks) - idle) / hz, sum(ticks) / hz

    @staticmethod
    def _groups() -> dict[str, float]:
        hz = os.sysconf("SC_CLK_TCK")
        seconds: dict[str, float] = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    stat = f.read()
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue  # ended meanwhile
            group = _process_group(stat[stat.index("(") + 1 : stat.rindex(")")], cmdline)
            if group is None:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            seconds[group] = seconds.get(group, 0.0) + (int(fields[11]) + int(fields[12])) / hz
        return seconds

    def start(self) -> None:
        busy, total = self._machine()
        self._started = (busy, total, self._groups())

    def stop(self) -> None:
        busy0, total0, groups0 = self._started
        busy, total = self._machine()
        cpus = os.cpu_count() or 1
        wall = (total - total0) / cpus
        self.busy_cpus = (busy - busy0) / wall if wall else 0.0
        self.by_group = {
            name: (spent - groups0.get(name, 0.0)) / wall if wall else 0.0
            for name, spent in self._groups().items()
        }

    def summary(self) -> str:
        parts = ", ".join(f"{name} {cpus:.2f}" for name, cpus in sorted(self.by_group.items()))
        return f"{self.busy_cpus:.2f} of {os.cpu_count()} CPUs busy ({parts})"
