"""The delivery outbox: one row per event an organisation must receive.

The row is written in the caller's transaction (``services.enqueue_delivery``), so a task and
the intent to deliver it commit or roll back together. The same row then carries the delivery's
state: the relay moves it to RQ (``enqueued``), a job delivers it (``delivered``) or, after the
last attempt, gives up (``failed``, shown to admins). The row's id is the RQ job id and the
Standard Webhooks ``webhook-id``.

The row holds ids only: what is sent is built from its columns (``event.Event``), so no
personal data can reach a receiver by way of a payload.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.database import UTCDateTime, new_id, utcnow
from backend.extensions import db
from backend.organisations.models import Organisation

PENDING = "pending"
ENQUEUED = "enqueued"
DELIVERED = "delivered"
FAILED = "failed"
STATUSES = (PENDING, ENQUEUED, DELIVERED, FAILED)


class Delivery(db.Model):  # type: ignore[name-defined]
    """One event for one organisation, and how far its delivery got."""

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'enqueued', 'delivered', 'failed')", name="status"),
        # The relay's query: due pending rows, oldest first.
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_deliveries_subject", "subject_type", "subject_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    # The organisation's channel when the event was written (an admin's retry takes the
    # current one).
    channel: Mapped[str] = mapped_column(String(16))
    event_type: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[uuid.UUID] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    # None: due now. Set by a failed attempt to the end of its backoff.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # While an attempt runs: when the relay may presume its worker dead.
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The RQ job carrying the row while it is enqueued (several inbox rows share one job);
    # None: the row's own id (rows enqueued before jobs carried batches).
    job_id: Mapped[str | None] = mapped_column(String(64), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship()
