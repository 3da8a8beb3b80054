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
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.errors import BadRequest, Conflict, DomainError, NotFound, PayloadTooLarge
from backend.photos import services
from backend.photos.models import Upload
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


def create_upload(
    session: Session,
    owner_id: uuid.UUID,
    length: int,
    metadata: dict[str, str],
    max_bytes: int,
    expires_at: datetime,
) -> Upload:
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
    upload.offset = storage.write_at(key("uploads", upload.id.hex), offset, data)
    upload.expires_at = expires_at
    session.commit()
    return upload


def finish(
    session: Session,
    storage: Storage,
    upload: Upload,
    limits: Limits,
    enqueue: Callable[[str], bool],
) -> services.Stored:
    """Turn a complete upload into its photo, exactly as a PUT of the same bytes would.

    The upload is removed whether its bytes make a photo or are refused: a refused file will
    be refused again, and the client must start over after a hash mismatch. Only when the
    store itself fails (StorageUnavailable) is the upload kept, to be finished later.
    """
    upload_key = key("uploads", upload.id.hex)
    sha256, owner_id, upload_id = upload.sha256, upload.owner_id, upload.id
    data = storage.get(upload_key)
    session.commit()
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
