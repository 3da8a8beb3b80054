"""Keeping the statistics aggregates current: recompute a whole local day from the stored
rows (``refresh_day``) and name the days that need it (``days_to_refresh``).

Every push and task event marks the local days it touched (``backend.stats.dirty.mark_dirty``,
in the transaction of the change), a job recomputes each marked day (``refresh_day``, run by
``backend.stats.jobs``), and a nightly job recomputes the recent days whose figures depend on
the clock (a deadline passing, an open shift). ``backend.stats.services`` answers from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from backend.cases.models import Case
from backend.organisations.models import Organisation
from backend.presence import log as presence_log
from backend.presence import stored as presence_stored
from backend.presence.services import day_records
from backend.presence.values import MAX_SHIFT
from backend.reports.models import Report
from backend.stats import daily, weekly
from backend.stats.dirty import dirty_days, local_day
from backend.stats.models import (
    StatsDay,
    StatsDirtyDay,
    StatsPresenceDay,
    StatsReportDay,
    StatsTaskDay,
)
from backend.tasks.models import RESOLVED, STATUSES, Task, TaskEvent

FINAL_AFTER = MAX_SHIFT + timedelta(hours=1)
"""A day's figures stop depending on the clock this long after it ends: a shift open at
midnight closes at most MAX_SHIFT after it started, and every deadline of the day has passed.
Until then the nightly job recomputes the day."""

NIGHTLY_RECENT_DAYS = 3
"""Days before today the nightly job always recomputes, whether or not a row exists: a day
with no activity at all but a deadline falling on it still needs its overdue count, and one
missed night is caught up by the next."""


def _lock_day(session: Session, day: date) -> None:
    """Serialise recomputations of one day (PostgreSQL; SQLite's BEGIN IMMEDIATE already
    does): two jobs racing would otherwise let the older snapshot overwrite the newer one."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"),
            {"space": 23_0001, "key": day.toordinal()},
        )


def _report_rows(
    session: Session, start: datetime, end: datetime
) -> dict[tuple[str, ...], list[int]]:
    rows: dict[tuple[str, ...], list[int]] = {}

    def add(key: tuple[Any, ...], column: int, count: int) -> None:
        zone, kind, category = key
        rows.setdefault((zone or "", kind, category), [0, 0, 0])[column] += count

    for zone, kind, category, count in session.execute(
        select(Report.zone, Report.kind, Report.category, func.count())
        .where(Report.occurred_at >= start, Report.occurred_at < end)
        .group_by(Report.zone, Report.kind, Report.category)
    ):
        add((zone, kind, category), 0, count)
    for column, moment in ((1, Case.created_at), (2, Case.resolved_at)):
        for zone, kind, category, count in session.execute(
            select(Case.zone, Case.kind, Case.category, func.count())
            .where(moment >= start, moment < end)
            .group_by(Case.zone, Case.kind, Case.category)
        ):
            add((zone, kind, category), column, count)
    return rows


EVENT_SLACK = timedelta(minutes=1)
"""A resolution's event and ``resolved_at`` are stamped microseconds apart: tasks are looked up
by their events this much beyond the day, and counted by their exact times."""


def load_tasks(session: Session, start: datetime, end: datetime) -> list[daily.TaskFacts]:
    """The tasks (not for contacts) that were routed, acknowledged, resolved, rejected or due
    in ``[start, end)``, with the times of their events. Two indexed lookups (events by time,
    deadlines by status and time), then the tasks by id."""
    wanted = set(
        session.execute(
            select(TaskEvent.task_id).where(
                TaskEvent.at >= start - EVENT_SLACK,
                TaskEvent.at < end + EVENT_SLACK,
                TaskEvent.action.in_(("routed", "acknowledge", "resolve", "reject")),
            )
        ).scalars()
    )
    # Every status listed: the leading column of ix_tasks_status_due, so both databases scan
    # five short ranges of it instead of the whole table.
    wanted.update(
        session.execute(
            select(Task.id).where(
                Task.status.in_(STATUSES), Task.due_at >= start, Task.due_at < end
            )
        ).scalars()
    )
    rows: list[Any] = []
    ordered = sorted(wanted)
    # In chunks: the number of bound parameters per statement is limited on both backends.
    for n in range(0, len(ordered), 500):
        rows += session.execute(
            select(
                Task.id, Organisation.slug, Task.zone, Task.routed_at, Task.due_at,
                Task.rerouted_from_id, Task.resolved_at, Task.status,
            )
            .join(Organisation, Organisation.id == Task.organisation_id)
            .where(Task.id.in_(ordered[n : n + 500]), Task.kind != "contact")
        ).all()  # fmt: skip
    ids = [row.id for row in rows]
    events: dict[Any, dict[str, datetime]] = {}
    for n in range(0, len(ids), 500):
        for task_id, action, at in session.execute(
            select(TaskEvent.task_id, TaskEvent.action, TaskEvent.at)
            .where(
                TaskEvent.task_id.in_(ids[n : n + 500]),
                TaskEvent.action.in_(("acknowledge", "reject", "merged")),
            )
            .order_by(TaskEvent.at)
        ):
            events.setdefault(task_id, {}).setdefault(action, at)
    facts = []
    for row in rows:
        seen = events.get(row.id, {})
        closed = [t for t in (seen.get("reject"), seen.get("merged")) if t is not None]
        if row.status == RESOLVED and row.resolved_at is not None:
            closed.append(row.resolved_at)
        facts.append(
            daily.TaskFacts(
                organisation=row.slug,
                zone=row.zone,
                routed_at=row.routed_at,
                due_at=row.due_at,
                rerouted=row.rerouted_from_id is not None,
                acknowledged_at=seen.get("acknowledge"),
                resolved_at=row.resolved_at if row.status == RESOLVED else None,
                forwarded_at=seen.get("reject"),
                closed_at=min(closed) if closed else None,
            )
        )
    return facts


