"""Daily presence logs, hourly coverage and range summaries, computed from stored events.

Pure: no Flask, no database, no clock. The caller loads the presence events and filed items
(reports, contacts) of the workers it may show and passes ``now``; everything here is a function
of those values, so a late or out-of-order event changes the log it belongs to the next time the
log is computed, and nothing is kept as a counter that could drift.

How a worker's events become intervals (per worker, events sorted by time, ties broken by
``EVENT_ORDER`` and then item id, so any arrival order gives the same log):

- A shift opens at ``shift_start`` and closes at ``shift_end``. Every event in between is a
  *sign of presence*. ``ping`` and ``zone_enter`` move the worker to their zone; ``zone_exit``
  moves them out of that zone (to no zone) unless they are already elsewhere; a repeated
  ``shift_start`` during a shift continues it.
- Zone ``None`` means present but in no known zone: an event outside every zone polygon that
  named no zone (the push fills a missing zone from the polygons). It is shown as its own
  interval with zone ``null``.
- A shift with no ``shift_end`` within ``max_shift`` of its start has lost its end: it closes
  at ``min(last sign + grace, start + max_shift)``, and that close is *inferred*. A
  ``shift_start`` more than ``grace`` after the last sign of an open shift means the same
  (yesterday's end was forgotten): the open shift closes there, inferred, and a new one opens.
  Inside a shift that has its end, silence between signs counts as presence: a phone in a
  pocket under Plattan's concrete misses pings, and the worker said they were on shift.
- A sign of presence while no shift is open (its ``shift_start`` lost or not yet synced) opens a
  shift at that sign, with an inferred start; a ``shift_end`` with no open shift is ignored.
- An interval is ``inferred`` when its start is an inferred shift start or its end is an
  inferred close; when midnight or ``now`` cuts it first, only if it runs past the last sign.
- Intervals are clipped to the local day (a shift crossing midnight appears in both days) and to
  ``now`` (an open shift is never extended into the future).

The log of a day depends only on the events in ``event_window(day)``: events outside it are
ignored, so loading more history never changes a day's log.

Times are kept to the whole second (sub-second precision of a phone clock means nothing here);
every returned datetime is tz-aware UTC.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta

from backend.localtime import LOCAL_TZ
from backend.presence.record import DayRecord, Timeline, record, utc_second, worker_day
from backend.presence.values import (
    MAX_SHIFT,
    SHIFT_GRACE,
    DailyLog,
    DaySummary,
    FiledItem,
    HourCoverage,
    Interval,
    PresenceEvent,
    Summary,
    WorkerDay,
    WorkerSummary,
    ZoneCount,
    ZoneTime,
)

_HOUR = timedelta(hours=1)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants of the local day's first and next day's first moment."""
    start = datetime.combine(day, time(), LOCAL_TZ).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), LOCAL_TZ).astimezone(UTC)
    return start, end


def event_window(
    first: date,
    last: date | None = None,
    *,
    grace: timedelta = SHIFT_GRACE,
    max_shift: timedelta = MAX_SHIFT,
) -> tuple[datetime, datetime]:
    """The inclusive UTC range of presence events to load for the days ``first``..``last``.

    A shift open on a day started at most ``max_shift`` before it, and its end, if it has one,
    comes at most ``max_shift`` after the day.
    """
    start, _ = day_bounds(first)
    _, end = day_bounds(last or first)
    return start - max_shift, end + max_shift


def _zone_key(zone: str | None) -> tuple[bool, str]:
    return (zone is None, zone or "")


def _only_zone(worker: WorkerDay, zone: str) -> WorkerDay:
    return WorkerDay(
        worker_id=worker.worker_id,
        intervals=tuple(i for i in worker.intervals if i.zone == zone),
        first_seen=worker.first_seen,
        last_seen=worker.last_seen,
        filed=tuple(item for item in worker.filed if item.zone == zone),
    )


