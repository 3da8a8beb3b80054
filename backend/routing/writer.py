"""The one writer of new tasks' rows: the task, its ``routed`` event, the organisation's
delivery, and the phones' ``routed`` status. ``routing.services`` decides what to route; this
module writes it (many at once for a push, one for a split, a photo release or a reroute)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.database import new_id, utcnow
from backend.delivery import wake
from backend.delivery.models import Delivery
from backend.delivery.services import delivery_values, enqueue_delivery
from backend.feed.services import append_item_status, append_item_statuses
from backend.organisations.models import Organisation
from backend.reports.models import Report
from backend.routing.rules import CaseFacts, Route
from backend.tasks.models import NEW, OPEN, Task, TaskEvent


def case_reports(session: Session, case_id: uuid.UUID) -> list[Report]:
    return list(
        session.execute(
            select(Report).where(Report.case_id == case_id).order_by(Report.occurred_at)
        ).scalars()
    )


def tell_reporters(
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
        found = case_reports(session, task.case_id) if reports is None else reports
        append_item_statuses(session, [r.id for r in found], status, note=note, data=data)
    elif task.contact_id is not None:
        append_item_status(session, task.contact_id, status, note=note, data=data)


def task_rows(
    values: dict[str, Any],
    organisation: Organisation,
    at: datetime,
    user_id: uuid.UUID | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The one writer of a new task's rows: the task (``values`` from :func:`_task_values`,
    or a rerouted task's), its ``routed`` event and the organisation's ``task.created``
    delivery."""
    task_id = new_id()
    task = (
        {
            "contact_id": None,
            "rerouted_from_id": None,
            "resolved_at": None,
        }
        | values
        | {"id": task_id, "routed_at": at, "updated_at": at}
    )
    event = {"id": new_id(), "task_id": task_id, "user_id": user_id, "action": "routed"} | {
        "note": None,
        "at": at,
    }
    delivery = delivery_values(organisation, "task.created", "task", task_id, at)
    return task, event, delivery


def task_values(
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


def routed_data(organisation: str, task_id: uuid.UUID, case_id: uuid.UUID | None) -> dict[str, Any]:
    """What a phone learns with ``routed``: who has it, which task, which case."""
    data = {"organisation": organisation, "task_id": str(task_id)}
    if case_id is not None:
        data["case_id"] = str(case_id)
    return data


def _open_task(session: Session, values: Mapping[str, Any]) -> Task | None:
    """The open task for the same case (or contact) as the task ``values`` describe."""
    if values.get("case_id") is not None:
        subject = Task.case_id == values["case_id"]
    else:
        subject = Task.contact_id == values["contact_id"]
    return session.execute(select(Task).where(subject, Task.status.in_(OPEN))).scalar_one_or_none()


def insert_task(
    session: Session,
    values: dict[str, Any],
    organisation: Organisation,
    user_id: uuid.UUID | None = None,
    reports: list[Report] | None = None,
) -> Task:
    """Insert one open task with its event, delivery and the phones' ``routed``; the open
    task already there if a concurrent routing of the same case won the unique index."""
    task_row, event_row, delivery_row = task_rows(values, organisation, utcnow(), user_id)
    try:
        with session.begin_nested():
            session.execute(Task.__table__.insert(), [task_row])
    except IntegrityError:
        existing = _open_task(session, values)
        if existing is None:  # pragma: no cover - the only unique indexes are the open ones
            raise
        return existing
    session.execute(TaskEvent.__table__.insert(), [event_row])
    session.execute(Delivery.__table__.insert(), [delivery_row])
    wake.deliveries_written(session)
    task = session.get_one(Task, task_row["id"])
    tell_reporters(
        session,
        task,
        "routed",
        data=routed_data(organisation.slug, task.id, task.case_id),
        reports=reports,
    )
    return task


def change_task(
    session: Session,
    task: Task,
    status: str,
    action: str,
    user_id: uuid.UUID | None = None,
    note: str | None = None,
) -> None:
    """Move ``task`` (locked by the caller) to ``status``: its event and the organisation's
    ``task.changed`` delivery, in the caller's transaction. The phones are told by the caller
    (what they hear depends on the action)."""
    task.status = status
    task.updated_at = utcnow()
    session.add(TaskEvent(task_id=task.id, user_id=user_id, action=action, note=note))
    enqueue_delivery(
        session,
        organisation_id=task.organisation_id,
        event_type="task.changed",
        subject_type="task",
        subject_id=task.id,
    )
