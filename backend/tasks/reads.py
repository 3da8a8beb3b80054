"""Reading tasks: what a user may see (a department its own organisation's, once delivered),
the task list and board, a task with its case's reports, a case's task history, and where a
rejection came from or may go. Changes to tasks are ``tasks.services``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy import case as when
from sqlalchemy.orm import Session

from backend import pagination, roles
from backend.cases import visibility
from backend.cases.models import Case
from backend.database import utcnow
from backend.delivery.models import DELIVERED, Delivery
from backend.errors import NotFound
from backend.organisations.models import Organisation
from backend.organisations.services import filter_organisation
from backend.reference.services import check_zone
from backend.tasks.models import OPEN, Task, TaskEvent
from backend.users.models import User


def visible_to(user: User) -> Any:
    """The condition on ``Task`` for what ``user`` may see."""
    if user.role in roles.SEES_ALL:
        return True
    return Task.organisation_id == user.organisation_id


def get_task(session: Session, user: User, task_id: uuid.UUID) -> Task:
    """A task ``user`` may see; another organisation's task is 404, not 403, so its
    existence is not disclosed."""
    task = session.execute(select(Task).where(Task.id == task_id, visible_to(user))).scalar()
    if task is None:
        raise NotFound("No task with this id.", code="task_not_found")
    return task


@dataclass(frozen=True)
class TaskView:
    """A task as one reader sees it: its location exact while the reader may see the case in
    full, rounded in a department's history (``backend.cases.visibility``). Reads as the task
    otherwise (for the schema)."""

    task: Task
    view: str = visibility.FULL
    as_of: datetime | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)

    @property
    def lat(self) -> float | None:
        return self.task.lat if self.view == visibility.FULL else visibility.rounded(self.task.lat)

    @property
    def lon(self) -> float | None:
        return self.task.lon if self.view == visibility.FULL else visibility.rounded(self.task.lon)


def task_views(session: Session, user: User, tasks: Sequence[Task]) -> list[TaskView]:
    grants = visibility.access(session, user, [t.case_id for t in tasks if t.case_id is not None])
    out = []
    for task in tasks:
        grant = grants.get(task.case_id) if task.case_id is not None else None
        grant = grant or visibility.FULL_ACCESS
        out.append(TaskView(task, grant.view, grant.as_of))
    return out


LIST = "tasks"
"""The task list's name in its cursors (``backend.pagination``)."""


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


def _filtered(
    query: Any,
    user: User,
    now: datetime,
    *,
    status: str | None = None,
    overdue: bool | None = None,
    zone: str | None = None,
    category: str | None = None,
    organisation: str | None = None,
) -> Any:
    if user.role not in roles.SEES_ALL:
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
    return query


def count_tasks(session: Session, user: User, *, now: datetime, **filters: Any) -> int:
    """How many tasks ``user`` may see match the filters of ``list_tasks`` (the overview's
    "overdue now", a board's header)."""
    query = _filtered(select(func.count(Task.id)), user, now, **filters)
    return int(session.execute(query).scalar_one())


def most_overdue(session: Session, user: User, *, now: datetime, limit: int) -> list[Task]:
    """The open tasks ``user`` may see that are past due, the longest overdue first."""
    query = _filtered(select(Task), user, now, overdue=True)
    return list(session.execute(query.order_by(Task.due_at, Task.id).limit(limit)).scalars())


def board(
    session: Session,
    user: User,
    *,
    now: datetime,
    limit: int,
    status: str | None = None,
    overdue: bool | None = None,
    zone: str | None = None,
    category: str | None = None,
    organisation: str | None = None,
) -> list[Task]:
    """A department's board: the tasks of ``list_tasks``' filters, overdue first, then open
    tasks by due time (the next deadline on top), then closed ones, most recent first."""
    late = when((and_(Task.status.in_(OPEN), Task.due_at < now), 0), else_=1)
    still_open = when((Task.status.in_(OPEN), 0), else_=1)
    due = when((Task.status.in_(OPEN), Task.due_at))
    query = _filtered(
        select(Task),
        user,
        now,
        status=status,
        overdue=overdue,
        zone=zone,
        category=category,
        organisation=organisation,
    )
    ordered = query.order_by(
        late,
        still_open,
        due,
        Task.updated_at.desc(),
        Task.id,
    )
    return list(session.execute(ordered.limit(limit)).scalars())


