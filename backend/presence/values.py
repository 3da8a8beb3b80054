"""The values presence logs are made of: stored events in, daily logs and summaries out.

Plain frozen dataclasses, so the caller can build them from database rows and serialise them
(``backend.presence.export``) without this package knowing either. The rules that turn one into
the other are in ``backend.presence.log``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

# The place's time zone: days, hours and the daylight-saving switches are Stockholm's.
LOCAL_TZ = ZoneInfo("Europe/Stockholm")

# The phone app pings every 5 minutes on shift, so a shift whose end was lost is taken to end three
# ping intervals (15 minutes) after its last sign: one or two lost pings are no evidence of leaving.
SHIFT_GRACE = timedelta(minutes=15)

# Arbetstidslagen (1982:673) § 13 gives every worker 11 consecutive hours of rest in each 24, so
# no working day is longer than 24 - 11 = 13 hours: a shift past that is a forgotten shift end.
MAX_SHIFT = timedelta(hours=13)

EventKind = Literal["shift_start", "shift_end", "zone_enter", "zone_exit", "ping"]
FiledKind = Literal["report", "contact"]

# At one instant: leave the old zone before entering the new one, count every sign before the
# shift ends, and end one shift before the next starts (back-to-back shifts).
EVENT_ORDER: dict[str, int] = {
    "zone_exit": 0,
    "zone_enter": 1,
    "ping": 2,
    "shift_end": 3,
    "shift_start": 4,
}


@dataclass(frozen=True, slots=True)
class PresenceEvent:
    """One stored presence item; ``at`` is the server-corrected time, tz-aware."""

    worker_id: str
    item_id: str
    event: EventKind
    at: datetime
    zone: str | None = None


@dataclass(frozen=True, slots=True)
class FiledItem:
    """A report or social-prevention contact a worker filed (listed and counted in the log)."""

    worker_id: str
    item_id: str
    kind: FiledKind
    at: datetime
    zone: str | None = None


@dataclass(frozen=True, slots=True)
class Interval:
    """The worker was present in ``zone`` (``None``: no known zone) from ``start`` to ``end``."""

    zone: str | None
    start: datetime
    end: datetime
    inferred: bool

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())


@dataclass(frozen=True, slots=True)
class ZoneTime:
    zone: str | None
    seconds: int


@dataclass(frozen=True, slots=True)
class WorkerDay:
    """One worker's presence on one local day."""

    worker_id: str
    intervals: tuple[Interval, ...]
    first_seen: datetime | None  # earliest event of the day, whatever its zone
    last_seen: datetime | None  # latest event of the day, whatever its zone
    filed: tuple[FiledItem, ...]

    @property
    def zone_times(self) -> tuple[ZoneTime, ...]:
        """Time per zone, in order of first presence; zone ``None`` included."""
        totals: dict[str | None, int] = {}
        for interval in self.intervals:
            totals[interval.zone] = totals.get(interval.zone, 0) + interval.seconds
        return tuple(ZoneTime(zone, seconds) for zone, seconds in totals.items())

    @property
    def seconds(self) -> int:
        return sum(interval.seconds for interval in self.intervals)

    def filed_count(self, kind: FiledKind) -> int:
        return sum(1 for item in self.filed if item.kind == kind)


@dataclass(frozen=True, slots=True)
class ZoneCount:
    zone: str | None
    workers: int


@dataclass(frozen=True, slots=True)
class HourCoverage:
    """Distinct workers present during one local hour: any overlap of positive length counts,
    so a worker who leaves at 09:00 sharp counts for 08-09 only, and a worker who moves between
    zones within the hour counts once in each zone and once in ``workers``."""

    start: datetime
    end: datetime
    workers: int
    zones: tuple[ZoneCount, ...]  # zones with at least one worker, sorted (None last)


@dataclass(frozen=True, slots=True)
class DailyLog:
    day: date
    start: datetime  # local midnight, in UTC
    end: datetime  # next local midnight, in UTC: 23 or 25 hours later on switch days
    zone: str | None  # the zone filter, if any
    workers: tuple[WorkerDay, ...]  # sorted by worker id
    coverage: tuple[HourCoverage, ...]  # one per local hour of the day


@dataclass(frozen=True, slots=True)
class DaySummary:
    day: date
    zone_times: tuple[ZoneTime, ...]  # sorted by zone (None last)
    workers: int  # distinct workers with presence that day
    reports: int
    contacts: int


@dataclass(frozen=True, slots=True)
class WorkerSummary:
    """One worker's totals over a summary's range: the sum of their daily logs."""

    worker_id: str
    days: int  # days with presence
    zone_times: tuple[ZoneTime, ...]  # sorted by zone (None last)
    reports: int
    contacts: int

    @property
    def seconds(self) -> int:
        return sum(z.seconds for z in self.zone_times)


@dataclass(frozen=True, slots=True)
class Summary:
    first: date
    last: date
    zone: str | None
    days: tuple[DaySummary, ...]
    zone_times: tuple[ZoneTime, ...]  # over the whole range
    workers: int  # distinct workers over the whole range
    reports: int
    contacts: int
    # Each worker in any day's log (presence or filed items), sorted by worker id.
    by_worker: tuple[WorkerSummary, ...] = ()
