"""The RQ job that delivers outbox rows. It takes delivery ids and nothing else: one
organisation's inbox rows (delivered together, in one transaction), or one webhook or e-mail row.

The row is the truth: a delivered or failed row is never sent again, and a row whose attempt
holds a live lease is left to that attempt, so a job that runs twice (a relay re-enqueued it, a
lost worker's job was handed out again) changes nothing the second time. Webhook and email
attempts hold no database lock while they talk to the receiver: the attempt is recorded and
committed first (attempts + 1, a lease), the outcome after.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.database import among, utcnow
from backend.delivery.channels import CHANNELS, IN_TRANSACTION, Destination
from backend.delivery.event import Event
from backend.delivery.models import DELIVERED, ENQUEUED, FAILED, PENDING, Delivery
from backend.delivery.webhook import DeliveryError, DestinationRefused
from backend.extensions import db

log = logging.getLogger(__name__)


def backoff_seconds(
    attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Delay before attempt ``attempt + 1``: exponential with "equal jitter" (AWS Architecture
    Blog, "Exponential Backoff And Jitter", 2015). Half the step is fixed so retries never
    bunch at zero; half is random so a recovering receiver is not hit by every delivery at
    the same moment. Our own five lines rather than tenacity or backoff: those drive retry
    loops inside one process, while this schedule is stored in the database and survives
    restarts."""
    step = min(cap, base * 2 ** max(attempt - 1, 0))
    return step / 2 + rand() * step / 2


def deliver(*delivery_ids: str) -> str:
    """Deliver outbox rows (the RQ job); returns the row's status afterwards (one row) or how
    many rows it delivered. Runs in the worker's app context (``flask --app wsgi worker``)."""
    ids = [uuid.UUID(i) for i in delivery_ids]
    together, alone = _deliver_together(db.session(), ids, current_app.config)
    if len(ids) > 1:
        return f"{together} delivered together, {len(alone)} alone"
    if together:
        return DELIVERED
    if alone:
        return alone[0]
    row = db.session.get(Delivery, ids[0])  # delivered or failed before: nothing to do
    status = row.status if row is not None else "missing"
    db.session.rollback()
    return status


def _deliver_together(session: Session, ids: list[uuid.UUID], config: Any) -> tuple[int, list[str]]:
    """Deliver in-transaction (inbox) rows with one UPDATE: their delivery is that change, so
    the job's per-row work is a few microseconds. The UPDATE locks what it changes, so a
    duplicate job running at the same time (both take the rows in the same scan order) waits
    for it, never deadlocks, and then finds the rows delivered; no locking read comes first
    (on PostgreSQL that wrote a row lock, one more WAL record per row).
    A row of another channel (a webhook or e-mail row, alone in its job; or an inbox batch's
    row whose channel an admin's retry switched) goes through :func:`_deliver` after, which
    locks and checks it again. Returns how many were delivered together and the statuses of
    those done alone."""
    now = utcnow()
    together = session.execute(
        update(Delivery)
        .where(
            among(session, Delivery.id, ids),
            Delivery.status.not_in((DELIVERED, FAILED)),
            Delivery.channel.in_(IN_TRANSACTION),
        )
        .values(
            status=DELIVERED,
            attempts=Delivery.attempts + 1,
            delivered_at=now,
            next_attempt_at=None,
            lease_expires_at=None,
            updated_at=now,
        )
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    ).all()
    alone: list[uuid.UUID] = []
    if len(together) < len(ids):
        alone = list(
            session.execute(
                select(Delivery.id)
                .where(
                    among(session, Delivery.id, ids),
                    Delivery.status.not_in((DELIVERED, FAILED)),
                    Delivery.channel.not_in(IN_TRANSACTION),
                )
                .order_by(Delivery.id)
            ).scalars()
        )
    session.commit()
    return len(together), [_deliver(session, delivery_id, config) for delivery_id in alone]


def _locked(session: Session, delivery_id: uuid.UUID) -> Delivery | None:
    # FOR UPDATE on PostgreSQL waits for a relay that has pushed this job but not yet
    # committed; on SQLite BEGIN IMMEDIATE does the same.
    return session.execute(
        select(Delivery).where(Delivery.id == delivery_id).with_for_update()
    ).scalar_one_or_none()


def _deliver(session: Session, delivery_id: uuid.UUID, config: Any) -> str:
    row = _locked(session, delivery_id)
    now = utcnow()
    if row is None or row.status in (DELIVERED, FAILED) or _leased(row, now):
        session.rollback()
        return row.status if row is not None else "missing"
    channel = CHANNELS.get(row.channel)
    row.attempts += 1
    if channel is None:
        _finish(row, f"unknown channel {row.channel!r}", permanent=True, config=config)
        session.commit()
        return row.status
    organisation = row.organisation
    destination = Destination(
        organisation.slug, organisation.webhook_url, organisation.webhook_secret, organisation.email
    )
    event = Event.of(row, config["PUBLIC_BASE_URL"])
    if channel.in_transaction:
        channel.send(event, destination, config)
        _finish(row, None, permanent=False, config=config)
        session.commit()
        return row.status

    attempt = row.attempts
    row.status = ENQUEUED
    row.lease_expires_at = now + timedelta(seconds=config["DELIVERY_LEASE_SECONDS"])
    session.commit()

    error: str | None = None
    permanent = False
    try:
        channel.send(event, destination, config)
    except DestinationRefused as exc:
        error, permanent = f"refused: {exc}", True
    except DeliveryError as exc:
        error = str(exc)
    except Exception as exc:  # a bug must not lose the delivery: record it, retry later
        log.exception("delivery %s: unexpected error", delivery_id)
        error = f"internal error: {type(exc).__name__}"

    row = _locked(session, delivery_id)
    if row is None or row.status in (DELIVERED, FAILED):
        session.rollback()
        return row.status if row is not None else "missing"
    if error is not None and row.attempts != attempt:
        # The lease ran out and a newer attempt owns the row: its outcome counts, not ours.
        session.rollback()
        return row.status
    _finish(row, error, permanent=permanent, config=config)
    session.commit()
    log.info("delivery %s attempt %s: %s", delivery_id, attempt, error or "delivered")
    return row.status


def _leased(row: Delivery, now: datetime) -> bool:
    """Another attempt is running (a duplicate job): its outcome will count, not ours. A lease
    that ran out means that attempt's worker died; the sweep hands the row back, or this job
    takes it."""
    lease = row.lease_expires_at
    return row.status == ENQUEUED and lease is not None and lease > now


def _finish(row: Delivery, error: str | None, *, permanent: bool, config: Any) -> None:
    now = utcnow()
    row.lease_expires_at = None
    if error is None:
        row.status = DELIVERED
        row.delivered_at = now
        row.next_attempt_at = None
        return
    row.last_error = error[:500]
    if permanent or row.attempts >= config["DELIVERY_MAX_ATTEMPTS"]:
        row.status = FAILED
        row.next_attempt_at = None
        return
    row.status = PENDING
    delay = backoff_seconds(
        row.attempts,
        config["DELIVERY_BACKOFF_BASE_SECONDS"],
        config["DELIVERY_BACKOFF_MAX_SECONDS"],
    )
    row.next_attempt_at = now + timedelta(seconds=delay)
