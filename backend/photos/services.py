"""Photo use cases: store an upload once, serve only sanitised images to those allowed.

The original bytes are stored privately (``raw/<sha256>``) only until the media job has made
the sanitised derivatives (``full/`` and ``thumb/``); they are never served.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from backend.errors import (
    BadRequest,
    Conflict,
    DomainError,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
)
from backend.photos.models import Photo
from backend.reports.models import ReportPhoto
from backend.users.models import User
from media.errors import MediaError
from media.storage import FileStorage, Storage, key
from media.validate import Limits, validate

log = logging.getLogger(__name__)

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
SIZES = ("full", "thumb")
SERVED_CONTENT_TYPE = "image/jpeg"
VIEWER_ROLES = ("supervisor", "admin")
"""Roles that may see every photo (corrections, follow-up); others only their own."""


def limits_from(config: Mapping[str, Any]) -> Limits:
    return Limits(
        max_bytes=config["MAX_PHOTO_BYTES"],
        max_pixels=config["MAX_PHOTO_PIXELS"],
        max_jpeg_scans=config["MAX_JPEG_SCANS"],
    )


def storage_from(config: Mapping[str, Any]) -> Storage:
    return FileStorage(config["MEDIA_ROOT"])


def check_sha256(value: str) -> str:
    """The digest as given when it is 64 lower-case hex digits (the one spelling the API
    document states and the push uses), or 422 ``invalid_sha256``."""
    if not SHA256_HEX.fullmatch(value):
        raise Unprocessable(
            "A photo is named by the SHA-256 of its bytes: 64 lower-case hexadecimal digits.",
            code="invalid_sha256",
            errors={"sha256": ["must be 64 lower-case hexadecimal digits"]},
        )
    return value


def media_error(error: MediaError) -> DomainError:
    """The HTTP-side error for a photo the pipeline refuses."""
    cls: type[DomainError] = {413: PayloadTooLarge, 415: UnsupportedMediaType}.get(
        error.status, Unprocessable
    )
    return cls(error.message, code=error.code, errors={"photo": [error.message]})


def check_whole_file(sha256: str, data: bytes) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise BadRequest(
            "The bytes received do not have the SHA-256 the photo is named by; "
            "nothing was stored. Send the photo again.",
            code="sha256_mismatch",
            errors={"sha256": [f"expected {sha256}, received bytes hash to {actual}"]},
        )


@dataclass(frozen=True)
class Stored:
    photo: Photo
    created: bool


def store_photo(
    session: Session,
    storage: Storage,
    sha256: str,
    data: bytes,
    uploader_id: Any,
    limits: Limits,
    enqueue: Callable[[str], bool],
) -> Stored:
    """Store a whole uploaded photo once; the same bytes again change nothing.

    The hash is checked first, then the bytes are checked without decoding them (format from
    the bytes, size and pixel caps, structure: media.validate), so a refused file is never
    stored. The one decode is the media job's, which fails the photo (``failed`` with the
    reason) if the image data turns out broken. The photo is queued for sanitising; if Redis
    is down it stays ``processing`` and the sweep queues it.
    """
    check_whole_file(sha256, data)
    existing = session.get(Photo, sha256)
    if existing is not None:
        return Stored(existing, created=False)
    # End the read before decoding: on SQLite every transaction here holds the write lock.
    session.commit()
    try:
        info = validate(data, limits)
    except MediaError as exc:
        raise media_error(exc) from exc
    # The raw file goes first: a row always has its bytes, and identical bytes written twice
    # by two concurrent uploads of the same photo leave the same file.
    storage.put(key("raw", sha256), data)
    photo = Photo(
        sha256=sha256,
        size=len(data),
        content_type=info.content_type,
        status="processing",
        uploaded_by=uploader_id,
    )
    try:
        with session.begin_nested():
            session.add(photo)
    except IntegrityError:
        # Someone else stored the same photo between our read and our insert.
        session.rollback()
        existing = session.get(Photo, sha256)
        if existing is None:  # pragma: no cover - the constraint that failed is the PK
            raise
        return Stored(existing, created=False)
    session.commit()
    enqueue(sha256)
    return Stored(photo, created=True)


def get_photo(session: Session, sha256: str) -> Photo:
    photo = session.get(Photo, check_sha256(sha256))
    if photo is None:
        raise NotFound("No photo with this SHA-256.", code="photo_not_found")
    return photo


def can_view(user: User, photo: Photo) -> bool:
    """Who may see a photo: its uploader, supervisors/admins, and the department users of an
    organisation holding a task (not one it rejected) for a case a report of which lists it.
    """
    if user.role in VIEWER_ROLES or photo.uploaded_by == user.id:
        return True
    if user.role != "department":
        return False
    from backend.reports.models import Report, ReportPhoto
    from backend.tasks.models import REJECTED, Task

    session = object_session(photo)
    if session is None:  # pragma: no cover - photos come from get_photo's session
        return False
    return bool(
        session.execute(
            select(
                exists().where(
                    ReportPhoto.sha256 == photo.sha256,
                    Report.id == ReportPhoto.report_id,
                    Task.case_id == Report.case_id,
                    Task.organisation_id == user.organisation_id,
                    Task.status != REJECTED,
                )
            )
        ).scalar()
    )


def visible_photo(session: Session, user: User, sha256: str) -> Photo:
    photo = get_photo(session, sha256)
    if not can_view(user, photo):
        # 404 rather than 403: whether a photo exists is not for everyone to learn.
        raise NotFound("No photo with this SHA-256.", code="photo_not_found")
    return photo


def served_image(
    session: Session, storage: Storage, user: User, sha256: str, size: str
) -> tuple[Photo, bytes]:
    """The sanitised image of ``size`` for ``user``; never the original bytes."""
    photo = visible_photo(session, user, sha256)
    if photo.status == "processing":
        raise Conflict(
            "The photo has arrived and is being sanitised; ask again shortly.",
            code="photo_processing",
            headers={"Retry-After": "5"},
        )
    if photo.status == "failed":
        reason = photo.failure_reason or "processing_failed"
        raise Unprocessable(
            "The photo could not be processed and is not available.",
            code="photo_failed",
            errors={"photo": [reason]},
        )
    return photo, storage.get(key(size, photo.sha256))


def unprocessed(session: Session) -> list[str]:
    """Photos still waiting for the media job (queued, lost with Redis, or mid-crash)."""
    return list(
        session.execute(
            select(Photo.sha256).where(Photo.status == "processing").order_by(Photo.created_at)
        ).scalars()
    )


def report_photos(
    session: Session, report_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[str, str]]]:
    """The photos each report lists, in order, with their state: ``ready``, ``processing``,
    ``failed`` or ``missing`` (listed by the report, not uploaded yet)."""
    found: dict[uuid.UUID, list[tuple[str, str]]] = {r: [] for r in report_ids}
    if not report_ids:
        return found
    rows = session.execute(
        select(ReportPhoto.report_id, ReportPhoto.sha256, Photo.status)
        .outerjoin(Photo, Photo.sha256 == ReportPhoto.sha256)
        .where(ReportPhoto.report_id.in_(list(report_ids)))
        .order_by(ReportPhoto.report_id, ReportPhoto.position)
    )
    for report_id, sha256, status in rows:
        found[report_id].append((sha256, status or "missing"))
    return found
