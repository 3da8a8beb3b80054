"""Presence events as the phones report them (a field worker's shift start and end, zone enter
and exit, pings). Each row shares its id with its ``sync_items`` ledger row; the
computations over them live in ``backend.presence.log`` and ``values``; and each worker's day as
computed from them (``PresenceDay``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, text
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


class PresenceDay(db.Model):  # type: ignore[name-defined]
    """One worker's computed day (``backend.presence.record.DayRecord``), kept so a day's log
    reads these rows instead of the day's events; ``backend.presence.stored`` writes them.

    ``version`` goes up with every change to the worker's events in the day's event window
    (the push, retention); ``computed`` is the version the record was computed at. A row whose
    ``computed`` is not its ``version`` is dirty: its record (cleared when marked) is never
    served but recomputed from the events first.
    """

    __tablename__ = "presence_days"
    # The relay's pass finds the dirty days by this (a handful among a year of clean ones).
    __table_args__ = (
        Index(
            "ix_presence_days_dirty",
            "day",
            sqlite_where=text("computed IS NULL"),
            postgresql_where=text("computed IS NULL"),
        ),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    computed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    segments: Mapped[str | None] = mapped_column(Text, nullable=True)
    first_seen: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
