"""Where the gunicorn workers' time goes during bench_push's end-to-end push (a profile, not a
benchmark: it prints shares of the workers' wall time, no ratio).

The push is served exactly as ``bench_push.py`` serves it (gunicorn, 2 sync workers, 4 client
threads, batches of 50 mixed items, a Redis as deployed) while ``py-spy`` samples both workers,
idle time included. The samples are split into: waiting for SQLite's write lock (``BEGIN
IMMEDIATE``), the write transaction's work step by step, the work before it (token, body,
validation, configuration), the rest of the request (HTTP, response) and waiting for the next
request. On SQLite the write transaction's share bounds the throughput: no two pushes run it at
once, so pushes/s cannot exceed 1 / (its time per push).

    .venv/bin/python -m benchmarks.profile_push [--backend sqlite|postgresql] [--batches 240]

Needs ``py-spy`` (``pip install -e '.[profile]'``) and the right to trace a child process (root,
or ``kernel.yama.ptrace_scope`` 0). Takes about half a minute per backend.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import bench_push as bp
from tests.helpers.servers import PostgresServer, RedisServer

RATE_HZ = 100
"""Samples per second and process: more slows the workers (py-spy reads their memory)."""

TRANSACTION = "_store_and_route (backend/sync/services.py"
"""The push's write transaction: on SQLite it holds the write lock from BEGIN to COMMIT."""


def _phase(frames: list[str]) -> str:
    """The phase one sample of a worker belongs to."""
    stack = ";".join(frames)
    if "handle_request" not in stack:
        if "SyncWorker.handle " in stack or "SyncWorker.handle(" in stack:
            return "reading a request's head, closing the connection"
        return "waiting for a connection"
    if "_sqlite_begin" in stack:
        return "waiting for SQLite's write lock"
    if "lock_cells (backend/cases/assignment.py" in stack:
        return "waiting for the cells' advisory locks (PostgreSQL; placement)"
    for depth, frame in enumerate(frames):
        if frame.startswith(TRANSACTION):
            step = frames[depth + 1] if depth + 1 < len(frames) else "(its own code)"
            return "write transaction: " + step.split(" (")[0]
    if "_prepare (backend/sync/services.py" in stack:
        return "before it: configuration, validation, missing photos"
    if "authenticate (backend/auth.py" in stack:
        return "before it: token lookup"
    if "webargs/" in stack:
        return "before it: body parsing and schema"
    return "rest of the request: HTTP, routing, response"


def shares(raw: str) -> tuple[int, dict[str, int]]:
    """Samples per phase from py-spy's raw (collapsed) output. A worker's stacks begin with
    the master's process and its own (``process PID:"command";process PID:"command";...``);
    the master's own stacks (one process frame) are left out."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if len(frames) < 3 or not frames[1].startswith("process "):
            continue
        counts[_phase(frames[2:])] += int(count)
    return sum(counts.values()), dict(counts)


def profile(backend: str, n_batches: int, spy: str) -> None:
    server = None
    with tempfile.TemporaryDirectory() as name:
        if backend == "postgresql":
            server = PostgresServer()
            server.start()
        try:
            url = next(bp._databases(backend, Path(name), server))
            token = bp._prepare(url)
            with bp.warmed(url, token, bp.ROOT) as port:
                rate, raw, pushing = _sampled_push(port, token, n_batches, spy, Path(name))
        finally:
            if server is not None:
                server.cleanup()
    sampled, counts = shares(raw)
    # py-spy's samples carry no time: those outside the push (py-spy attaching, stopping) are
    # taken as waiting, in proportion to the time outside.
    total = round(sampled * pushing)
    idle = "waiting for a connection"
    counts[idle] = max(0, counts.get(idle, 0) - (sampled - total))
    print(
        f"{backend}: {rate:.0f} items/s while sampled; {total} of {sampled} samples of the "
        f"{bp.WORKERS} workers fall in the push's {pushing:.0%} of the sampled time"
    )
    for phase, count in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"  {count / total:6.1%}  {phase}")
    locked = sum(
        c for p, c in counts.items() if p.startswith(("write transaction", "waiting for the cells"))
    )
    print(f"  {locked / total:6.1%}  write transaction in all", flush=True)


def _sampled_push(
    port: int, token: str, n_batches: int, spy: str, tmp: Path
) -> tuple[float, str, float]:
    """Push ``n_batches`` with bench_push's 4 client threads while py-spy samples the
    workers: items/s, the samples, the share of the sampled time the clients pushed."""
    master = subprocess.run(
        ["pgrep", "-o", "-f", f"gunicorn .*127.0.0.1:{port}"], capture_output=True, text=True
    ).stdout.split()[0]
    out = tmp / "spy.txt"
    command = [
        spy,
        "record",
        "--idle",
        "--subprocesses",
        "--nonblocking",
        "-r",
        str(RATE_HZ),
        "-f",
        "raw",
    ]
    sampled_from = time.perf_counter()
    sampler = subprocess.Popen(
        [*command, "-o", str(out), "--pid", master],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)  # py-spy attaches to the master and both workers
    rate = bp.push_all(port, token, bp._fresh(n_batches))
    elapsed = n_batches * bp.BATCH / rate  # the pushing, without the bodies' encoding
    sampler.send_signal(2)  # SIGINT: py-spy writes what it has and exits
    sampler.wait(60)
    return rate, out.read_text(), elapsed / (time.perf_counter() - sampled_from)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", action="append", choices=("sqlite", "postgresql"))
    parser.add_argument("--batches", type=int, default=240)
    args = parser.parse_args()
    spy = shutil.which("py-spy", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    if spy is None:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install -e '.[profile]'")
    redis_server = RedisServer()
    redis_server.start()
    os.environ["REDIS_URL"] = redis_server.url(0)
    try:
        for backend in args.backend or ["sqlite", "postgresql"]:
            profile(backend, args.batches, spy)
    finally:
        redis_server.cleanup()


if __name__ == "__main__":
    main()