def compute_presence(session: Session, day: date, now: datetime) -> dict[tuple[str, int], int]:
    """Seconds per (zone, local hour) from the day's presence log, the log
    ``GET /presence/daily`` shows (``backend.presence.log``)."""
    records, fresh = day_records(session, day, day, None)
    # Kept in the job's own transaction (it commits or rolls back with the figures).
    presence_stored.save(session, fresh)
    log = presence_log.daily_log_from_records(records.get(day, {}), [], day, now=now)
    return daily.presence_seconds(log)


@dataclass(frozen=True)
class DayFigures:
    reports: dict[tuple[str, ...], list[int]]
    tasks: dict[tuple[str, str], daily.TaskFigures]
    presence: dict[tuple[str, int], int] | None  # None: kept as stored


def compute_day(
    session: Session, day: date, now: datetime, *, with_presence: bool = True
) -> DayFigures:
    """A day's figures from the stored rows, as of ``now``."""
    start, end = presence_log.day_bounds(day)
    return DayFigures(
        reports=_report_rows(session, start, end),
        tasks=daily.task_figures(load_tasks(session, start, end), start, end, min(now, end)),
        presence=compute_presence(session, day, now) if with_presence else None,
    )


def refresh_day(
    session: Session, day: date, *, now: datetime, presence_retained_since: datetime
) -> int:
    """Recompute one day's aggregates from the rows and replace the stored ones; delete the
    marks read before computing. Returns how many marks that cleared. Commits.

    Runs under the day's lock (PostgreSQL advisory lock; SQLite's write lock), so a second
    job for the same day waits and then computes from a newer snapshot. Idempotent.

    ``presence_retained_since``: presence pings older than this may have been deleted by the
    retention job; a day whose event window reaches back before it keeps the presence figures
    computed while its pings were all there (if it has any), since recomputing would count a
    shift's zone changes as lost.
    """
    _lock_day(session, day)
    marks = list(
        session.execute(select(StatsDirtyDay.id).where(StatsDirtyDay.day == day)).scalars()
    )
    state = session.get(StatsDay, day)
    start, _ = presence_log.day_bounds(day)
    keep_presence = (
        state is not None
        and state.presence_computed_at is not None
        and start - MAX_SHIFT < presence_retained_since
    )
    figures = compute_day(session, day, now, with_presence=not keep_presence)
    _replace(session, day, figures)
    if state is None:
        state = StatsDay(day=day)
        session.add(state)
    state.computed_at = now
    if figures.presence is not None:
        state.presence_computed_at = now
    if marks:
        session.execute(delete(StatsDirtyDay).where(StatsDirtyDay.id.in_(marks)))
    session.commit()
    return len(marks)


def _replace(session: Session, day: date, figures: DayFigures) -> None:
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (
            StatsReportDay,
            [
                {"day": day, "zone": zone, "kind": kind, "category": category,
                 "reports": c[0], "cases_opened": c[1], "cases_resolved": c[2]}
                for (zone, kind, category), c in figures.reports.items()
            ],
        ),
        (
            StatsTaskDay,
            [
                {"day": day, "organisation": org, "zone": zone,
                 **{name: getattr(f, name) for name in weekly.COUNTS},
                 "ack_seconds": weekly.join_seconds(f.ack_seconds),
                 "resolve_seconds": weekly.join_seconds(f.resolve_seconds)}
                for (org, zone), f in figures.tasks.items()
            ],
        ),
    ]  # fmt: skip
    if figures.presence is not None:
        tables.append(
            (
                StatsPresenceDay,
                [
                    {"day": day, "zone": zone, "hour": hour, "seconds": seconds}
                    for (zone, hour), seconds in figures.presence.items()
                ],
            )
        )
    for model, rows in tables:
        session.execute(delete(model).where(model.day == day))
        if rows:
            session.execute(insert(model), rows)


def days_to_refresh(session: Session, now: datetime) -> list[date]:
    """What the nightly job recomputes: the recent days, every day still depending on the
    clock, and every marked day."""
    today = local_day(now)
    days = {today - timedelta(days=n) for n in range(NIGHTLY_RECENT_DAYS + 1)}
    for day, computed_at in session.execute(
        select(StatsDay.day, StatsDay.computed_at).where(
            StatsDay.day >= today - timedelta(days=7), StatsDay.day <= today
        )
    ):
        if computed_at < presence_log.day_bounds(day)[1] + FINAL_AFTER:
            days.add(day)
    days.update(day for day, _ in dirty_days(session))
    return sorted(days)
