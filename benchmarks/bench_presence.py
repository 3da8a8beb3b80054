"""Daily presence log for 200 workers pinging every minute through a 12-hour day.

144,000 events (plus a shift start and end per worker) in shuffled order, as they come from the
database after late pushes. Prints the time and peak traced memory of ``daily_log`` beside a
baseline measured in the same run, on the same events: sorting them by (time, event order, item
id), the least any correct log computation must do. Times are the best of ``ROUNDS`` runs.

    .venv/bin/python -m benchmarks.bench_presence
"""

from __future__ import annotations

import gc
import random
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from backend.localtime import LOCAL_TZ
from backend.presence.export import daily_log_json
from backend.presence.log import daily_log
from backend.presence.values import EVENT_ORDER, PresenceEvent

WORKERS = 200
HOURS = 12
ROUNDS = 3
DAY = date(2026, 5, 12)
ZONES = ["sergels-torg", "drottninggatan", "hotorget", "kungstradgarden", "brunkebergstorg", None]


def make_events() -> list[PresenceEvent]:
    rnd = random.Random(2026)
    start = datetime(DAY.year, DAY.month, DAY.day, 7, tzinfo=LOCAL_TZ)
    events: list[PresenceEvent] = []
    for w in range(WORKERS):
        worker = f"worker-{w:03d}"
        zone = rnd.choice(ZONES)
        events.append(PresenceEvent(worker, f"{worker}-start", "shift_start", start, zone))
        for minute in range(HOURS * 60):
            if rnd.random() < 0.05:  # moves to another zone now and then
                zone = rnd.choice(ZONES)
            at = start + timedelta(minutes=minute, seconds=rnd.randrange(60))
            events.append(PresenceEvent(worker, f"{worker}-{minute}", "ping", at, zone))
        end = start + timedelta(hours=HOURS, minutes=1)
        events.append(PresenceEvent(worker, f"{worker}-end", "shift_end", end, None))
    rnd.shuffle(events)
    return events


def measure(fn: Callable[[], Any]) -> tuple[float, int]:
    best_time = float("inf")
    for _ in range(ROUNDS):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best_time = min(best_time, time.perf_counter() - t0)
    # Once: tracemalloc slows the code it traces about tenfold, and the peak hardly varies.
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best_time, peak


def main() -> None:
    events = make_events()
    pings = sum(1 for e in events if e.event == "ping")
    print(f"{WORKERS} workers, {pings} pings, {len(events)} events, {HOURS} h day")

    def baseline() -> object:
        return sorted(events, key=lambda e: (e.at, EVENT_ORDER[e.event], e.item_id))

    def log() -> object:
        return daily_log(events, [], DAY)

    def log_json() -> object:
        return daily_log_json(daily_log(events, [], DAY))

    result = daily_log(events, [], DAY)
    intervals = sum(len(w.intervals) for w in result.workers)
    print(f"log: {len(result.workers)} workers, {intervals} intervals")
    base_t, base_m = measure(baseline)
    rows = [("sort events (baseline)", base_t, base_m)]
    rows.append(("daily_log", *measure(log)))
    rows.append(("daily_log + JSON", *measure(log_json)))
    for name, seconds, peak in rows:
        print(
            f"{name:24} {seconds * 1000:8.1f} ms  x{seconds / base_t:5.2f}   "
            f"peak {peak / 2**20:7.1f} MiB  x{peak / base_m:5.2f}"
        )


if __name__ == "__main__":
    main()
