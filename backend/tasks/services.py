"""Use cases of tasks: route a case, list and read tasks, record what a department did.

Each change to a task does three things in one transaction: the task row, a ``task_events``
row, and what others must learn of it: the feed status for every report of the case (the
phones) and a delivery to the organisation (its inbox, webhook or email). So a department's
click and the phone's "resolved" commit or roll back together.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.database import utcnow
from backend.delivery.models import DELIVERED, Delivery
from backend.delivery.services import enqueue_delivery
from backend.errors import Conflict, NotFound, Unprocessable
from backend.feed.services import append_item_status
from backend.organisations.models import Organisation
from backend.reports.models import Report, ReportPhoto
from backend.routing.rules import CaseFacts, route
from backend.routing.services import active_rule_set
from backend.tasks.models import (
    ACKNOWLEDGED,
    IN_PROGRESS,
    NEW,
    OPEN,
    REJECTED,
    RESOLVED,
    Task,
    TaskEvent,
)
from backend.users.models import User

FALLBACK_ORGANISATION = "city-i-samverkan"
"""Where a rejection without ``reroute_to`` goes: the partnership forwards it by hand, as the
rule set's fallback does for cases no rule takes."""

ALL_TASKS_ROLES = ("supervisor", "admin")
"""Roles that see every organisation's tasks; a department sees its own organisation's."""

ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "acknowledge": ((NEW,), ACKNOWLEDGED),
    "start": ((ACKNOWLEDGED,), IN_PROGRESS),
    "resolve": ((IN_PROGRESS,), RESOLVED),
    "reject": (OPEN, REJECTED),
}
"""action -> (statuses it may leave, status it leads to)."""


def _organisations(session: Session) -> dict[str, Organisation]:
    return {o.slug: o for o in session.execute(select(Organisation)).scalars()}


def _reports(session: Session, case_id: uuid.UUID) -> list[Report]:
    return list(
        session.execute(
            select(Report).where(Report.case_id == case_id).order_by(Report.occurred_at)
        ).scalars()
    )


def _tell_reporters(
    session: Session,
    case_id: uuid.UUID,
    status: str,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    reports: list[Report] | None = None,
) -> None:
    for report in _reports(session, case_id) if reports is None else reports:
        append_item_status(session, report.id, status, note=note, data=data)


def route_case(
    session: Session,
    case_id: uuid.UUID,
    facts: CaseFacts,
    received_at: datetime,
    observed_at: datetime | None = None,
    *,
    location: tuple[float, float] | None = None,
) -> Task:
    """Route a new case: its task, the delivery to the organisation and the phones' ``routed``
    status, in the caller's transaction (the caller commits, e.g. the push).

    Routing a case that already has an open task returns that task and changes nothing, so a
    retried push never routes twice (the partial unique index decides, see ``_insert_task``).
    ``location`` (lat, lon) defaults to the case's first report's."""
    organisations = _organisations(session)
    decision = route(
        active_rule_set(session),
        facts,
        received_at=received_at,
        observed_at=observed_at,
        organisations=organisations,
    )
    reports = _reports(session, case_id)
    if location is None and reports:
        location = (reports[0].lat, reports[0].lon)
    task = Task(
        case_id=case_id,
        organisation=organisations[decision.organisation],
        status=NEW,
        kind=facts.kind,
        category=facts.category,
        zone=facts.zone,
        lat=location[0] if location else None,
        lon=location[1] if location else None,
        referral=facts.referral,
        priority=decision.priority,
        deadline=decision.deadline,
        due_at=decision.due_at,
        rule_id=decision.rule_id,
        rule_set_version=decision.rule_set_version,
    )
    return _insert_task(session, task, reports=reports)


def _open_task(session: Session, case_id: uuid.UUID) -> Task | None:
    return session.execute(
        select(Task).where(Task.case_id == case_id, Task.status.in_(OPEN))
    ).scalar_one_or_none()


