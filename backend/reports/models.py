"""What the phones report about a place: litter and damage reports and the photos they list.
Each report shares its id with its ``sync_items`` ledger row. (Contacts live in
``backend.contacts.models``, presence events in ``backend.presence.models``.)"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import UTCDateTime
from backend.extensions import db


class Report(db.Model):  # type: ignore[name-defined]
    __tablename__ = "reports"

    id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sync_items.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(ForeignKey("categories.code", ondelete="RESTRICT"))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    # The corrected capture time (copied from the ledger) that case merging searches by.
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # Every report belongs to exactly one case, set in the push transaction that stores it;
    # nullable only because the row is written before a correction moves it.
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    # Whether it joined a case that already existed, and why (``sync.dedup.Decision.as_dict``,
    # or a supervisor's correction), so a supervisor can see why reports were merged.
    joined: Mapped[bool] = mapped_column(Boolean, default=False)
    merge_reason: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ReportPhoto(db.Model):  # type: ignore[name-defined]
    """A photo a report lists; the bytes arrive separately and land in ``photos``."""

    __tablename__ = "report_photos"

    report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)
