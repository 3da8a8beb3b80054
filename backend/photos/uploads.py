"""Resumable uploads, tus 1.0 (core, creation, checksum, termination, expiration).

An upload's bytes grow in storage ``uploads/<id>``; its row holds the offset the server has
durably stored. When the offset reaches the length, the whole file is checked against the
SHA-256 the client declared in ``Upload-Metadata`` and stored exactly as a PUT would.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.errors import (
    BadRequest,
    Conflict,
    DomainError,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
)
from backend.photos import services
from backend.photos.models import Upload
from backend.users.models import User
from media.errors import StorageUnavailable
from media.storage import Storage, key
from media.validate import Limits

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = ("creation", "checksum", "termination", "expiration")
CHECKSUMS: dict[str, Callable[[bytes], Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "md5": hashlib.md5,
}
"""Upload-Checksum algorithms; tus 1.0 requires sha1, the others are what clients send."""


class UploadGone(DomainError):
    status = 410
    code = "upload_expired"
    message = "The upload expired and its bytes were discarded; start a new upload."


class ChecksumMismatch(DomainError):
    # tus 1.0 checksum extension: "460 Checksum Mismatch".
    status = 460
    code = "checksum_mismatch"
    message = "The chunk does not match its Upload-Checksum; it was discarded, send it again."


class UploadLost(DomainError):
    status = 410
    code = "upload_lost"
    message = (
        "The server no longer has all of this upload's bytes (logged for the operators); "
        "the upload was discarded: start a new upload."
    )


class TusVersionUnsupported(DomainError):
    status = 412
    code = "tus_version_unsupported"
    message = f"Only tus {TUS_VERSION} is supported (send Tus-Resumable: {TUS_VERSION})."


def parse_metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (value optional)."""
    result: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in header.split(","))):
        name, _, encoded = pair.partition(" ")
        try:
            value = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise BadRequest(
                f"Upload-Metadata value of {name!r} is not base64 of UTF-8 text.",
                code="invalid_upload_metadata",
                errors={"Upload-Metadata": [f"{name}: not base64"]},
            ) from exc
        result[name] = value
    return result


def parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``; None when absent."""
    if not header:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise BadRequest(
            f"Unsupported checksum algorithm {algorithm!r}.",
            code="checksum_algorithm_unsupported",
            errors={"Upload-Checksum": [f"use one of {', '.join(CHECKSUMS)}"]},
        )
    try:
        return algorithm, base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error as exc:
        raise BadRequest(
            "Upload-Checksum digest is not base64.",
            code="invalid_upload_checksum",
            errors={"Upload-Checksum": ["digest must be base64"]},
        ) from exc


@dataclass(frozen=True)
class OpenCaps:
    """What one user may hold in unfinished uploads (UPLOAD_MAX_OPEN_* in the config)."""

    max_uploads: int
    max_bytes: int


def open_caps_from(config: Mapping[str, Any]) -> OpenCaps:
    return OpenCaps(
        max_uploads=config["UPLOAD_MAX_OPEN_PER_USER"],
        max_bytes=config["UPLOAD_MAX_OPEN_BYTES_PER_USER"],
    )


def _check_open_caps(
    session: Session, owner_id: uuid.UUID, length: int, caps: OpenCaps, now: datetime
) -> None:
    """409 when one more upload of ``length`` bytes would pass the owner's caps. The owner's
    row is locked first, so two concurrent creations cannot both pass (on SQLite the write
    lock every POST takes already serialises them)."""
    session.execute(select(User.id).where(User.id == owner_id).with_for_update())
    open_uploads = list(
        session.execute(
            select(Upload.id, Upload.length)
            .where(Upload.owner_id == owner_id, Upload.expires_at > now)
            .order_by(Upload.created_at)
        ).all()
    )
    held = sum(upload_length for _, upload_length in open_uploads)
    listed = {"open_uploads": [str(upload_id) for upload_id, _ in open_uploads]}
    advice = (
        "finish them (HEAD /api/v1/uploads/{id}, then PATCH from its Upload-Offset) or discard "
        "them (DELETE) first; they are listed in errors.open_uploads."
    )
    if len(open_uploads) >= caps.max_uploads:
        session.commit()
        raise Conflict(
            f"You have {len(open_uploads)} unfinished uploads, the most one user may have; "
            + advice,
            code="too_many_open_uploads",
            errors=listed,
        )
    if held + length > caps.max_bytes:
        session.commit()
        raise Conflict(
            f"Your unfinished uploads hold {held} bytes; with {length} more they would pass "
            f"the {caps.max_bytes} one user may hold: " + advice,
            code="open_uploads_too_large",
            errors=listed,
        )


def create_upload(
    session: Session,
    owner_id: uuid.UUID,
    length: int,
    metadata: dict[str, str],
    max_bytes: int,
    caps: OpenCaps,
    now: datetime,
    expires_at: datetime,
) -> Upload:
    if length == 0:
        # The worker's sweep once crashed on such an upload: it is "complete" at offset 0 and
        # has no file. No photo is empty.
        raise Unprocessable(
            "A photo is never empty: Upload-Length must be at least 1.",
            code="empty_photo",
            errors={"Upload-Length": ["at least 1"]},
        )
    if length > max_bytes:
        raise PayloadTooLarge(
            f"The photo is {length} bytes; at most {max_bytes} are accepted.",
            code="photo_too_large",
            errors={"Upload-Length": [f"at most {max_bytes}"]},
        )
    if "sha256" not in metadata:
        raise BadRequest(
            "Upload-Metadata must carry the photo's sha256 (hex, base64-encoded per tus).",
            code="sha256_required",
            errors={"Upload-Metadata": ["sha256 is required"]},
        )
    sha256 = services.check_sha256(metadata["sha256"])
    _check_open_caps(session, owner_id, length, caps, now)
    upload = Upload(
        owner_id=owner_id,
        sha256=sha256,
        length=length,
        offset=0,
        meta={k: v for k, v in metadata.items() if k != "sha256"},
        expires_at=expires_at,
    )
    session.add(upload)
    session.commit()
    return upload


def get_upload(
    session: Session, upload_id: uuid.UUID, owner_id: uuid.UUID, now: datetime, lock: bool = False
) -> Upload:
    query = select(Upload).where(Upload.id == upload_id, Upload.owner_id == owner_id)
    upload = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if upload is None:
        raise NotFound("No such upload.", code="upload_not_found")
    if upload.expires_at <= now:
        raise UploadGone()
    return upload


def offset_mismatch(sent: int, stored: int) -> Conflict:
    return Conflict(
        f"Upload-Offset {sent} is not where the upload stands ({stored}); "
        "HEAD the upload and resume from its offset.",
        code="offset_mismatch",
        errors={"Upload-Offset": [f"expected {stored}"]},
    )


def append(
    session: Session,
    storage: Storage,
    upload_id: uuid.UUID,
    owner_id: uuid.UUID,
    offset: int,
    data: bytes,
    now: datetime,
    expires_at: datetime,
) -> Upload:
    """Store ``data`` at ``offset``; 409 ``offset_mismatch`` unless ``offset`` is where the
    upload stands. The row is locked meanwhile, so two PATCHes cannot interleave."""
    upload = get_upload(session, upload_id, owner_id, now, lock=True)
    if offset != upload.offset:
        current = upload.offset
        session.commit()
        raise offset_mismatch(offset, current)
    if offset + len(data) > upload.length:
        session.commit()
        raise PayloadTooLarge(
            "The chunk runs past the Upload-Length declared when the upload was created.",
            code="upload_length_exceeded",
            errors={"Upload-Length": [f"{upload.length}"]},
        )
    upload_key = key("uploads", upload.id.hex)
    stored = storage.size(upload_key)
    if stored < offset:
        # Appending would zero-fill the gap (write_at truncates up to the offset) and the
        # whole-file hash would fail only at the last chunk: say so now.
        _discard_lost(session, storage, upload.id, f"its file has {stored} of {offset} bytes")
    upload.offset = storage.write_at(upload_key, offset, data)
    upload.expires_at = expires_at
    session.commit()
    return upload


def _discard_lost(session: Session, storage: Storage, upload_id: uuid.UUID, why: str) -> NoReturn:
    """Remove an upload whose stored bytes are gone or short (a disk fault, an operator's
    clean-up, a MEDIA_ROOT not shared by every web host); raises 410 ``upload_lost``."""
    log.warning("upload %s discarded: %s", upload_id, why)
    remove(session, storage, upload_id)
    raise UploadLost()


def finish(
    session: Session,
    storage: Storage,
    upload: Upload,
    limits: Limits,
    enqueue: Callable[[str], bool],
) -> services.StoredPhoto:
    """Turn a complete upload into its photo, exactly as a PUT of the same bytes would.

    The upload is removed whether its bytes make a photo or are refused: a refused file will
    be refused again, and the client must start over after a hash mismatch. An upload whose
    file is missing or shorter than its length is removed too (410 ``upload_lost``). Only when
    the store itself fails (StorageUnavailable) is the upload kept, to be finished later.
    """
    upload_key = key("uploads", upload.id.hex)
    sha256, owner_id, upload_id, length = upload.sha256, upload.owner_id, upload.id, upload.length
    try:
        data = storage.get(upload_key)
    except FileNotFoundError:
        session.commit()
        _discard_lost(session, storage, upload_id, f"its file is missing ({length} bytes due)")
    session.commit()
    if len(data) != length:
        _discard_lost(session, storage, upload_id, f"its file has {len(data)} of {length} bytes")
    try:
        stored = services.store_photo(session, storage, sha256, data, owner_id, limits, enqueue)
    except StorageUnavailable:
        raise
    except BaseException:
        remove(session, storage, upload_id)
        raise
    remove(session, storage, upload_id)
    return stored


def rewind(session: Session, upload_id: uuid.UUID, length: int, offset: int) -> None:
    """Put a complete upload back to ``offset``, where its last chunk began: the store failed
    while the photo was being made, so the phone is told (by HEAD) to send that chunk again
    rather than believing the upload done."""
    session.rollback()
    session.execute(
        update(Upload).where(Upload.id == upload_id, Upload.offset == length).values(offset=offset)
    )
    session.commit()


def remove(session: Session, storage: Storage, upload_id: uuid.UUID) -> None:
    session.rollback()
    upload = session.get(Upload, upload_id)
    if upload is not None:
        session.delete(upload)
    session.commit()
    try:
        storage.delete(key("uploads", upload_id.hex))
    except StorageUnavailable as exc:
        # The row is gone, so nothing refers to these bytes any more; what the store kept
        # is garbage (README: a lifecycle rule on PREFIX/uploads/ removes it).
        log.warning("upload %s: its chunks were not deleted: %s", upload_id, exc.message)


def expire(session: Session, storage: Storage, now: datetime) -> int:
    """Discard expired uploads and their bytes; returns how many."""
    ids = list(session.execute(select(Upload.id).where(Upload.expires_at <= now)).scalars())
    session.commit()
    for upload_id in ids:
        remove(session, storage, upload_id)
    return len(ids)


def complete_unfinished(session: Session) -> list[Upload]:
    """Uploads whose bytes all arrived but whose photo was not made (a crash in between)."""
    return list(session.execute(select(Upload).where(Upload.offset == Upload.length)).scalars())


def expiry(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)
