"""Photo rows: a photo by its SHA-256 and status, an unfinished tus upload, who sent which bytes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import UTCDateTime, new_id, utcnow
from backend.extensions import db

PHOTO_STATUSES = ("processing", "ready", "failed")


class Photo(db.Model):  # type: ignore[name-defined]
    """A photo, addressed by the SHA-256 of the bytes the phone sent.

    Only sanitised derivatives are ever served; the row exists from the moment the upload's
    whole-file hash checked out. Who may use it is not this row's business but
    ``photo_uploaders``': knowing a hash is not possessing the photo. ``uploaded_by`` and
    ``created_at`` are the first upload's and are never shown to a later uploader.
    """

    __tablename__ = "photos"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="processing", index=True)
    failure_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Of the served (sanitised, upright) full-size image; None until processed.
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    full_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    thumb_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    phash: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Upload(db.Model):  # type: ignore[name-defined]
    """A tus 1.0 resumable upload in progress; its bytes live in storage ``uploads/<id>``."""

    __tablename__ = "uploads"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    # Upload-Metadata as sent (decoded), e.g. filename; kept for support, never trusted.
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class PhotoUploader(db.Model):  # type: ignore[name-defined]
    """Possession: ``user_id`` has sent the bytes of photo ``sha256`` (a PUT or a finished tus
    upload), at ``created_at``.

    A report attaches a photo only when its author possesses it: until then the photo is in
    the push's ``missing_photos``, whoever else has sent the same bytes, so listing a hash
    learned elsewhere neither tells that the photo exists nor shows it to a department. The
    row goes with the photo (retention) and with the user.
    """

    __tablename__ = "photo_uploaders"

    sha256: Mapped[str] = mapped_column(
        ForeignKey("photos.sha256", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
