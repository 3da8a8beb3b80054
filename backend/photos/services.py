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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import roles
from backend.cases.visibility import attached_visible
from backend.database import utcnow
from backend.errors import (
    BadRequest,
    Conflict,
    DomainError,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
)
from backend.photos.models import Photo, PhotoUploader
from backend.photos.possession import reporter_possesses
from backend.reports.models import Report, ReportPhoto
from backend.users.models import User
from media.errors import MediaError
from media.storage import Storage, key
from media.validate import Limits, validate

log = logging.getLogger(__name__)

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
SIZES = ("full", "thumb")
SERVED_CONTENT_TYPE = "image/jpeg"
"""Roles that may see every photo (corrections, follow-up); others only their own."""


def limits_from(config: Mapping[str, Any]) -> Limits:
    return Limits(
        max_bytes=config["MAX_PHOTO_BYTES"],
        max_pixels=config["MAX_PHOTO_PIXELS"],
        max_jpeg_scans=config["MAX_JPEG_SCANS"],
    )


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
class PhotoView:
    """A photo as one reader sees it (the attributes of ``PhotoSchema``).

    An uploader sees their own upload: ``created_at`` is when they sent the bytes, and the
    answer to the upload that made them a possessor reads as a first upload would, whoever
    sent the same bytes before, so nothing of another uploader's record shows."""

    sha256: str
    size: int
    content_type: str
    status: str
    failure_reason: str | None
    width: int | None
    height: int | None
    phash: str | None
    created_at: datetime
    processed_at: datetime | None


def photo_view(photo: Photo, possession: PhotoUploader | None = None) -> PhotoView:
    return PhotoView(
        sha256=photo.sha256,
        size=photo.size,
        content_type=photo.content_type,
        status=photo.status,
        failure_reason=photo.failure_reason,
        width=photo.width,
        height=photo.height,
        phash=photo.phash,
        created_at=possession.created_at if possession is not None else photo.created_at,
        processed_at=photo.processed_at,
    )


def _as_first_upload(photo: Photo, possession: PhotoUploader) -> PhotoView:
    """What the upload that stored ``photo`` answered: received, sanitising queued."""
    return replace(
        photo_view(photo, possession),
        status="processing",
        failure_reason=None,
        width=None,
        height=None,
        phash=None,
        processed_at=None,
    )


@dataclass(frozen=True)
class StoredPhoto:
    photo: PhotoView
    created: bool
    """True when this upload made its sender a possessor of the photo (201): also when the
    same bytes were stored before for someone else."""


def possession(session: Session, sha256: str, user_id: Any) -> PhotoUploader | None:
    return session.get(PhotoUploader, (sha256, user_id))


