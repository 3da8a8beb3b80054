"""Use cases of tasks: route a case, list and read tasks, record what a department did.

Each change to a task does three things in one transaction: the task row, a ``task_events``
row, and what others must learn of it: the feed status for every report of the case (the
phones) and a delivery to the organisation (its inbox, webhook or email). So a department's
click and the phone's "resolved" commit or roll back together.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy import case as when
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import pagination, roles
from backend.cases import visibility
from backend.cases.assignment import lock_case
from backend.cases.models import OPEN as CASE_OPEN
from backend.cases.models import Case
from backend.database import deferred_reads, new_id, utcnow
from backend.delivery.models import DELIVERED, PENDING, Delivery
from backend.delivery.services import enqueue_delivery
from backend.errors import Conflict, NotFound, Unprocessable
from backend.feed.services import append_item_status, append_item_statuses
from backend.organisations.models import Organisation
from backend.organisations.services import filter_organisation
from backend.photos.models import PhotoUploader
from backend.reference.services import check_zone
from backend.reports.models import Report, ReportPhoto
from backend.routing.rules import CaseFacts, Route, route
from backend.routing.services import active_rule_set
from backend.stats.dirty import mark_dirty
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


ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "acknowledge": ((NEW,), ACKNOWLEDGED),
    "start": ((ACKNOWLEDGED,), IN_PROGRESS),
    "resolve": ((IN_PROGRESS,), RESOLVED),
    "reject": (OPEN, REJECTED),
}
"""action -> (statuses it may leave, status it leads to)."""


def actions_from(status: str) -> tuple[str, ...]:
    """The actions the workflow allows on a task that is ``status``, in ``ACTIONS``' order."""
    return tuple(action for action, (leaves, _) in ACTIONS.items() if status in leaves)


def allowed_actions(user: User, task: Task) -> tuple[str, ...]:
    """What ``user`` may do to ``task`` now: the console shows these as buttons, and
    :func:`apply_event` refuses anything else. ``task`` is one ``user`` may see."""
    if user.role not in roles.TASK_WORKERS:
        return ()
    return actions_from(task.status)


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
    task: Task,
    status: str,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    reports: list[Report] | None = None,
) -> None:
    """Append ``status`` to the feed of every phone that reported the task's case, or of the
    contact's author (nobody when retention has deleted the contact)."""
    if task.case_id is not None:
        found = _reports(session, task.case_id) if reports is None else reports
        append_item_statuses(session, [r.id for r in found], status, note=note, data=data)
    elif task.contact_id is not None:
        append_item_status(session, task.contact_id, status, note=note, data=data)


@dataclass(frozen=True)
class Subject:
    """Something new the push hands to routing: a case it started or a contact with a referral.

    ``location`` is copied into the task for cases only: a contact task carries its zone, and
    the department reads the contact itself (an audited read) for the rest."""

    facts: CaseFacts
    observed_at: datetime
    case_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    location: tuple[float, float] | None = None
    item_ids: tuple[uuid.UUID, ...] = field(default=())
    """The pushed items whose phones hear ``routed`` (the case's reports, or the contact)."""


def route_new(
    session: Session, subjects: Sequence[Subject], received_at: datetime
) -> dict[uuid.UUID, dict[str, Any]]:
    """Route cases and contacts created in the caller's transaction, as one set of inserts.

    No other transaction can see these subjects yet, so none can have a task and the open-task
    indexes cannot collide: the tasks, their ``routed`` events and their deliveries go in as
    three multi-row inserts (no ORM unit of work: it was half the cost of a 50-report push),
    and the rule set and organisations are read once per batch. The caller tells the phones:
    returns item id -> the ``routed`` data (``_routed_data``) for every item in ``item_ids``."""
    if not subjects:
        return {}
    organisations = _organisations(session)
    rule_set = active_rule_set(session)
    tasks: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    by_item: dict[uuid.UUID, dict[str, Any]] = {}
    for subject in subjects:
        decision = route(
            rule_set,
            subject.facts,
            received_at=received_at,
            observed_at=subject.observed_at,
            organisations=organisations,
        )
        organisation = organisations[decision.organisation]
        task_id = new_id()
        tasks.append(
            _task_values(subject.facts, decision, organisation, subject.case_id, subject.location)
            | {
                "id": task_id,
                "contact_id": subject.contact_id,
                "rerouted_from_id": None,
                "routed_at": received_at,
                "resolved_at": None,
                "updated_at": received_at,
            }
        )
        events.append(
            {"id": new_id(), "task_id": task_id, "user_id": None, "action": "routed"}
            | {"note": None, "at": received_at}
        )
        deliveries.append(
            {
                "id": new_id(),
                "organisation_id": organisation.id,
                "channel": organisation.channel,
                "event_type": "task.created",
                "subject_type": "task",
                "subject_id": task_id,
                "status": PENDING,
                "attempts": 0,
                "created_at": received_at,
                "updated_at": received_at,
            }
        )
        data = _routed_data(organisation.slug, task_id, subject.case_id)
        by_item |= dict.fromkeys(subject.item_ids, data)
    session.execute(Task.__table__.insert(), tasks)
    session.execute(TaskEvent.__table__.insert(), events)
    session.execute(Delivery.__table__.insert(), deliveries)
    return by_item


