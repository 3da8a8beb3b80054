"""How much `decide` costs per pushed report, against the bare geodesic distances it must compute.

Candidate lists are open cases in the 3 x 3 cells around a report near Sergels Torg: a quiet
hour has one or two, a busy event a few dozen, 100 is far beyond what the square produces.
Prints microseconds per call and the ratio to the baseline measured in the same run.

    .venv/bin/python -m benchmarks.bench_dedup
"""

from __future__ import annotations

import random
import timeit
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pyproj import Geod

from sync.cells import lock_keys, query_cells
from sync.dedup import CaseCandidate, DedupSettings, NewReport, decide

GEOD = Geod(ellps="WGS84")
SERGELS_TORG = (59.3325, 18.0642)
T0 = datetime(2025, 6, 12, 14, 0, tzinfo=UTC)
BIN = DedupSettings(radius_m=15, window_min=240, group="bin")


def candidates(n: int, rng: random.Random) -> list[CaseCandidate]:
    out = []
    for _ in range(n):
        lon, lat, _ = GEOD.fwd(
            SERGELS_TORG[1], SERGELS_TORG[0], rng.uniform(-180, 180), rng.uniform(0, 150)
        )
        first = T0 - timedelta(minutes=rng.uniform(0, 600))
        out.append(
            CaseCandidate(
                case_id=uuid.UUID(int=rng.getrandbits(128)),
                group=rng.choice(["bin", "bin", "glass"]),
                lat=lat,
                lon=lon,
                accuracy_m=rng.uniform(3, 30),
                first_at=first,
                last_at=first + timedelta(minutes=rng.uniform(0, 120)),
                phashes=tuple(rng.getrandbits(64) for _ in range(rng.randint(0, 2))),
            )
        )
    return out


def per_call_us(fn: Callable[[], object]) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=5, number=number)) / number * 1e6


def main() -> None:
    rng = random.Random(20250612)
    new = NewReport(
        settings=BIN,
        lat=SERGELS_TORG[0],
        lon=SERGELS_TORG[1],
        accuracy_m=12.0,
        captured_at=T0,
        phashes=(rng.getrandbits(64),),
    )
    print(f"{'candidates':>10} {'decide µs':>10} {'distances µs':>13} {'ratio':>6}")
    for n in (1, 5, 20, 100):
        cases = candidates(n, rng)
        points = [(c.lon, c.lat) for c in cases]

        def bare(points: list[tuple[float, float]] = points) -> None:
            for lon, lat in points:
                GEOD.inv(new.lon, new.lat, lon, lat)

        def decided_call(cases: list[CaseCandidate] = cases) -> None:
            decide(new, cases)

        decided = per_call_us(decided_call)
        baseline = per_call_us(bare)
        print(f"{n:>10} {decided:>10.1f} {baseline:>13.1f} {decided / baseline:>6.1f}")
    cell_us = per_call_us(lambda: query_cells(*SERGELS_TORG))
    lock_us = per_call_us(lambda: lock_keys(*SERGELS_TORG, "bin"))
    print(f"query_cells {cell_us:.1f} µs, lock_keys {lock_us:.1f} µs per report")


if __name__ == "__main__":
    main()
