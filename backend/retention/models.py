"""The log of retention runs: what was deleted, counted, never the deleted content."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import UTCDateTime, new_id, utcnow
from backend.extensions import db


class RetentionRun(db.Model):  # type: ignore[name-defined]
    """One run of the retention job.

    ``details`` maps each kind of record (``contacts``, ``presence_pings``,
    ``presence_events``, ``presence_locations``, ``photos``) to ``{"cutoff": ISO time,
    "days": period, "deleted": count}``: enough to show that the policy ran, nothing about
    whom the records concerned.
    """

    __tablename__ = "retention_runs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The "now" the cut-offs were computed from (injected in tests, the clock otherwise).
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="running")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