def _task_values(
    facts: CaseFacts,
    decision: Route,
    organisation: Organisation,
    case_id: uuid.UUID | None,
    location: tuple[float, float] | None,
) -> dict[str, Any]:
    """A new task's columns from what routing looked at and decided. Coordinates only for a
    case: a contact's task keeps its zone, never where the person was met."""
    where = location if case_id is not None else None
    return {
        "case_id": case_id,
        "organisation_id": organisation.id,
        "status": NEW,
        "kind": facts.kind,
        "category": facts.category,
        "zone": facts.zone,
        "lat": where[0] if where else None,
        "lon": where[1] if where else None,
        "referral": facts.referral,
        "priority": decision.priority,
        "deadline": decision.deadline,
        "due_at": decision.due_at,
        "rule_id": decision.rule_id,
        "rule_set_version": decision.rule_set_version,
    }


def _routed_data(
    organisation: str, task_id: uuid.UUID, case_id: uuid.UUID | None
) -> dict[str, Any]:
    """What a phone learns with ``routed``: who has it, which task, which case."""
    data = {"organisation": organisation, "task_id": str(task_id)}
    if case_id is not None:
        data["case_id"] = str(case_id)
    return data


def _case_facts(case: Case) -> CaseFacts:
    return CaseFacts(kind=case.kind, category=case.category, zone=case.zone)


def route_existing_case(session: Session, case: Case) -> Task:
    """Route a case that is already stored (after a split, or when its photos arrived or their
    grace period ended); idempotent: a case with an open task keeps it. Caller commits.

    The deadline counts from the case's creation (the push that started it, or the split), so
    waiting for photos never gives the department less time than a case routed at once."""
    case.route_after = None
    return route_case(
        session,
        case.id,
        _case_facts(case),
        received_at=case.created_at,
        observed_at=case.first_at,
        location=(case.lat, case.lon),
    )


