"""POST servicerequestupdates: the organisation's system moves its own task for a case through
the same service call as the console (``apply_event``); the same ``update_id`` again changes
nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.cases.models import Case
from backend.cases.reads import visible_cases
from backend.errors import NotFound
from backend.open311 import params
from backend.open311.models import Open311Key, Open311Update
from backend.tasks.models import (
    ACKNOWLEDGED,
    IN_PROGRESS,
    NEW,
    OPEN,
    REJECTED,
    RESOLVED,
    Task,
)
from backend.tasks.schemas import NOTE_MAX
from backend.tasks.services import apply_event

UPDATE_NOTE_MAX = NOTE_MAX
"""An update's description becomes the task event's note: as long as a note in the console."""

UPDATE_STATUSES: dict[str, str] = {
    "OPEN": ACKNOWLEDGED,
    "INVESTIGATING": ACKNOWLEDGED,
    "ACTION_SCHEDULED": IN_PROGRESS,
    "IN_PROGRESS": IN_PROGRESS,
    "CLOSED": RESOLVED,
    "FIXED": RESOLVED,
    "NOT_COUNCILS_RESPONSIBILITY": REJECTED,
}
"""FixMyStreet's update statuses (its "additional states") -> the task status they ask for.
DUPLICATE, NO_FURTHER_ACTION and INTERNAL_REFERRAL are refused: a duplicate is merged by a
supervisor, and handing a case on is a rejection, which routes it on."""

_STEPS: dict[str, tuple[str, ...]] = {NEW: (), ACKNOWLEDGED: ("acknowledge",)}
_STEPS[IN_PROGRESS] = (*_STEPS[ACKNOWLEDGED], "start")
_STEPS[RESOLVED] = (*_STEPS[IN_PROGRESS], "resolve")
_ORDER = (NEW, ACKNOWLEDGED, IN_PROGRESS, RESOLVED)


@dataclass(frozen=True)
class NewUpdate:
    service_request_id: str
    update_id: str
    updated_datetime: datetime
    status: str
    description: str | None


def _steps(current: str, target: str) -> tuple[str, ...]:
    """The task actions that take a task from ``current`` to ``target``: a department's
    clicks in order, so the phones hear every one. Nothing when it is already there or past."""
    if current == target:
        return ()
    if current == RESOLVED:
        pass  # a resolved task stays resolved: fall through to the refusal
    elif target == REJECTED:
        if current in OPEN:
            return ("reject",)
    elif current in _ORDER:
        done = _STEPS[current]
        if _ORDER.index(current) >= _ORDER.index(target):
            return ()
        return _STEPS[target][len(done) :]
    raise params.bad(
        "request_closed",
        "status",
        f"your organisation's task is {current}: it can no longer be moved; "
        "a new report of the same place starts a new service request",
    )


def post_update(session: Session, key: Open311Key, update: NewUpdate) -> list[dict[str, str]]:
    """Move the organisation's task for the case as the update asks, through the same service
    call as the console (``apply_event``), with the update's row in the same transaction. The
    same ``update_id`` again changes nothing (the unique constraint decides). Commits."""
    target = UPDATE_STATUSES.get(update.status.upper())
    if target is None:
        raise params.bad(
            "unsupported_status", "status", f"must be one of {', '.join(UPDATE_STATUSES)}"
        )
    try:
        case_id = uuid.UUID(update.service_request_id)
    except ValueError:
        case_id = None
    visible = (
        case_id is not None
        and session.execute(
            visible_cases(select(Case.id).where(Case.id == case_id), key.user)
        ).first()
    )
    task = None
    if visible:
        task = session.execute(
            select(Task)
            .where(Task.case_id == case_id, Task.organisation_id == key.organisation_id)
            .order_by(Task.routed_at.desc(), Task.id.desc())
            .limit(1)
        ).scalar()
    if task is None or case_id is None:
        raise NotFound("No service request with this id.", code="request_not_found")
    row = Open311Update(
        organisation_id=key.organisation_id,
        key_id=key.id,
        update_id=update.update_id,
        case_id=case_id,
        task_id=task.id,
        status=update.status.upper(),
        description=update.description or "",
        updated_datetime=update.updated_datetime,
        task_status=task.status,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return _replay(session, key, update, case_id)
    steps = _steps(task.status, target)
    for n, action in enumerate(steps):
        last = n == len(steps) - 1
        task = apply_event(
            session, key.user, task.id, action, note=update.description if last else None
        )
    row.task_status = task.status
    session.commit()
    return [{"update_id": str(row.id)}]


def _replay(
    session: Session, key: Open311Key, update: NewUpdate, case_id: uuid.UUID
) -> list[dict[str, str]]:
    stored = session.execute(
        select(Open311Update).where(
            Open311Update.organisation_id == key.organisation_id,
            Open311Update.update_id == update.update_id,
        )
    ).scalar_one()
    session.commit()
    same = (stored.case_id, stored.status, stored.description) == (
        case_id,
        update.status.upper(),
        update.description or "",
    )
    if not same:
        raise params.bad(
            "update_id_reused",
            "update_id",
            "was posted before with other content; nothing was changed",
        )
    return [{"update_id": str(stored.id)}]
