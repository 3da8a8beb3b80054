"""Presence events as the phones report them (a field worker's shift start and end, zone enter
and exit, pings). Each row shares its id with its ``sync_items`` ledger row; the
computations over them live in ``backend.presence.log`` and ``values``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import UTCDateTime
from backend.extensions import db


class PresenceEvent(db.Model):  # type: ignore[name-defined]
    __tablename__ = "presence_events"

    id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sync_items.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    event: Mapped[str] = mapped_column(String(16))
    zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    accuracy_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
