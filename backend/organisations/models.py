"""The organisation row: slug, name and delivery channel settings (inbox, webhook, email)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import UTCDateTime, new_id, utcnow
from backend.extensions import db


class Organisation(db.Model):  # type: ignore[name-defined]
    """A förvaltning, the police, a property owner, or the partnership itself."""

    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # How tasks reach the organisation: inbox (pulled through the API), webhook or email.
    channel: Mapped[str] = mapped_column(String(16), default="inbox")
    # Where the webhook channel POSTs, and the Standard Webhooks secret ("whsec_<base64>") it
    # signs with: write-only through the API, never returned.
    webhook_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    webhook_secret: Mapped[str | None] = mapped_column(String(200), default=None)
    # Where the email channel sends its thin notices (a shared mailbox, not a person's).
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
