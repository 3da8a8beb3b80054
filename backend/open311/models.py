"""Open311 API keys and the updates organisations' systems posted with them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.database import UTCDateTime, new_id, utcnow
from backend.extensions import db
from backend.organisations.models import Organisation
from backend.users.models import User


class Open311Key(db.Model):  # type: ignore[name-defined]
    """An organisation's key. Only its SHA-256 is stored; the key itself is shown once.

    Each key acts through a user of its own (role ``department``, named after the key), so
    what its system does is done, audited and seen exactly as a department user's clicks
    would be; revoking the key deactivates that user."""

    __tablename__ = "open311_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), unique=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the key, so an operator can tell keys apart in a list.
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    user: Mapped[User] = relationship(lazy="joined")


class Open311Update(db.Model):  # type: ignore[name-defined]
    """A ``POST servicerequestupdates`` an organisation's system sent, keyed by its own
    ``update_id``: the unique constraint makes a resend change nothing."""

    __tablename__ = "open311_updates"
    __table_args__ = (UniqueConstraint("organisation_id", "update_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    key_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("open311_keys.id", ondelete="RESTRICT"), index=True
    )
    update_id: Mapped[str] = mapped_column(String(100))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    # The time the organisation's system says the update happened (its clock, kept as sent).
    updated_datetime: Mapped[datetime] = mapped_column(UTCDateTime())
    # The task's status after the update: what a resend is answered with.
    task_status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
