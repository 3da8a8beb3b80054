"""Statistics use cases: recompute a day's aggregates, answer the weekly table.

The weekly answer reads only the ``stats_*_days`` aggregates (plus the contact aggregates,
which ``backend.contacts.services.aggregates`` computes with its own suppression). Those are
kept current by recomputing whole days: every push and task event marks the local days it
touched (``backend.stats.dirty.mark_dirty``, in the transaction of the change), a job
recomputes each marked day (``refresh_day``, run by ``backend.stats.jobs``), and a nightly job
recomputes the recent days whose figures depend on the clock (a deadline passing, an open
shift).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from backend import roles
from backend.cases.models import Case
from backend.contacts import services as contacts
from backend.errors import Forbidden
from backend.localtime import LOCAL_TZ
from backend.organisations.models import Organisation
from backend.organisations.services import filter_organisation
from backend.presence import log as presence_log
from backend.presence.services import check_range, load_events
from backend.presence.values import MAX_SHIFT
from backend.reference.services import check_zone
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
from backend.users.models import User

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
    lo, hi = presence_log.event_window(day)
    log = presence_log.daily_log(load_events(session, lo, hi, None), [], day, now=now)
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


def _organisation_for(session: Session, user: User, organisation: str | None) -> str | None:
    """The organisation whose figures ``user`` gets (None: all), or 403/422."""
    if user.role not in roles.SEES_ALL:
        own = user.organisation.slug
        if organisation is not None and organisation != own:
            raise Forbidden(
                "A department reads its own organisation's statistics only.",
                code="not_your_organisation",
                errors={"organisation": ["must be your own organisation, or left out"]},
            )
        return own
    filter_organisation(session, organisation)
    return organisation


KEY_COLUMNS = frozenset({"day", "zone", "kind", "category", "organisation", "hour"})
"""Columns the weekly answer groups by; every other column of a row type is summed."""


@dataclass(frozen=True)
class ContactSettings:
    rounding_base: int


def weekly_table(
    session: Session,
    user: User,
    first: date,
    last: date,
    *,
    zone: str | None,
    organisation: str | None,
    max_days: int,
    contact_settings: ContactSettings,
) -> dict[str, Any]:
    """The weekly statistics ``user`` may read, for the whole ISO weeks holding ``first`` to
    ``last``, from the daily aggregates.

    With an organisation (a department always has its own) the answer holds that
    organisation's task figures; reports, cases, presence and contacts, which are the
    partnership's and not an organisation's, are ``null``.
    """
    check_range(first, last, max_days)
    check_zone(session, zone)
    org = _organisation_for(session, user, organisation)
    weeks = weekly.iso_weeks(first, last)
    lo, hi = weeks[0].start, weeks[-1].end
    whole = org is None

    def grouped(model: Any, row_type: Any, *conditions: Any) -> list[Any]:
        """The rows of ``model`` in the range summed over the zones (or the one zone asked
        for) by the key columns of ``row_type``: the database adds, and a year is a few
        thousand rows instead of tens of thousands. Core, not ORM: no identity map."""
        names = [f.name for f in dataclasses.fields(row_type)]
        keys = [getattr(model, n) for n in names if n in KEY_COLUMNS]
        values = [
            # NULLIF: an empty list must not leave an empty item between the commas.
            func.aggregate_strings(func.nullif(getattr(model, n), ""), ",")
            if n.endswith("_seconds")
            else func.sum(getattr(model, n))
            for n in names
            if n not in KEY_COLUMNS
        ]
        query = select(*keys, *values).where(model.day >= lo, model.day <= hi, *conditions)
        if zone is not None:
            query = query.where(model.zone == zone)
        query = query.group_by(*keys)
        return [row_type(*row) for row in session.connection().execute(query)]

    reports: list[weekly.ReportRow] = []
    zones: list[weekly.ZoneSeconds] = []
    hours: list[weekly.HourSeconds] = []
    if whole:
        reports = grouped(StatsReportDay, weekly.ReportRow)
        zones = grouped(StatsPresenceDay, weekly.ZoneSeconds)
        hours = grouped(StatsPresenceDay, weekly.HourSeconds)
    only = [] if org is None else [StatsTaskDay.organisation == org]
    tasks = grouped(StatsTaskDay, weekly.TaskRow, *only)
    rows, total = weekly.table(
        weeks,
        reports,
        tasks,
        zones,
        hours,
        organisations=[org] if org else [],
        sections=weekly.Sections(reports=whole, presence=whole),
    )
    contact_answer = None
    # The contact counts are issue 14's answer as it is (backend.contacts.services.aggregates):
    # for the period of weeks, month, quarter or ISO year that holds these weeks, rounded to
    # its base. It answers no range whose weeks lie in two ISO years (two such answers could
    # be subtracted), so a range across a new year has no contact section.
    if whole and lo.isocalendar().year == hi.isocalendar().year:
        contact_answer = contacts.aggregates(
            session,
            lo,
            hi,
            zone=zone,
            max_days=(hi - lo).days + 1,
            base=contact_settings.rounding_base,
        )
    pending = sorted({day for day, _ in dirty_days(session) if lo <= day <= hi})
    return {
        "from": lo.isoformat(),
        "to": hi.isoformat(),
        "timezone": str(LOCAL_TZ),
        "zone": zone,
        "organisation": org,
        "pending_days": [d.isoformat() for d in pending],
        "weeks": rows,
        "total": total,
        "contacts": contact_answer,
    }