def _cases_missing_photos(session: Session, case_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these cases have a report listing a photo its reporter has not uploaded
    (possession: the same bytes from someone else do not count, as in the push's
    ``missing_photos``)."""
    if not case_ids:
        return set()
    return {
        case_id
        for case_id in session.execute(
            select(Report.case_id)
            .join(ReportPhoto, ReportPhoto.report_id == Report.id)
            .outerjoin(
                PhotoUploader,
                and_(
                    PhotoUploader.sha256 == ReportPhoto.sha256,
                    PhotoUploader.user_id == Report.user_id,
                ),
            )
            .where(Report.case_id.in_(list(case_ids)), PhotoUploader.sha256.is_(None))
            .distinct()
        ).scalars()
        if case_id is not None
    }


WAITING_BATCH = 200
"""Cases routed per pass of :func:`route_waiting`; the rest wait for the next pass."""


def route_waiting(session: Session, now: datetime | None = None) -> int:
    """Route the cases waiting for photos whose photos have all arrived or whose grace period
    is over. Commits; returns how many were routed. Run by the relay on every pass, so a
    photo that arrives while its report's push is still in flight costs one relay interval.

    Several relays may run at once: on PostgreSQL each takes the rows it routes with
    ``FOR UPDATE SKIP LOCKED``; on SQLite writers are serialised anyway, and routing a case
    twice is prevented by the open-task index in any case."""
    now = now or utcnow()
    with deferred_reads():
        # Every relay pass asks; on SQLite only a pass with work takes the write lock.
        anything = session.execute(select(Case.id).where(Case.route_after.is_not(None))).first()
        session.commit()
    if anything is None:
        return 0
    waiting = list(
        session.execute(
            select(Case)
            .where(Case.route_after.is_not(None))
            .order_by(Case.route_after)
            .limit(WAITING_BATCH)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    if not waiting:
        session.commit()
        return 0
    early = [c.id for c in waiting if c.route_after is not None and c.route_after > now]
    missing = _cases_missing_photos(session, early)
    routed = 0
    for case in waiting:
        if case.status != CASE_OPEN:
            # Merged away or resolved while waiting: nothing left to route.
            case.route_after = None
        elif case.id not in missing:
            route_existing_case(session, case)
            routed += 1
    session.commit()
    return routed


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
    organisation = organisations[decision.organisation]
    task = Task(**_task_values(facts, decision, organisation, case_id, location))
    task.organisation = organisation
    return _insert_task(session, task, reports=reports)


def _open_task(session: Session, task: Task) -> Task | None:
    """The open task for the same case (or contact) as ``task``."""
    if task.case_id is not None:
        subject = Task.case_id == task.case_id
    else:
        subject = Task.contact_id == task.contact_id
    return session.execute(select(Task).where(subject, Task.status.in_(OPEN))).scalar_one_or_none()


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
        existing = _open_task(session, task)
        if existing is None:  # pragma: no cover - the only unique indexes are the open ones
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
        task,
        "routed",
        data=_routed_data(task.organisation.slug, task.id, task.case_id),
        reports=reports,
    )
    return task


def on_task_resolved(session: Session, task: Task, note: str | None = None) -> None:
    """The one place a resolved task reaches the case and its reporters (in the resolving
    transaction): the case is resolved (``cases.services.resolve_case``, which tells every
    reporter once), and a contact's author hears that the referral was dealt with."""
    from backend.cases.services import resolve_case

    task.resolved_at = task.resolved_at or utcnow()
    data = {"organisation": task.organisation.slug, "task_id": str(task.id)}
    if task.case_id is not None:
        resolve_case(session, task.case_id, at=task.resolved_at, data=data, note=note)
    elif task.contact_id is not None:
        append_item_status(session, task.contact_id, RESOLVED, note=note, data=data)


def close_for_merge(session: Session, case_id: uuid.UUID, into_id: uuid.UUID) -> None:
    """A supervisor merged ``case_id`` into ``into_id``: its open task (if any) is closed as
    ``rejected`` with a ``merged`` event, and the organisation is told, so a department never
    works a duplicate. The reporters already heard ``merged`` from the merge. Caller commits."""
    task = session.execute(
        select(Task)
        .where(Task.case_id == case_id, Task.status.in_(OPEN))
        .with_for_update(of=Task)  # not the joined organisation's row
    ).scalar()
    if task is None:
        return
    task.status = REJECTED
    task.updated_at = utcnow()
    session.add(
        TaskEvent(task_id=task.id, action="merged", note=f"Case merged into case {into_id}.")
    )
    enqueue_delivery(
        session,
        organisation_id=task.organisation_id,
        event_type="task.changed",
        subject_type="task",
        subject_id=task.id,
    )


def _visible(user: User) -> Any:
    """The condition on ``Task`` for what ``user`` may see."""
    if user.role in roles.SEES_ALL:
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
            .where(Task.case_id == case_id, _visible(user))
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
        select(Task).where(Task.case_id.in_(list(case_ids)), Task.status.in_(OPEN), _visible(user))
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


def record_event(
    session: Session,
    user: User,
    task_id: uuid.UUID,
    action: str,
    note: str | None = None,
    reroute_to: str | None = None,
) -> TaskView:
    """Apply a department's action to a task and commit; returns the task as the caller now
    sees it (after a rejection: its history view).

    409 ``invalid_transition`` when the task's status does not allow the action; a rejection
    routes the case on to ``reroute_to`` (422 ``unknown_organisation``) or the fallback.
    """
    task = apply_event(session, user, task_id, action, note, reroute_to)
    # The view is read before the commit: a read after it would begin a new transaction that
    # holds SQLite's write lock (a POST begins IMMEDIATE) until the request ends.
    (view,) = task_views(session, user, [task])
    session.commit()
    return view


def apply_event(
    session: Session,
    user: User,
    task_id: uuid.UUID,
    action: str,
    note: str | None = None,
    reroute_to: str | None = None,
) -> Task:
    """:func:`record_event` in the caller's transaction (the caller commits): an Open311
    update that resolves a new task is three actions, and they commit together with the
    update's own row or not at all."""
    found = session.execute(select(Task.case_id).where(Task.id == task_id, _visible(user))).first()
    if found is None:
        raise NotFound("No task with this id.", code="task_not_found")
    if found.case_id is not None:
        # The case's cell locks before the task's row lock: the order a merge takes them in
        # (cells, then the merged case's task), so the two never deadlock on PostgreSQL.
        lock_case(session, found.case_id)
    task = session.execute(
        select(Task).where(Task.id == task_id).with_for_update(of=Task)
    ).scalar_one()
    allowed_from, target = ACTIONS[action]
    if action not in actions_from(task.status):
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
    # The department's note goes to the reporters' phones with every status ("Vi tar den",
    # "Tömd 18:05": issue 22); before, only a rejection's note did.
    if target == RESOLVED:
        on_task_resolved(session, task, note=note)
    else:
        _tell_reporters(
            session,
            task,
            target,
            note=note,
            data={"organisation": task.organisation.slug, "task_id": str(task.id)},
        )
    if successor_org is not None:
        # Close the old task in the database before the new one claims the open slot.
        session.flush()
        successor = Task(
            case_id=task.case_id,
            contact_id=task.contact_id,
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
    mark_dirty(session, [], task.updated_at)
    return task