def _insert_task(
    session: Session,
    task: Task,
    user_id: uuid.UUID | None = None,
    reports: list[Report] | None = None,
) -> Task:
    """Insert an open task with its event, delivery and feed status; the open task already
    there if a concurrent routing of the same case won the unique index."""
    try:
        with session.begin_nested():
            session.add(task)
            session.flush()
    except IntegrityError:
        existing = _open_task(session, task.case_id)
        if existing is None:  # pragma: no cover - the only unique index is the open case
            raise
        return existing
    session.add(TaskEvent(task_id=task.id, user_id=user_id, action="routed"))
    enqueue_delivery(
        session,
        organisation_id=task.organisation_id,
        event_type="task.created",
        subject_type="task",
        subject_id=task.id,
    )
    _tell_reporters(
        session,
        task.case_id,
        "routed",
        data={"organisation": task.organisation.slug, "task_id": str(task.id)},
        reports=reports,
    )
    return task


def on_task_resolved(session: Session, task: Task) -> None:
    """The one place a resolved task reaches the case and its reporters (in the resolving
    transaction). The cases issue adds the case's own status change here."""
    task.resolved_at = task.resolved_at or utcnow()
    _tell_reporters(
        session,
        task.case_id,
        RESOLVED,
        data={"organisation": task.organisation.slug, "task_id": str(task.id)},
    )


def _visible(user: User) -> Any:
    """The condition on ``Task`` for what ``user`` may see."""
    if user.role in ALL_TASKS_ROLES:
        return True
    return Task.organisation_id == user.organisation_id


def get_task(session: Session, user: User, task_id: uuid.UUID) -> Task:
    """A task ``user`` may see; another organisation's task is 404, not 403, so its
    existence is not disclosed."""
    task = session.execute(select(Task).where(Task.id == task_id, _visible(user))).scalar()
    if task is None:
        raise NotFound("No task with this id.", code="task_not_found")
    return task


@dataclass(frozen=True)
class Page:
    items: list[Task]
    next_cursor: uuid.UUID | None


def _delivered(organisation_id: Any) -> Any:
    # A department sees a task once its organisation has been delivered it: the inbox
    # channel's "pull", and for webhook and email organisations the API behind the link.
    return exists().where(
        Delivery.subject_type == "task",
        Delivery.subject_id == Task.id,
        Delivery.organisation_id == organisation_id,
        Delivery.event_type == "task.created",
        Delivery.status == DELIVERED,
    )


def list_tasks(
    session: Session,
    user: User,
    *,
    status: str | None = None,
    overdue: bool | None = None,
    zone: str | None = None,
    category: str | None = None,
    organisation: str | None = None,
    cursor: uuid.UUID | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> Page:
    """Tasks ``user`` may see, newest first, filtered; pass ``next_cursor`` back for more."""
    now = now or utcnow()
    query = select(Task)
    if user.role not in ALL_TASKS_ROLES:
        query = query.where(
            Task.organisation_id == user.organisation_id, _delivered(user.organisation_id)
        )
    if status == "open":
        query = query.where(Task.status.in_(OPEN))
    elif status is not None:
        query = query.where(Task.status == status)
    is_overdue = and_(Task.status.in_(OPEN), Task.due_at < now)
    if overdue is True:
        query = query.where(is_overdue)
    elif overdue is False:
        query = query.where(~is_overdue)
    if zone is not None:
        query = query.where(Task.zone == zone)
    if category is not None:
        query = query.where(Task.category == category)
    if organisation is not None:
        query = query.join(Task.organisation).where(Organisation.slug == organisation)
    if cursor is not None:
        anchor = session.execute(select(Task).where(Task.id == cursor, _visible(user))).scalar()
        if anchor is None:
            raise NotFound(
                "The cursor names no task; start again without it.",
                code="cursor_not_found",
                errors={"cursor": ["not the id of a task"]},
            )
        query = query.where(
            or_(
                Task.routed_at < anchor.routed_at,
                and_(Task.routed_at == anchor.routed_at, Task.id < anchor.id),
            )
        )
    rows = list(
        session.execute(
            query.order_by(Task.routed_at.desc(), Task.id.desc()).limit(limit + 1)
        ).scalars()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].id if more else None)


@dataclass(frozen=True)
class CaseReport:
    report: Report
    photos: list[str]


