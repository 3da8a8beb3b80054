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
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