def list_tasks(
    session: Session,
    user: User,
    *,
    status: str | None = None,
    overdue: bool | None = None,
    zone: str | None = None,
    category: str | None = None,
    organisation: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> pagination.Page[TaskView]:
    """Tasks ``user`` may see, newest first, filtered; pass ``next_cursor`` back for more
    (``backend.pagination``). 422 ``unknown_zone``, ``unknown_organisation`` for a filter
    that names none."""
    now = now or utcnow()
    check_zone(session, zone)
    filter_organisation(session, organisation)
    query = _filtered(
        select(Task),
        user,
        now,
        status=status,
        overdue=overdue,
        zone=zone,
        category=category,
        organisation=organisation,
    )
    page = pagination.keyset_page(
        session,
        query,
        LIST,
        (Task.routed_at, Task.id),
        cursor,
        limit,
        parts=(pagination.AT, pagination.ID),
    )
    return pagination.Page(task_views(session, user, page.items), page.next_cursor)


def case_tasks(session: Session, user: User, case_id: uuid.UUID) -> list[Task]:
    """Every task of a case that ``user`` may see, oldest first, events loaded: the case's
    history across organisations (a rejection and its reroute are two tasks)."""
    return list(
        session.execute(
            select(Task)
            .where(Task.case_id == case_id, visible_to(user))
            .order_by(Task.routed_at, Task.id)
        )
        .unique()
        .scalars()
    )


def open_tasks_by_case(
    session: Session, user: User, case_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Task]:
    """The open task of each of these cases (the partial unique index allows one), for lists."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(Task).where(
            Task.case_id.in_(list(case_ids)), Task.status.in_(OPEN), visible_to(user)
        )
    ).scalars()
    return {task.case_id: task for task in rows if task.case_id is not None}


@dataclass(frozen=True)
class TaskDetail(TaskView):
    """A task with its case's reports as the reader sees them (``visibility.case_view``)."""

    reports: list[visibility.ReportView] = field(default_factory=list)


def task_detail(session: Session, user: User, task_id: uuid.UUID) -> TaskDetail:
    """The task with its case's reports and their photos, oldest first; none for a contact's
    task (the contact is read through its own audited route)."""
    task = get_task(session, user, task_id)
    if task.case_id is None:
        return TaskDetail(task)
    case = session.get(Case, task.case_id)
    assert case is not None  # cases are never deleted (the foreign key restricts)
    seen = visibility.case_view(session, user, case)
    return TaskDetail(task, seen.view, seen.as_of, seen.reports)


def successor_of(session: Session, task: Task) -> Task | None:
    """The task a rejection of ``task`` routed its case (or contact) on to."""
    return session.execute(select(Task).where(Task.rerouted_from_id == task.id)).scalar()


def handed_over(session: Session, task: Task) -> tuple[Organisation, TaskEvent] | None:
    """Who passed ``task`` on, and their rejection (its note says why): written for the next
    organisation as much as for the reporters, so the task's reader sees it although the
    rejected task itself is another organisation's."""
    if task.rerouted_from_id is None:
        return None
    row = session.execute(
        select(Organisation, TaskEvent)
        .join(Task, Task.organisation_id == Organisation.id)
        .join(TaskEvent, TaskEvent.task_id == Task.id)
        .where(Task.id == task.rerouted_from_id, TaskEvent.action == "reject")
        .order_by(TaskEvent.at.desc())
    ).first()
    return None if row is None else (row[0], row[1])


def reroute_targets(session: Session, task: Task) -> list[Organisation]:
    """The organisations a rejection of ``task`` may route its case to: the active ones
    other than the task's own (:func:`apply_event` refuses the others)."""
    return list(
        session.execute(
            select(Organisation)
            .where(Organisation.active, Organisation.id != task.organisation_id)
            .order_by(Organisation.name)
        ).scalars()
    )