def _possess(session: Session, sha256: str, user_id: Any) -> tuple[PhotoUploader, bool]:
    """Record that ``user_id`` has sent the bytes of ``sha256``; whether that is new."""
    row = PhotoUploader(sha256=sha256, user_id=user_id, created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # The same user's concurrent upload of the same bytes recorded it first.
        existing = possession(session, sha256, user_id)
        if existing is None:  # pragma: no cover - the constraint that failed is the PK
            raise
        return existing, False
    return row, True


def store_photo(
    session: Session,
    storage: Storage,
    sha256: str,
    data: bytes,
    uploader_id: Any,
    limits: Limits,
    enqueue: Callable[[str], bool],
) -> StoredPhoto:
    """Store a whole uploaded photo once and record its sender as a possessor.

    The hash is checked first, then the bytes are checked without decoding them (format from
    the bytes, size and pixel caps, structure: media.validate), so a refused file is never
    stored. The one decode is the media job's, which fails the photo (``failed`` with the
    reason) if the image data turns out broken. The photo is queued for sanitising; if Redis
    is down it stays ``processing`` and the sweep queues it. Bytes someone else stored before
    are checked and answered as a first upload (201), so an upload never tells that another
    user sent the same photo; only the sender's own repeat is 200.
    """
    check_whole_file(sha256, data)
    existing = session.get(Photo, sha256)
    if existing is not None:
        mine = possession(session, sha256, uploader_id)
        if mine is not None:
            return StoredPhoto(photo_view(existing, mine), created=False)
    # End the read before decoding: on SQLite every transaction here holds the write lock.
    session.commit()
    try:
        info = validate(data, limits)
    except MediaError as exc:
        raise media_error(exc) from exc
    created = False
    photo = session.get(Photo, sha256)
    if photo is None:
        # The raw file goes first: a row always has its bytes, and identical bytes written
        # twice by two concurrent uploads of the same photo leave the same file.
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
            created = True
        except IntegrityError:
            # Someone else stored the same photo between our read and our insert.
            photo = session.get(Photo, sha256)
            if photo is None:  # pragma: no cover - the constraint that failed is the PK
                raise
    mine, new = _possess(session, sha256, uploader_id)
    session.commit()
    if created:
        enqueue(sha256)
    if not new:
        return StoredPhoto(photo_view(photo, mine), created=False)
    return StoredPhoto(_as_first_upload(photo, mine), created=True)


def get_photo(session: Session, sha256: str) -> Photo:
    photo = session.get(Photo, check_sha256(sha256))
    if photo is None:
        raise NotFound("No photo with this SHA-256.", code="photo_not_found")
    return photo


def can_view(session: Session, user: User, photo: Photo) -> bool:
    """Who may see a photo: supervisors and admins, whoever possesses it (has sent its bytes),
    and the department users of an organisation working a case (an open task) a report of
    which attaches it (``backend.cases.visibility.attached_visible``)."""
    if user.role in roles.SEES_ALL or possession(session, photo.sha256, user.id) is not None:
        return True
    if user.role != "department":
        return False
    return bool(session.execute(select(attached_visible(user, photo.sha256))).scalar())


def _visible(session: Session, user: User, sha256: str) -> Photo:
    photo = get_photo(session, sha256)
    if not can_view(session, user, photo):
        # 404 rather than 403: whether a photo exists is not for everyone to learn.
        raise NotFound("No photo with this SHA-256.", code="photo_not_found")
    return photo


def visible_photo(session: Session, user: User, sha256: str) -> PhotoView:
    """The photo's record as ``user`` sees it; 404 when they may not see it."""
    photo = _visible(session, user, sha256)
    return photo_view(photo, possession(session, photo.sha256, user.id))


def servable_photo(session: Session, user: User, sha256: str) -> Photo:
    """The photo ``user`` may see, once its sanitised images exist; 404 when not visible,
    409 ``photo_processing``, 422 ``photo_failed``."""
    photo = _visible(session, user, sha256)
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
    return photo


@dataclass(frozen=True)
class ServedImage:
    """A sanitised image to send: its bytes, or a short-lived URL of the store holding it."""

    data: bytes | None = None
    url: str | None = None


def served_image(
    storage: Storage, photo: Photo, size: str, redirect_seconds: int | None = None
) -> ServedImage:
    """The sanitised image of ``size`` of a servable photo, never the original bytes. With
    ``redirect_seconds``, a presigned URL valid that long where the store can make one."""
    image_key = key(size, photo.sha256)
    if redirect_seconds is not None:
        url = storage.url(image_key, redirect_seconds, SERVED_CONTENT_TYPE)
        if url is not None:
            return ServedImage(url=url)
    try:
        return ServedImage(data=storage.get(image_key))
    except FileNotFoundError as exc:
        # The row says ready but the file is gone (restored database, a store emptied by
        # hand): the photo has to be sent again.
        log.error("photo %s is ready but its %s image is missing", photo.sha256, size)
        raise NotFound("No photo with this SHA-256.", code="photo_not_found") from exc


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
    ``failed`` or ``missing`` (listed by the report, not uploaded by its reporter yet: the
    same bytes from someone else attach nothing, as in the push's ``missing_photos``)."""
    found: dict[uuid.UUID, list[tuple[str, str]]] = {r: [] for r in report_ids}
    if not report_ids:
        return found
    rows = session.execute(
        select(ReportPhoto.report_id, ReportPhoto.sha256, Photo.status)
        .join(Report, Report.id == ReportPhoto.report_id)
        .outerjoin(
            PhotoUploader,
            reporter_possesses(),
        )
        .outerjoin(Photo, Photo.sha256 == PhotoUploader.sha256)
        .where(ReportPhoto.report_id.in_(list(report_ids)))
        .order_by(ReportPhoto.report_id, ReportPhoto.position)
    )
    for report_id, sha256, status in rows:
        found[report_id].append((sha256, status or "missing"))
    return found
