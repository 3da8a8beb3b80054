"""Differencing across answers: how many small contact counts an exact attacker pins when it
combines every answer a supervisor may ask for, with the periods this service answers for,
against a baseline measured in the same run: every run of whole weeks (what snapping free
date ranges to weeks alone would allow).

Not a speed benchmark: it measures the attack. Synthetic contacts of the first quarter of 2026
(13 ISO weeks) over one breakdown of 4 keys, Poisson counts with skewed rates (``realistic``),
or counts drawn from band edges (``edges``: 0-4, 9, 14, where derivations happen). Every
published count is rounded down to base 5 (``backend.contacts.rounding``). For each (week, key)
cell holding 1 to 3 contacts, scipy's integer programming finds the least and the most it can
be over every data set that gives the same answers; a cell is pinned when they are equal.

    .venv/bin/python -m benchmarks.bench_disclosure [--sets 6]

Zones: one ISO month, 3 zones and contacts outside every zone, the unfiltered answer and the
answer filtered to each zone (periods cannot help there: the filtered answers nest in the
unfiltered one).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from datetime import date

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from backend.contacts.periods import period_for
from backend.contacts.rounding import published

BASE = 5
KEYS = 4


def band(count: int) -> tuple[int, int]:
    shown = published(count, BASE)
    return (0, BASE - 1) if shown is None else (shown, shown + BASE - 1)


class Attack:
    """Published sums of cells of a count table; exact bounds of single cells."""

    def __init__(self, table: np.ndarray) -> None:
        self.table = table
        self.rows: list[np.ndarray] = []
        self.low: list[int] = []
        self.high: list[int] = []

    def publish(self, mask: np.ndarray) -> None:
        lo, hi = band(int(self.table[mask].sum()))
        self.rows.append(mask.astype(float).ravel())
        self.low.append(lo)
        self.high.append(hi)

    def pinned_small(self) -> tuple[int, int]:
        """(small cells, of those pinned)."""
        n = self.table.size
        constraints = LinearConstraint(np.array(self.rows), self.low, self.high)
        small = pinned = 0
        for i, value in enumerate(self.table.ravel()):
            if not 1 <= value <= BASE - 2:
                continue
            small += 1
            extremes = []
            for sign in (1, -1):
                objective = np.zeros(n)
                objective[i] = sign
                result = milp(
                    objective,
                    constraints=constraints,
                    integrality=np.ones(n),
                    bounds=Bounds(0, np.inf),
                )
                extremes.append(round(sign * result.fun))
            pinned += extremes[0] == extremes[1]
        return small, pinned


def answer(attack: Attack, weeks: Sequence[int], zone_mask: np.ndarray | None = None) -> None:
    """One answer over ``weeks``: its total, its cells by key and by week (optionally within
    one zone: ``zone_mask`` over the last axis)."""
    shape = attack.table.shape

    def mask(week_sel: Sequence[int], key: int | None) -> np.ndarray:
        m = np.zeros(shape, dtype=bool)
        for w in week_sel:
            if key is None:
                m[w] = True
            else:
                m[w, key] = True
        if zone_mask is not None:
            m &= zone_mask
        return m

    attack.publish(mask(weeks, None))
    for key in range(shape[1]):
        attack.publish(mask(weeks, key))
    for w in weeks:
        attack.publish(mask([w], None))


def realistic(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    weekly = rng.uniform(4, 25)
    rates = weekly * rng.dirichlet(np.full(shape[1], 0.7))
    if len(shape) == 3:
        rates = rates[:, None] * rng.dirichlet(np.full(shape[2], 0.8))[None, :]
    return rng.poisson(np.broadcast_to(rates, shape))


def edges(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.choice([0, 1, 2, 3, 4, 4, 4, 9, 9, 14], size=shape)


QUARTER = period_for(date(2026, 1, 1), date(2026, 3, 31))
MONTHS = [
    [QUARTER.weeks.index(w) for w in period_for(date(2026, m, 1), date(2026, m, 28)).weeks]
    for m in (1, 2, 3)
]


def served_periods(attack: Attack) -> None:
    for w in range(len(QUARTER.weeks)):
        answer(attack, [w])
    for month in MONTHS:
        answer(attack, month)
    answer(attack, list(range(len(QUARTER.weeks))))


def every_run_of_weeks(attack: Attack) -> None:
    n = len(QUARTER.weeks)
    for first in range(n):
        for last in range(first, n):
            answer(attack, list(range(first, last + 1)))


def zones(attack: Attack) -> None:
    """The unfiltered answer (with its cells by zone) and each zone's filtered answer."""
    weeks = list(range(attack.table.shape[0]))
    answer(attack, weeks)
    for zone in range(attack.table.shape[2]):
        zone_mask = np.zeros(attack.table.shape, dtype=bool)
        zone_mask[:, :, zone] = True
        attack.publish(zone_mask)  # by_zone of the unfiltered answer
        if zone < attack.table.shape[2] - 1:  # the last is "outside every zone": no filter
            answer(attack, weeks, zone_mask)


def run(
    answers: Callable[[Attack], None],
    data: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray],
    shape: tuple[int, ...],
    sets: int,
    seed: int,
) -> tuple[int, int, float]:
    rng = np.random.default_rng(seed)
    small = pinned = 0
    started = time.perf_counter()
    for _ in range(sets):
        attack = Attack(data(rng, shape))
        answers(attack)
        s, p = attack.pinned_small()
        small, pinned = small + s, pinned + p
    return small, pinned, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=int, default=6, help="data sets per line")
    args = parser.parse_args()
    weeks = (len(QUARTER.weeks), KEYS)
    print(
        f"{QUARTER.label}: {len(QUARTER.weeks)} weeks x {KEYS} keys, base {BASE}, {args.sets} sets"
    )
    for name, data in (("realistic", realistic), ("edges", edges)):
        base_small, base_pinned, base_s = run(every_run_of_weeks, data, weeks, args.sets, 1)
        small, pinned, s = run(served_periods, data, weeks, args.sets, 1)
        share = pinned / max(small, 1)
        base_share = base_pinned / max(base_small, 1)
        print(
            f"  {name:9}  periods: {pinned}/{small} small cells pinned ({share:.1%})  "
            f"every run of weeks (baseline): {base_pinned}/{base_small} ({base_share:.1%})  "
            f"ratio {share / base_share if base_share else 0:.2f}  [{s + base_s:.0f} s]"
        )
    month = (len(MONTHS[0]), KEYS, 4)
    for name, data in (("realistic", realistic), ("edges", edges)):
        small, pinned, s = run(zones, data, month, args.sets, 2)
        print(
            f"  zones {name:9}  {pinned}/{small} small (zone, week, key) cells pinned "
            f"({pinned / max(small, 1):.1%})  [{s:.0f} s]"
        )
    print(f"  zones, the contrived layout of contrived(): {contrived()}")


def contrived() -> str:
    """The known limit across zone filters, found by an exhaustive search of small universes:
    two kinds of contact, two zones with 4 of each and 2 of each outside every zone. The
    unfiltered answer shows 20 in all, 10 of each kind, both zones at 5 and nobody outside
    (under 5); the filtered answers every cell under 5. Each kind then has at least
    10 - 4 - 4 = 2 outside, where there are at most 4: exactly 2 each."""
    table = np.array([[[4, 4, 2], [4, 4, 2]]])  # week x kind x (zone, zone, outside)
    attack = Attack(table)
    zones(attack)
    small, pinned = attack.pinned_small()
    return f"{pinned}/{small} small cells pinned"


if __name__ == "__main__":
    main()
