"""Social-prevention contacts as the phones report them, and the append-only audit log of
reads of individual contacts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import UTCDateTime, utcnow
from backend.extensions import db


class Contact(db.Model):  # type: ignore[name-defined]
    """A social-prevention contact: enumerated fields only, no names, no text, no photos.

    Its own table so that reading it can be restricted and it can be deleted after its
    retention period without touching reports.
    """

    __tablename__ = "contacts"

    id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sync_items.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    contact_type: Mapped[str] = mapped_column(String(32))
    age_group: Mapped[str] = mapped_column(String(16))
    needs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    referral: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    accuracy_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    # From the zone polygons at push time: aggregates count by zone without keeping a second
    # copy of the location, and the zone survives when the coordinates are dropped.
    zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ContactRead(db.Model):  # type: ignore[name-defined]
    """Who read which contact, when and why.

    Append-only: no route updates or deletes a row, and a database trigger (migration 0006)
    refuses UPDATE and DELETE on both backends. ``contact_id`` is not a foreign key: the row
    outlives the contact it names when retention deletes the contact, and it holds none of the
    contact's content. ``seq`` orders the log and is the admin listing's cursor.
    """

    __tablename__ = "contact_reads"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(index=True)
    reader_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    # Copied at read time: a role or organisation changed later must not rewrite history.
    reader_role: Mapped[str] = mapped_column(String(16))
    reader_organisation: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
