"""Statistical disclosure control for contact counts: every count rounded down to a base.

Each cell of each breakdown, and the total, is published as its count rounded down to a
multiple of ``base`` (5 by default): 0-4 is shown suppressed (``count`` null), 5-9 as 5,
10-14 as 10. Zero and a small count look alike, and every key of a breakdown is listed,
whether anyone was counted in it or not.

Why this is enough within one answer (the README has the argument at length): take any
answer and a cell whose true count is 1 to ``base`` - 2. Moving one contact of that cell to
another key of the same breakdown (or one contact into it) changes no published number, so
an answer with that cell one higher or lower looks exactly the same: no subtraction of any
cells and totals, across any breakdowns, can tell the count. The exact values anyone can ever
derive are band edges: 0, ``base`` - 1, and the ends of the bands above.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def published(count: int, base: int) -> int | None:
    """The count as published: rounded down to a multiple of ``base``; None below ``base``."""
    if count < base:
        return None
    return count - count % base


def cells(counts: Mapping[str, int], keys: Iterable[str], base: int) -> list[dict[str, Any]]:
    """One cell per key, in order, counted or not: ``{key, count, suppressed}``."""
    out = []
    for key in keys:
        shown = published(counts.get(key, 0), base)
        out.append({"key": key, "count": shown, "suppressed": shown is None})
    return out
