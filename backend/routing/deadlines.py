"""Deadline policies: when a routed case is due, counted the way the city counts.

Pure: no Flask, no database. Every input and output is a tz-aware datetime; results are UTC.
Policies are named in the rule file as strings (``immediate``, ``working_hours(24)``,
``hours(8)``) and parsed by :func:`parse_policy`, which is also the validation the rule loader
relies on.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import holidays
from holidays.constants import DE_FACTO, PUBLIC

from backend.localtime import LOCAL_TZ

STOCKHOLM = LOCAL_TZ
"""The city's clock: a working day runs 00:00-24:00 local time, summer or winter."""

IMMEDIATE_HOURS = 4
"""What ``immediate`` means. The city's graffiti practice says offensive (racist, sexist,
threatening) graffiti is removed "omgående", at once, without a number; four hours is the
partnership's working figure (about half a day shift of the removal contractor), any day and
any hour. Change it here when the city publishes a number."""

MAX_POLICY_HOURS = 1000
"""Upper bound for N in ``working_hours(N)`` and ``hours(N)``: about 40 working days, longer
than any deadline the city uses, so a slip such as ``working_hours(2400)`` is caught on load."""

_PARAMETRISED = re.compile(r"(working_hours|hours)\((\d+)\)")


class PolicyError(ValueError):
    """A deadline policy name that is not one of the documented forms."""


@dataclass(frozen=True)
class WorkingHours:
    """N hours counted only on working days (Mon-Fri, not a holiday), Europe/Stockholm time.

    Counting starts at the start time if that falls on a working day, else at 00:00 of the next
    working day, and runs on the local clock: Friday 10:00 + 24 h is Monday 10:00 local, whether
    or not the clocks changed over the weekend."""

    hours: int

    @property
    def name(self) -> str:
        return f"working_hours({self.hours})"

    def due(self, start: datetime) -> datetime:
        remaining = timedelta(hours=self.hours)
        # Naive local wall-clock time: the count follows the clock on the office wall. Clocks in
        # Sweden change on Sundays at 02:00/03:00, never on a working day, so a working day is
        # always 24 real hours and the naive arithmetic below never meets a gap or a fold.
        cursor = _require_aware(start).astimezone(STOCKHOLM).replace(tzinfo=None)
        if not is_working_day(cursor.date()):
            cursor = datetime.combine(next_working_day(cursor.date()), time())
        while True:
            day_end = datetime.combine(cursor.date() + timedelta(days=1), time())
            if remaining <= day_end - cursor:
                return _to_utc(cursor + remaining)
            remaining -= day_end - cursor
            cursor = datetime.combine(next_working_day(cursor.date()), time())


@dataclass(frozen=True)
class WallClock:
    """N real hours, any day: the elapsed time, so a DST change does not stretch or shrink it."""

    hours: int
    alias: str | None = None

    @property
    def name(self) -> str:
        return self.alias or f"hours({self.hours})"

    def due(self, start: datetime) -> datetime:
        return _require_aware(start).astimezone(UTC) + timedelta(hours=self.hours)


DeadlinePolicy = WorkingHours | WallClock

IMMEDIATE = WallClock(IMMEDIATE_HOURS, alias="immediate")


def parse_policy(name: str) -> DeadlinePolicy:
    """The policy a rule file names: ``immediate``, ``working_hours(N)`` or ``hours(N)``.

    Raises :class:`PolicyError` with a message fit to show an admin."""
    if not isinstance(name, str):
        raise PolicyError(f"must be a string, not {type(name).__name__}")
    if name == "immediate":
        return IMMEDIATE
    match = _PARAMETRISED.fullmatch(name)
    if match is None:
        raise PolicyError(
            f"unknown deadline policy {name!r}; use 'immediate', 'working_hours(N)' or 'hours(N)'"
        )
    hours = int(match.group(2))
    if not 1 <= hours <= MAX_POLICY_HOURS:
        raise PolicyError(f"{name!r}: N must be between 1 and {MAX_POLICY_HOURS} hours")
    return WorkingHours(hours) if match.group(1) == "working_hours" else WallClock(hours)


def due_at(policy: DeadlinePolicy, start: datetime) -> datetime:
    """When a case routed at ``start`` (tz-aware) is due under ``policy``, in UTC."""
    return policy.due(start)


@functools.lru_cache(maxsize=64)
def _days_off(year: int) -> frozenset[date]:
    # PUBLIC: the public holidays of lag (1989:253) om allmänna helgdagar. DE_FACTO adds
    # midsommarafton, julafton and nyårsafton, which Semesterlagen (1977:480) equates with Sundays
    # and which Swedish employers, the city's departments among them, treat as days off: the city
    # practice is that no crew works them, so a deadline must not run on them. Half days
    # (trettondagsafton, skärtorsdag, valborgsmässoafton, allhelgonaafton) stay working days:
    # crews work the morning, and the library does not mark them either.
    # Sundays are excluded here on purpose (include_sundays=False, stated because older releases
    # defaulted to True): weekends are decided by weekday below, in one place.
    calendar = holidays.Sweden(years=year, include_sundays=False, categories=(PUBLIC, DE_FACTO))
    return frozenset(calendar.keys())


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a Swedish public holiday nor one of the three holiday eves."""
    return day.weekday() < 5 and day not in _days_off(day.year)


def next_working_day(day: date) -> date:
    """The first working day after ``day``."""
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def _require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("deadline start must be a tz-aware datetime")
    return moment


def _to_utc(local: datetime) -> datetime:
    return local.replace(tzinfo=STOCKHOLM).astimezone(UTC)
