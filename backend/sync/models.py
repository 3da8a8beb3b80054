"""The sync ledger: one row per item a phone ever pushed, whatever its type."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import UTCDateTime, utcnow
from backend.extensions import db


class SyncItem(db.Model):  # type: ignore[name-defined]
    """Exactly once: the phone's item id is the primary key across reports, contacts and
    presence events; ``content_hash`` tells a resend (same hash) from a conflict.

    The clock facts live here because every type has them: ``captured_at_raw`` as the phone
    sent it, ``captured_at`` parsed, ``clock_skew_s`` of the batch (server time minus the
    device's ``sent_at``) and ``occurred_at``, the corrected time used everywhere else.
    """

    __tablename__ = "sync_items"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    device_id: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    captured_at_raw: Mapped[str] = mapped_column(String(64))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime())
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    clock_skew_s: Mapped[float] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The latest status sent to the phone through the feed (received, merged, routed ...).
    status: Mapped[str] = mapped_column(String(16), default="received")