@dataclass(frozen=True)
class TaskDetail:
    """A task with its case's reports; reads as the task otherwise (for the schema)."""

    task: Task
    reports: list[CaseReport]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)


def task_detail(session: Session, user: User, task_id: uuid.UUID) -> TaskDetail:
    task = get_task(session, user, task_id)
    return TaskDetail(task, case_reports(session, task))


def case_reports(session: Session, task: Task) -> list[CaseReport]:
    """The case's reports with the SHA-256 of their photos, oldest first."""
    reports = _reports(session, task.case_id)
    photos: dict[uuid.UUID, list[str]] = {r.id: [] for r in reports}
    for report_id, sha256 in session.execute(
        select(ReportPhoto.report_id, ReportPhoto.sha256)
        .where(ReportPhoto.report_id.in_(list(photos)))
        .order_by(ReportPhoto.position)
    ):
        photos[report_id].append(sha256)
    return [CaseReport(r, photos[r.id]) for r in reports]


def record_event(
    session: Session,
    user: User,
    task_id: uuid.UUID,
    action: str,
    note: str | None = None,
    reroute_to: str | None = None,
) -> Task:
    """Apply a department's action to a task and commit; returns the task.

    409 ``invalid_transition`` when the task's status does not allow the action; a rejection
    routes the case on to ``reroute_to`` (422 ``unknown_organisation``) or the fallback.
    """
    task = session.execute(
        select(Task).where(Task.id == task_id, _visible(user)).with_for_update(of=Task)
    ).scalar()
    if task is None:
        raise NotFound("No task with this id.", code="task_not_found")
    allowed_from, target = ACTIONS[action]
    if task.status not in allowed_from:
        raise Conflict(
            f"A task that is {task.status} cannot be {action}d.",
            code="invalid_transition",
            errors={"action": [f"{action} needs status {' or '.join(allowed_from)}"]},
        )
    if reroute_to is not None and action != "reject":
        raise Unprocessable(
            "Only a rejection routes a task elsewhere.",
            code="reroute_needs_reject",
            errors={"reroute_to": ["only with action reject"]},
        )
    successor_org: Organisation | None = None
    if action == "reject":
        slug = reroute_to or FALLBACK_ORGANISATION
        successor_org = session.execute(
            select(Organisation).where(Organisation.slug == slug, Organisation.active)
        ).scalar()
        if successor_org is None:
            raise Unprocessable(
                f"No active organisation {slug!r} to route the case to.",
                code="unknown_organisation",
                errors={"reroute_to": [f"unknown organisation {slug!r}"]},
            )
        if successor_org.id == task.organisation_id:
            raise Unprocessable(
                "A task cannot be rerouted to the organisation rejecting it.",
                code="reroute_to_self",
                errors={"reroute_to": ["must name another organisation"]},
            )
    task.status = target
    task.updated_at = utcnow()
    session.add(TaskEvent(task_id=task.id, user_id=user.id, action=action, note=note))
    enqueue_delivery(
        session,
        organisation_id=task.organisation_id,
        event_type="task.changed",
        subject_type="task",
        subject_id=task.id,
    )
    if target == RESOLVED:
        on_task_resolved(session, task)
    else:
        _tell_reporters(
            session,
            task.case_id,
            target,
            note=note if target == REJECTED else None,
            data={"organisation": task.organisation.slug, "task_id": str(task.id)},
        )
    if successor_org is not None:
        # Close the old task in the database before the new one claims the open slot.
        session.flush()
        successor = Task(
            case_id=task.case_id,
            organisation_id=successor_org.id,
            status=NEW,
            kind=task.kind,
            category=task.category,
            zone=task.zone,
            lat=task.lat,
            lon=task.lon,
            referral=task.referral,
            priority=task.priority,
            deadline=task.deadline,
            # The deadline still counts from when the service received the case: a
            # misrouting must not buy the next organisation extra time.
            due_at=task.due_at,
            rule_id="reroute",
            rule_set_version=task.rule_set_version,
            rerouted_from_id=task.id,
        )
        successor.organisation = successor_org
        _insert_task(session, successor, user_id=user.id)
    session.commit()
    return task
