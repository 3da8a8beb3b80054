"""One local day's figures, computed from plain values: pure, no Flask, no database, no clock.

``backend.stats.refresh`` loads a day's rows and calls these; the results are what the
``stats_*_days`` tables hold. The rules, per day (Europe/Stockholm) and per organisation:

- *received*: tasks routed to the organisation that day (``forwarded_in``: of those, the ones
  another organisation rejected towards it);
- *acknowledged*: tasks acknowledged that day, with the seconds from routing to acknowledgement;
- *resolved*: tasks resolved that day, with the seconds from routing to resolution, and how
  many of them by their deadline (``resolved_at <= due_at``);
- *forwarded*: tasks the organisation rejected that day, which routes the case on to another
  (a task closed because a supervisor merged its case away is not a forwarding);
- *became overdue*: tasks due that day (by the time of the computation) that were still open
  at their deadline: the deadline misses that a "share resolved within deadline" of resolved
  tasks alone would never show.

Durations count from the moment the task reached the organisation (``routed_at``), so a
misrouted case does not count against the organisation it was forwarded to for the time the
first one held it. Tasks for referred social-prevention contacts are left out: their counts per
zone and week would show contact counts that the contact aggregates suppress.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from backend.localtime import LOCAL_TZ
from backend.presence.values import DailyLog

_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class TaskFacts:
    """What the statistics need of one task; times tz-aware."""

    organisation: str
    zone: str | None
    routed_at: datetime
    due_at: datetime
    rerouted: bool
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    # When the organisation rejected it (forwarded the case on), if it did.
    forwarded_at: datetime | None = None
    # When it stopped being open for any reason (resolved, rejected, merged away).
    closed_at: datetime | None = None


@dataclass(slots=True)
class TaskFigures:
    received: int = 0
    forwarded_in: int = 0
    acknowledged: int = 0
    resolved: int = 0
    resolved_within_deadline: int = 0
    forwarded: int = 0
    became_overdue: int = 0
    ack_seconds: list[int] = field(default_factory=list)
    resolve_seconds: list[int] = field(default_factory=list)


def _within(at: datetime | None, start: datetime, end: datetime) -> bool:
    return at is not None and start <= at < end


def _seconds(later: datetime, earlier: datetime) -> int:
    return max(0, int((later - earlier).total_seconds()))


def task_figures(
    tasks: Iterable[TaskFacts], start: datetime, end: datetime, as_of: datetime
) -> dict[tuple[str, str], TaskFigures]:
    """Figures per (organisation, zone or '') for the day ``[start, end)`` as known at
    ``as_of``: a deadline later than ``as_of`` has not been missed yet."""
    out: dict[tuple[str, str], TaskFigures] = defaultdict(TaskFigures)
    for task in tasks:
        row = out[(task.organisation, task.zone or "")]
        if _within(task.routed_at, start, end):
            row.received += 1
            row.forwarded_in += task.rerouted
        if task.acknowledged_at is not None and _within(task.acknowledged_at, start, end):
            row.acknowledged += 1
            row.ack_seconds.append(_seconds(task.acknowledged_at, task.routed_at))
        if task.resolved_at is not None and _within(task.resolved_at, start, end):
            row.resolved += 1
            row.resolved_within_deadline += task.resolved_at <= task.due_at
            row.resolve_seconds.append(_seconds(task.resolved_at, task.routed_at))
        if _within(task.forwarded_at, start, end):
            row.forwarded += 1
        if (
            _within(task.due_at, start, end)
            and task.due_at <= as_of
            and (task.closed_at is None or task.closed_at > task.due_at)
        ):
            row.became_overdue += 1
    for row in out.values():
        row.ack_seconds.sort()
        row.resolve_seconds.sort()
    return {key: row for key, row in out.items() if _any(row)}


def _any(row: TaskFigures) -> bool:
    return bool(
        row.received or row.acknowledged or row.resolved or row.forwarded or row.became_overdue
    )


def presence_seconds(log: DailyLog) -> dict[tuple[str, int], int]:
    """Seconds of presence per (zone or '', local hour of day) from a day's presence log.

    Stockholm's offsets are whole hours, so local hours begin on UTC hour boundaries: each
    interval is cut there and each piece is added to the local hour it lies in.
    """
    out: dict[tuple[str, int], int] = defaultdict(int)
    for worker in log.workers:
        for interval in worker.intervals:
            zone = interval.zone or ""
            cursor = interval.start.astimezone(UTC)
            end = interval.end.astimezone(UTC)
            while cursor < end:
                boundary = cursor.replace(minute=0, second=0, microsecond=0) + _HOUR
                piece_end = min(boundary, end)
                out[(zone, cursor.astimezone(LOCAL_TZ).hour)] += int(
                    (piece_end - cursor).total_seconds()
                )
                cursor = piece_end
    return dict(out)
