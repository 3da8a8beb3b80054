"""One worker's day in two steps: the events make a ``DayRecord`` (what can be stored), and the
record with ``now`` makes the day's ``WorkerDay`` (what is shown).

Pure, like ``backend.presence.log`` (whose docstring has the rules). The split is where "now"
comes in: a record depends only on the worker's events in the day's event window, so it can be
computed when the events change and kept (``backend.presence.stored``); clipping an open
shift to the present and deciding whether that cut interval is inferred happen at read, in
``worker_day``. Both the event path and the stored path go through ``worker_day``, so they give
the same intervals by construction; the equivalence test checks the storage around it.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from backend.presence.values import EVENT_ORDER, FiledItem, Interval, PresenceEvent, WorkerDay


def utc_second(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: presence times must be tz-aware")
    return at.astimezone(UTC).replace(microsecond=0)


class Timeline:
    """One worker's events, normalised and sorted once, sliced per day."""

    __slots__ = ("events", "times")

    def __init__(self, events: list[PresenceEvent]) -> None:
        keyed = sorted(
            ((utc_second(e.at), EVENT_ORDER[e.event], e.item_id, e) for e in events),
            key=lambda row: row[:3],
        )
        self.times = [row[0] for row in keyed]
        self.events = [(row[0], row[3]) for row in keyed]

    def between(self, lo: datetime, hi: datetime) -> list[tuple[datetime, PresenceEvent]]:
        return self.events[bisect.bisect_left(self.times, lo) : bisect.bisect_right(self.times, hi)]


class Segment(NamedTuple):
    """A stretch of one shift in one zone that overlaps the day, not yet cut at ``now``."""

    zone: str | None
    start: datetime  # cut at the day's start
    end: datetime  # the segment's own end (the read cuts it at the day's end and at now)
    start_inferred: bool  # the first segment of a shift whose start is inferred
    closes_inferred: bool  # the last segment of a shift whose close is inferred
    last_sign: datetime  # the shift's last sign of presence


class DayRecord(NamedTuple):
    worker_id: str
    segments: tuple[Segment, ...]
    first_seen: datetime | None  # earliest event of the day, whatever its zone
    last_seen: datetime | None

    @property
    def empty(self) -> bool:
        return not self.segments and self.first_seen is None


Shift = tuple[list[tuple[str | None, datetime, datetime]], bool, bool, datetime]


def _shift_intervals(
    events: Iterable[tuple[datetime, PresenceEvent]], grace: timedelta, max_shift: timedelta
) -> list[Shift]:
    """Unclipped shifts: (segments, start inferred, end inferred, last sign) for each."""
    shifts: list[Shift] = []
    open_ = False
    start = seg_start = last_sign = datetime.min.replace(tzinfo=UTC)
    start_inferred = False
    zone: str | None = None
    segments: list[tuple[str | None, datetime, datetime]] = []

    def close(at: datetime, inferred: bool) -> None:
        segments.append((zone, seg_start, at))
        shifts.append(([s for s in segments if s[2] > s[1]], start_inferred, inferred, last_sign))

    for at, event in events:
        kind = event.event
        if open_ and (at > start + max_shift or (kind == "shift_start" and at > last_sign + grace)):
            close(min(last_sign + grace, start + max_shift), inferred=True)
            open_ = False
        if not open_:
            if kind == "shift_end":
                continue
            open_ = True
            start = seg_start = last_sign = at
            start_inferred = kind != "shift_start"
            zone = None if kind == "zone_exit" else event.zone
            segments = []
            continue
        last_sign = at
        new_zone = zone
        if kind == "shift_end":
            close(at, inferred=False)
            open_ = False
            continue
        if kind == "ping" or (kind in ("zone_enter", "shift_start") and event.zone is not None):
            new_zone = event.zone
        elif kind == "zone_exit" and event.zone in (None, zone):
            new_zone = None
        if kind == "shift_start" and at == start:
            start_inferred = False
        if new_zone != zone:
            segments.append((zone, seg_start, at))
            zone, seg_start = new_zone, at
    if open_:
        close(min(last_sign + grace, start + max_shift), inferred=True)
    return shifts


