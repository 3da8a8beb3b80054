"""The department workflow: list and read tasks, record what a department did.

Each change to a task does three things in one transaction: the task row, a ``task_events``
row, and what others must learn of it: the feed status for every report of the case (the
phones) and a delivery to the organisation (its inbox, webhook or email). So a department's
click and the phone's "resolved" commit or roll back together. How a task comes to be (routing,
rerouting after a rejection) is ``routing.services``.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import roles
from backend.cases.assignment import lock_case
from backend.cases.services import resolve_case
from backend.database import utcnow
from backend.errors import Conflict, NotFound, Unprocessable
from backend.feed.services import append_item_status
from backend.organisations.models import Organisation
from backend.routing import services as routing
from backend.routing import writer
from backend.stats.dirty import mark_dirty
from backend.tasks.models import (
    ACKNOWLEDGED,
    IN_PROGRESS,
    NEW,
    OPEN,
    REJECTED,
    RESOLVED,
    Task,
)
from backend.tasks.reads import TaskView, task_views, visible_to
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


def on_task_resolved(session: Session, task: Task, note: str | None = None) -> None:
    """The one place a resolved task reaches the case and its reporters (in the resolving
    transaction): the case is resolved (``cases.services.resolve_case``, which tells every
    reporter once), and a contact's author hears that the referral was dealt with."""
    task.resolved_at = task.resolved_at or utcnow()
    data = {"organisation": task.organisation.slug, "task_id": str(task.id)}
    if task.case_id is not None:
        resolve_case(session, task.case_id, at=task.resolved_at, data=data, note=note)
    elif task.contact_id is not None:
        append_item_status(session, task.contact_id, RESOLVED, note=note, data=data)


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


def _check_action(task: Task, action: str, reroute_to: str | None) -> str:
    """The status ``action`` leads ``task`` to: 409 ``invalid_transition`` when its status does
    not allow it, 422 ``reroute_needs_reject`` for a destination without a rejection."""
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
    return target


def _reroute_target(session: Session, task: Task, reroute_to: str | None) -> Organisation:
    """Where a rejection sends the case on: ``reroute_to`` or the fallback, active and not
    the rejecting organisation (422 ``unknown_organisation``, ``reroute_to_self``)."""
    slug = reroute_to or FALLBACK_ORGANISATION
    organisation = session.execute(
        select(Organisation).where(Organisation.slug == slug, Organisation.active)
    ).scalar()
    if organisation is None:
        raise Unprocessable(
            f"No active organisation {slug!r} to route the case to.",
            code="unknown_organisation",
            errors={"reroute_to": [f"unknown organisation {slug!r}"]},
        )
    if organisation.id == task.organisation_id:
        raise Unprocessable(
            "A task cannot be rerouted to the organisation rejecting it.",
            code="reroute_to_self",
            errors={"reroute_to": ["must name another organisation"]},
        )
    return organisation


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
    found = session.execute(
        select(Task.case_id).where(Task.id == task_id, visible_to(user))
    ).first()
    if found is None:
        raise NotFound("No task with this id.", code="task_not_found")
    if found.case_id is not None:
        # The case's cell locks before the task's row lock: the order a merge takes them in
        # (cells, then the merged case's task), so the two never deadlock on PostgreSQL.
        lock_case(session, found.case_id)
    task = session.execute(
        select(Task).where(Task.id == task_id).with_for_update(of=Task)
    ).scalar_one()
    target = _check_action(task, action, reroute_to)
    successor_org = _reroute_target(session, task, reroute_to) if action == "reject" else None
    writer.change_task(session, task, target, action, user_id=user.id, note=note)
    # The department's note goes to the reporters' phones with every status ("Vi tar den",
    # "Tömd 18:05": issue 22); before, only a rejection's note did.
    if target == RESOLVED:
        on_task_resolved(session, task, note=note)
    else:
        writer.tell_reporters(
            session,
            task,
            target,
            note=note,
            data={"organisation": task.organisation.slug, "task_id": str(task.id)},
        )
    if successor_org is not None:
        # Close the old task in the database before the new one claims the open slot.
        session.flush()
        routing.reroute(session, task, successor_org, user.id)
    mark_dirty(session, [], task.updated_at)
    return task
