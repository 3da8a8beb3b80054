"""An attacker on contact aggregates: what can be derived about each hidden count from one
answer, by every subtraction of totals and cells within and across its breakdowns.

Two attackers, on the same constraints:

- ``subtract``: interval arithmetic to a fixed point. Each partitioning breakdown (type, age
  group, zone, hour, week) adds up to the total, so each cell lies between the total minus the
  most and the total minus the least the other cells can hold, and the total between the sums
  of a breakdown's least and most; needs (a contact counts once per need, or under 'none')
  bound the total from below. Every subtraction of a set of cells from a total, carried across
  breakdowns through the total, is one of these steps.
- ``solve``: the exact answer by integer programming (scipy's HiGHS): the least and the most
  each cell can be over every set of contacts that gives the same published numbers. Any set
  of marginal counts satisfying these constraints is the marginals of some set of contacts, so
  nothing tighter can be derived from the answer.

A cell is *pinned* when its least and most are equal: its exact count is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

PARTITIONS = ("by_type", "by_age_group", "by_zone", "by_hour", "by_week")
NEEDS = "by_need"
NO_NEED = "none"
TOTAL = ("total", "")

Cell = tuple[str, str]  # (breakdown, key); TOTAL for the total


@dataclass(frozen=True)
class Knowledge:
    """What one answer says: for each cell the least and most its count can be."""

    bands: dict[Cell, tuple[int, int]]
    partitions: dict[str, list[Cell]]
    needs: list[Cell]


def band(count: int | None, base: int) -> tuple[int, int]:
    """The counts a published value stands for (rounded down to ``base``; None below it)."""
    if count is None:
        return (0, base - 1)
    return (count, count + base - 1)


def knowledge(answer: Mapping, base: int | None = None) -> Knowledge:
    """The bands of an answer of ``GET /api/v1/contacts/aggregates``."""
    base = base or answer["rounding_base"]
    bands: dict[Cell, tuple[int, int]] = {TOTAL: band(answer["total"], base)}
    partitions: dict[str, list[Cell]] = {}
    needs: list[Cell] = []
    for name in (*PARTITIONS, NEEDS):
        if not answer.get(name):
            continue  # a breakdown the answer does not give constrains nothing
        cells = []
        for cell in answer[name]:
            bands[(name, cell["key"])] = band(cell["count"], base)
            cells.append((name, cell["key"]))
        if name == NEEDS:
            needs = cells
        else:
            partitions[name] = cells
    return Knowledge(bands, partitions, needs)


def subtract(known: Knowledge) -> dict[Cell, tuple[int, int]]:
    """Every subtraction, to a fixed point: the bounds on each cell an attacker derives."""
    lo = {c: b[0] for c, b in known.bands.items()}
    hi = {c: b[1] for c, b in known.bands.items()}
    none = (NEEDS, NO_NEED)
    real = [c for c in known.needs if c != none]
    changed = True
    while changed:
        changed = False

        def tighten(cell: Cell, low: int, high: int) -> None:
            nonlocal changed
            if low > lo[cell]:
                lo[cell], changed = low, True
            if high < hi[cell]:
                hi[cell], changed = high, True
            assert lo[cell] <= hi[cell], f"no set of contacts gives this answer ({cell})"

        for cells in known.partitions.values():
            sum_lo, sum_hi = sum(lo[c] for c in cells), sum(hi[c] for c in cells)
            tighten(TOTAL, sum_lo, sum_hi)
            for c in cells:
                # The total minus every other cell of the breakdown.
                tighten(c, lo[TOTAL] - (sum_hi - hi[c]), hi[TOTAL] - (sum_lo - lo[c]))
        if real:
            # Every contact is under 'none' or under at least one need; 'none' excludes needs.
            sum_hi = sum(hi[c] for c in known.needs)
            tighten(TOTAL, max(lo[none] + lo[c] for c in real), sum_hi)
            for c in known.needs:
                tighten(c, lo[TOTAL] - (sum_hi - hi[c]), hi[TOTAL])
            for c in real:
                tighten(c, lo[c], hi[TOTAL] - lo[none])
            tighten(none, lo[none], hi[TOTAL] - max(lo[c] for c in real))
    return {c: (lo[c], hi[c]) for c in known.bands}


def solve(known: Knowledge) -> dict[Cell, tuple[int, int]]:
    """The exact least and most of every cell, by integer programming."""
    cells = list(known.bands)
    index = {c: i for i, c in enumerate(cells)}
    n = len(cells)
    rows, low, high = [], [], []

    def row(coefficients: Mapping[Cell, int], at_least: float, at_most: float) -> None:
        r = np.zeros(n)
        for c, k in coefficients.items():
            r[index[c]] += k
        rows.append(r)
        low.append(at_least)
        high.append(at_most)

    for part in known.partitions.values():
        row({**dict.fromkeys(part, 1), TOTAL: -1}, 0, 0)
    if known.needs:
        none = (NEEDS, NO_NEED)
        assert none in known.bands, "needs come with their 'none' cell"
        row({**dict.fromkeys(known.needs, 1), TOTAL: -1}, 0, np.inf)
        for c in known.needs:
            if c != none:
                row({c: 1, none: 1, TOTAL: -1}, -np.inf, 0)
    constraints = LinearConstraint(np.array(rows), low, high)
    bounds = Bounds([known.bands[c][0] for c in cells], [known.bands[c][1] for c in cells])
    out = {}
    for c in cells:
        extremes = []
        for sign in (1, -1):
            objective = np.zeros(n)
            objective[index[c]] = sign
            result = milp(objective, constraints=constraints, integrality=np.ones(n), bounds=bounds)
            assert result.success, result.message
            extremes.append(round(sign * result.fun))
        out[c] = (extremes[0], extremes[1])
    return out


def pinned(bounds: Mapping[Cell, tuple[int, int]]) -> dict[Cell, int]:
    """The cells whose exact count the bounds give away."""
    return {c: lo for c, (lo, hi) in bounds.items() if lo == hi}


def small_pins(bounds: Mapping[Cell, tuple[int, int]], base: int) -> dict[Cell, int]:
    """Pinned cells with a small count: 1 to ``base`` - 2, what rounding must never give away."""
    return {c: v for c, v in pinned(bounds).items() if 1 <= v <= base - 2}