def _coverage(
    workers: Sequence[WorkerDay], day_start: datetime, day_end: datetime
) -> tuple[HourCoverage, ...]:
    hours = int((day_end - day_start) / _HOUR)  # Stockholm's offsets are whole hours
    in_zone: list[dict[str | None, set[str]]] = [defaultdict(set) for _ in range(hours)]
    anywhere: list[set[str]] = [set() for _ in range(hours)]
    for worker in workers:
        for interval in worker.intervals:
            first = (interval.start - day_start) // _HOUR
            # The hour in which the interval ends counts only if it overlaps it by a moment.
            last = -(-(interval.end - day_start) // _HOUR) - 1
            for hour in range(first, min(last, hours - 1) + 1):
                in_zone[hour][interval.zone].add(worker.worker_id)
                anywhere[hour].add(worker.worker_id)
    return tuple(
        HourCoverage(
            start=day_start + hour * _HOUR,
            end=day_start + (hour + 1) * _HOUR,
            workers=len(anywhere[hour]),
            zones=tuple(
                ZoneCount(zone, len(ids))
                for zone, ids in sorted(in_zone[hour].items(), key=lambda kv: _zone_key(kv[0]))
            ),
        )
        for hour in range(hours)
    )


def timelines_of(events: Iterable[PresenceEvent]) -> dict[str, Timeline]:
    """Each worker's events, sorted once."""
    by_worker: dict[str, list[PresenceEvent]] = defaultdict(list)
    for event in events:
        by_worker[event.worker_id].append(event)
    return {w: Timeline(evs) for w, evs in by_worker.items()}


def _group(
    events: Iterable[PresenceEvent], filed: Iterable[FiledItem]
) -> tuple[dict[str, Timeline], dict[str, list[FiledItem]]]:
    return timelines_of(events), _filed_by_worker(filed)


Records = Mapping[str, DayRecord]
"""One day's records by worker id (``backend.presence.record``): from the events or stored."""


def records_of(
    timelines: Mapping[str, Timeline],
    day: date,
    grace: timedelta = SHIFT_GRACE,
    max_shift: timedelta = MAX_SHIFT,
) -> dict[str, DayRecord]:
    """The day's record of every worker with a timeline."""
    bounds = day_bounds(day)
    return {w: record(w, timeline, bounds, grace, max_shift) for w, timeline in timelines.items()}


def _daily(
    records: Records,
    filed: Mapping[str, list[FiledItem]],
    day: date,
    zone: str | None,
    now: datetime | None,
) -> DailyLog:
    bounds = day_bounds(day)
    until = bounds[1] if now is None else min(bounds[1], utc_second(now))
    workers: list[WorkerDay] = []
    for worker_id in sorted(records.keys() | filed.keys()):
        day_record = records.get(worker_id) or DayRecord(worker_id, (), None, None)
        worker = worker_day(day_record, filed.get(worker_id, []), bounds, until)
        if zone is not None:
            worker = _only_zone(worker, zone)
            if worker.intervals or worker.filed:
                workers.append(worker)
        elif worker.intervals or worker.filed or worker.first_seen:
            workers.append(worker)
    return DailyLog(day, *bounds, zone, tuple(workers), _coverage(workers, *bounds))


def _filed_by_worker(filed: Iterable[FiledItem]) -> dict[str, list[FiledItem]]:
    by_worker: dict[str, list[FiledItem]] = defaultdict(list)
    for item in filed:
        by_worker[item.worker_id].append(item)
    return by_worker


def daily_log(
    events: Iterable[PresenceEvent],
    filed: Iterable[FiledItem],
    day: date,
    *,
    zone: str | None = None,
    now: datetime | None = None,
    grace: timedelta = SHIFT_GRACE,
    max_shift: timedelta = MAX_SHIFT,
) -> DailyLog:
    """The presence log of every worker in ``events``/``filed`` for the local ``day``.

    Pass at least the events in ``event_window(day)`` and the items filed that day. With
    ``zone``, each worker keeps only that zone's intervals and filed items, workers with neither
    are left out, and coverage counts that zone only. ``now`` stops open shifts at the present.
    """
    timelines, filed_by_worker = _group(events, filed)
    return _daily(records_of(timelines, day, grace, max_shift), filed_by_worker, day, zone, now)


def daily_log_from_records(
    records: Records,
    filed: Iterable[FiledItem],
    day: date,
    *,
    zone: str | None = None,
    now: datetime | None = None,
) -> DailyLog:
    """``daily_log`` from the day's records (stored ones: ``backend.presence.stored``)."""
    return _daily(records, _filed_by_worker(filed), day, zone, now)


def on_shift(log: DailyLog, now: datetime) -> tuple[tuple[WorkerDay, Interval], ...]:
    """The workers of ``log`` on shift at ``now``, each with the interval they are in.

    The log clips open shifts to ``now`` and closes a shift without an end ``SHIFT_GRACE``
    after its last sign, so a worker whose last interval reaches ``now`` has shown a sign
    within the grace period and has not ended the shift."""
    at = utc_second(now)
    present = []
    for worker in log.workers:
        if worker.intervals and worker.intervals[-1].end >= at:
            present.append((worker, worker.intervals[-1]))
    return tuple(present)


def summary(
    events: Iterable[PresenceEvent],
    filed: Iterable[FiledItem],
    first: date,
    last: date,
    *,
    zone: str | None = None,
    now: datetime | None = None,
    grace: timedelta = SHIFT_GRACE,
    max_shift: timedelta = MAX_SHIFT,
) -> Summary:
    """Per-day totals for ``first``..``last`` (inclusive), each day exactly its daily log's.

    Pass at least the events in ``event_window(first, last)``.
    """
    timelines, filed_by_worker = _group(events, filed)
    return _summary(
        lambda day: records_of(timelines, day, grace, max_shift),
        filed_by_worker, first, last, zone, now,
    )  # fmt: skip


def summary_from_records(
    records: Callable[[date], Records],
    filed: Iterable[FiledItem],
    first: date,
    last: date,
    *,
    zone: str | None = None,
    now: datetime | None = None,
) -> Summary:
    """``summary`` from each day's records (``records(day)``)."""
    return _summary(records, _filed_by_worker(filed), first, last, zone, now)


def _summary(
    records: Callable[[date], Records],
    filed_by_worker: Mapping[str, list[FiledItem]],
    first: date,
    last: date,
    zone: str | None,
    now: datetime | None,
) -> Summary:
    if last < first:
        raise ValueError("the range ends before it starts")
    days: list[DaySummary] = []
    everyone: set[str] = set()
    totals: dict[str | None, int] = defaultdict(int)
    # Per worker: zone seconds, days present, reports, contacts (summed over their days).
    worker_zones: dict[str, dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    worker_counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    day = first
    while day <= last:
        log = _daily(records(day), filed_by_worker, day, zone, now)
        per_zone: dict[str | None, int] = defaultdict(int)
        present = {w.worker_id for w in log.workers if w.intervals}
        for worker in log.workers:
            counts = worker_counts[worker.worker_id]
            counts[0] += 1 if worker.intervals else 0
            counts[1] += worker.filed_count("report")
            counts[2] += worker.filed_count("contact")
            zones_of_worker = worker_zones[worker.worker_id]
            for zone_time in worker.zone_times:
                per_zone[zone_time.zone] += zone_time.seconds
                totals[zone_time.zone] += zone_time.seconds
                zones_of_worker[zone_time.zone] += zone_time.seconds
        everyone |= present
        days.append(
            DaySummary(
                day=day,
                zone_times=_sorted_zone_times(per_zone),
                workers=len(present),
                reports=sum(w.filed_count("report") for w in log.workers),
                contacts=sum(w.filed_count("contact") for w in log.workers),
            )
        )
        day += timedelta(days=1)
    return Summary(
        first=first,
        last=last,
        zone=zone,
        days=tuple(days),
        zone_times=_sorted_zone_times(totals),
        workers=len(everyone),
        reports=sum(d.reports for d in days),
        contacts=sum(d.contacts for d in days),
        by_worker=tuple(
            WorkerSummary(
                worker_id,
                days=counts[0],
                zone_times=_sorted_zone_times(worker_zones[worker_id]),
                reports=counts[1],
                contacts=counts[2],
            )
            for worker_id, counts in sorted(worker_counts.items())
        ),
    )


def _sorted_zone_times(seconds: dict[str | None, int]) -> tuple[ZoneTime, ...]:
    return tuple(
        ZoneTime(z, s) for z, s in sorted(seconds.items(), key=lambda kv: _zone_key(kv[0]))
    )