def record(
    worker_id: str,
    timeline: Timeline,
    bounds: tuple[datetime, datetime],
    grace: timedelta,
    max_shift: timedelta,
) -> DayRecord:
    """The worker's day as far as their events decide it (``now`` plays no part)."""
    day_start, day_end = bounds
    kept: list[Segment] = []
    window = timeline.between(day_start - max_shift, day_end + max_shift)
    for segments, start_inferred, end_inferred, last_sign in _shift_intervals(
        window, grace, max_shift
    ):
        last = len(segments) - 1
        for index, (zone, seg_start, seg_end) in enumerate(segments):
            # Only what can show on the day: the read cuts at min(day end, now) <= day end.
            if seg_end <= day_start or seg_start >= day_end:
                continue
            kept.append(
                Segment(
                    zone,
                    max(seg_start, day_start),
                    seg_end,
                    index == 0 and start_inferred,
                    index == last and end_inferred,
                    last_sign,
                )
            )
    seen = [at for at, _ in timeline.between(day_start, day_end) if at < day_end]
    return DayRecord(worker_id, tuple(kept), seen[0] if seen else None, seen[-1] if seen else None)


def worker_day(
    day_record: DayRecord,
    filed: Sequence[FiledItem],
    bounds: tuple[datetime, datetime],
    until: datetime,
) -> WorkerDay:
    """The day's log of one worker as of ``until`` (the earlier of the day's end and now)."""
    day_start, day_end = bounds
    intervals: list[Interval] = []
    for segment in day_record.segments:
        hi = min(segment.end, until)
        if hi <= segment.start:
            continue
        # When midnight or now cuts the last segment of a closed-by-inference shift, the cut
        # interval is inferred only if it runs past the last sign (log's docstring).
        inferred = segment.start_inferred or (
            segment.closes_inferred and (hi == segment.end or hi > segment.last_sign)
        )
        intervals.append(Interval(segment.zone, segment.start, hi, inferred))
    day_filed = sorted(
        (
            replace(item, at=at)
            for item in filed
            if day_start <= (at := utc_second(item.at)) < day_end
        ),
        key=lambda item: (item.at, item.item_id),
    )
    return WorkerDay(
        worker_id=day_record.worker_id,
        intervals=tuple(intervals),
        first_seen=day_record.first_seen,
        last_seen=day_record.last_seen,
        filed=tuple(day_filed),
    )


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def encode(day_record: DayRecord) -> str:
    """The segments as compact JSON: ``[zone, start, end, flags, last sign]`` with whole epoch
    seconds (every time here is already whole seconds) and flags bit 1 start inferred, bit 2
    close inferred."""
    rows = []
    for s in day_record.segments:
        flags = s.start_inferred | 2 * s.closes_inferred
        rows.append([s.zone, _epoch(s.start), _epoch(s.end), flags, _epoch(s.last_sign)])
    return json.dumps(rows, separators=(",", ":"))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def decode(
    worker_id: str,
    text: str,
    first_seen: datetime | None,
    last_seen: datetime | None,
    times: dict[int, datetime],
) -> DayRecord:
    """``encode``'s inverse; ``times`` caches one datetime per epoch second across records."""
    get = times.get

    def at(seconds: int) -> datetime:
        value = times[seconds] = _EPOCH + timedelta(seconds=seconds)
        return value

    segments = [
        Segment(
            zone, get(start) or at(start), get(end) or at(end), bool(flags & 1),
            bool(flags & 2), get(last) or at(last),
        )
        for zone, start, end, flags, last in json.loads(text)
    ]  # fmt: skip
    return DayRecord(worker_id, tuple(segments), first_seen, last_seen)
