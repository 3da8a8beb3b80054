"""The periods contact aggregates are answered for: an ISO week, month, quarter or year.

Every answer covers whole ISO weeks (Monday to Sunday, Europe/Stockholm), grouped the way
ISO 8601 gives a week its year: by its Thursday. A week belongs to the month and quarter of its
Thursday, and to its ISO year. So periods nest (week in month in quarter in year) and two
periods either nest or do not meet.

Why: two answers over overlapping ranges can be subtracted. With free date ranges, the answers
for 1-7 March and 1-8 March differ by one day's contacts; even whole weeks, asked as every run
of weeks, pin a small count in about one in ten small cells of realistic data (README, "Contact
aggregates"). Nested periods leave only subtractions of a period's parts from the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from backend.errors import Unprocessable

WEEK = "week"
MONTH = "month"
QUARTER = "quarter"
YEAR = "year"


@dataclass(frozen=True)
class Period:
    label: str
    """``2026-W10``, ``2026-03`` (the weeks whose Thursday is in March), ``2026-Q1``, ``2026``."""
    kind: str
    first: date
    """The Monday of its first week."""
    last: date
    """The Sunday of its last week."""
    weeks: tuple[str, ...]
    """Its ISO weeks, ``2026-W10`` ..., in order."""


def thursday(day: date) -> date:
    """The Thursday of ``day``'s ISO week."""
    return day + timedelta(days=3 - day.weekday())


def week_label(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def _quarter(day: date) -> int:
    return (day.month - 1) // 3 + 1


def _thursdays(first: date, last: date) -> list[date]:
    day = thursday(first)
    if day < first:
        day += timedelta(days=7)
    found = []
    while day <= last:
        found.append(day)
        day += timedelta(days=7)
    return found


def _period(kind: str, label: str, thursdays: list[date]) -> Period:
    return Period(
        label=label,
        kind=kind,
        first=thursdays[0] - timedelta(days=3),
        last=thursdays[-1] + timedelta(days=3),
        weeks=tuple(week_label(t) for t in thursdays),
    )


def period_for(first: date, last: date) -> Period:
    """The smallest period holding the weeks of ``first``..``last``: the weeks whose Thursday
    is in the range (a calendar month asks for its ISO month, a calendar year for its ISO
    year), or, for a range without a Thursday, the weeks it touches.

    422 ``range_spans_years`` for a range whose weeks lie in two ISO years.
    """
    weeks = _thursdays(first, last) or sorted({thursday(first), thursday(last)})
    start, end = weeks[0], weeks[-1]
    if start == end:
        return _period(WEEK, week_label(start), [start])
    if (start.year, start.month) == (end.year, end.month):
        month_start = start.replace(day=1)
        month_end = (month_start + timedelta(days=31)).replace(day=1) - timedelta(days=1)
        return _period(MONTH, f"{start:%Y-%m}", _thursdays(month_start, month_end))
    if (start.year, _quarter(start)) == (end.year, _quarter(end)):
        q = _quarter(start)
        q_start = date(start.year, 3 * q - 2, 1)
        q_end = date(start.year + (q == 4), (3 * q) % 12 + 1, 1) - timedelta(days=1)
        return _period(QUARTER, f"{start.year}-Q{q}", _thursdays(q_start, q_end))
    if start.year == end.year:
        year = start.year
        return _period(YEAR, str(year), _thursdays(date(year, 1, 1), date(year, 12, 31)))
    raise Unprocessable(
        f"An answer covers one week, month, quarter or ISO year; this range has weeks of "
        f"{start.year} and {end.year}. Ask for each year's part separately.",
        code="range_spans_years",
        errors={"to": [f"must be in ISO year {start.year}, as from is"]},
    )
