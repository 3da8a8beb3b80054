"""Use cases of the delivery outbox: write an event, list and retry deliveries, the inbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload

from backend import pagination
from backend.database import new_id, utcnow
from backend.delivery import wake
from backend.delivery.event import EVENT_TYPES, SUBJECT_PATHS
from backend.delivery.models import DELIVERED, FAILED, PENDING, Delivery
from backend.errors import Conflict, NotFound
from backend.organisations.models import Organisation
from backend.organisations.services import filter_organisation


def enqueue_delivery(
    session: Session,
    *,
    organisation_id: uuid.UUID,
    event_type: str,
    subject_type: str,
    subject_id: uuid.UUID,
) -> Delivery:
    """Record that ``organisation_id`` must be told about ``event_type`` of a subject.

    Call it inside the transaction that creates or changes the subject and commit that
    transaction as usual: the event is delivered if and only if the transaction commits. It
    neither commits nor talks to Redis, so it works while Redis is down; the commit wakes the
    relay (``delivery.wake``), and its poll picks the row up within ``RELAY_INTERVAL_SECONDS``
    should the signal be lost.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; known: {EVENT_TYPES}")
    if subject_type not in SUBJECT_PATHS:
        raise ValueError(f"unknown subject type {subject_type!r}; known: {tuple(SUBJECT_PATHS)}")
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise ValueError(f"no organisation with id {organisation_id}")
    now = utcnow()
    delivery = Delivery(**delivery_values(organisation, event_type, subject_type, subject_id, now))
    session.add(delivery)
    session.flush()
    wake.deliveries_written(session)
    return delivery


def delivery_values(
    organisation: Organisation,
    event_type: str,
    subject_type: str,
    subject_id: uuid.UUID,
    at: datetime,
) -> dict[str, Any]:
    """The columns of a new pending delivery: the one place they are made, for
    :func:`enqueue_delivery` and for routing's multi-row inserts."""
    return {
        "id": new_id(),
        "organisation_id": organisation.id,
        "channel": organisation.channel,
        "event_type": event_type,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "status": PENDING,
        "attempts": 0,
        "created_at": at,
        "updated_at": at,
    }


def inbox_subject_ids(organisation_id: uuid.UUID, subject_type: str = "task") -> Select[uuid.UUID]:
    """Ids of the subjects delivered to an organisation's inbox, for ``Task.id.in_(...)``."""
    return (
        select(Delivery.subject_id)
        .where(
            Delivery.organisation_id == organisation_id,
            Delivery.subject_type == subject_type,
            Delivery.channel == "inbox",
            Delivery.status == DELIVERED,
        )
        .distinct()
    )


def get_delivery(session: Session, delivery_id: uuid.UUID) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"No delivery {delivery_id}.", code="delivery_not_found")
    return delivery


LIST = "deliveries"
"""The delivery list's name in its cursors (``backend.pagination``)."""


def list_deliveries(
    session: Session,
    *,
    status: str | None = None,
    organisation: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> pagination.Page[Delivery]:
    """Deliveries, newest first by (created_at, id); pass ``next_cursor`` back for the next
    page. 422 ``unknown_organisation`` for a filter that names none."""
    query = select(Delivery).options(joinedload(Delivery.organisation))
    if status is not None:
        query = query.where(Delivery.status == status)
    org = filter_organisation(session, organisation)
    if org is not None:
        query = query.where(Delivery.organisation_id == org.id)
    return pagination.keyset_page(
        session,
        query,
        LIST,
        (Delivery.created_at, Delivery.id),
        cursor,
        limit,
        parts=(pagination.AT, pagination.ID),
    )


def retry_delivery(session: Session, delivery_id: uuid.UUID) -> Delivery:
    """Give a failed delivery a fresh round of attempts, through the organisation's current
    channel (the admin may have fixed its webhook or switched it to the inbox)."""
    delivery = get_delivery(session, delivery_id)
    if delivery.status != FAILED:
        raise Conflict(
            f"Only failed deliveries can be retried; this one is {delivery.status}.",
            code="delivery_not_failed",
            errors={"status": [delivery.status]},
        )
    delivery.status = PENDING
    delivery.channel = delivery.organisation.channel
    delivery.attempts = 0
    delivery.next_attempt_at = None
    delivery.lease_expires_at = None
    delivery.updated_at = utcnow()
    wake.deliveries_written(session)
    session.commit()
    return delivery
