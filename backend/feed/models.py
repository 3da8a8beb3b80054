"""The pull feed: per-stream sequences of status changes a phone reads with a cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import UTCDateTime, utcnow
from backend.extensions import db


class FeedStream(db.Model):  # type: ignore[name-defined]
    """The counter of one stream: a user's id, or ``reference`` for reference data.

    Writers increment it with an upsert (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``)
    inside their own transaction, which locks the row until commit: writes to one stream are
    serialised, so commit order equals sequence order and a reader never sees seq 11 before
    seq 10.
    """

    __tablename__ = "feed_streams"

    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)


class Change(db.Model):  # type: ignore[name-defined]
    """One status change: ``subject`` is the item id (or the reference data set's name)."""

    __tablename__ = "feed_changes"

    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
