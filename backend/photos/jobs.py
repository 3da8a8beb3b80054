"""The media job: sanitise one photo. Queued on ``media`` with the photo's SHA-256 as job id.

Idempotent: a photo that is no longer ``processing`` is left as it is, and every state change
is a conditional UPDATE from ``processing``, so two deliveries of the same job (a sweep
re-queueing a job that was still running) cannot undo each other.
"""

from __future__ import annotations

import logging

from flask import current_app
from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import update
from sqlalchemy.orm import Session

from backend.database import utcnow
from backend.errors import DomainError
from backend.extensions import db, redis
from backend.photos import services, store, uploads
from backend.photos.models import Photo
from backend.queues import MEDIA, enqueue_once
from media.errors import MediaError
from media.sanitise import sanitise
from media.storage import Storage, key

log = logging.getLogger(__name__)

# A fault that is not the photo's (storage, database) is retried after 10 s, 1 min and 5 min;
# after that the photo stays ``processing`` and the next sweep queues it again.
RETRY = Retry(max=3, interval=[10, 60, 300])


def process_photo(sha256: str) -> str:
    """RQ entry point: sanitise photo ``sha256``; returns the photo's resulting status. Runs
    in the worker's app context (``flask --app wsgi worker``)."""
    return _process(db.session(), store.storage_from(current_app.config), sha256)


def _process(session: Session, storage: Storage, sha256: str) -> str:
    raw = key("raw", sha256)
    photo = session.get(Photo, sha256)
    if photo is None:
        return "missing"
    status = photo.status
    limits = services.limits_from(current_app.config)
    # Sanitising takes a while; on SQLite the read above holds the write lock until it ends.
    session.commit()
    if status != "processing":
        storage.delete(raw)  # left behind by a crash between commit and delete
        return status
    try:
        data = storage.get(raw)
    except FileNotFoundError:
        return _finish(session, sha256, failed="original_missing")
    try:
        result = sanitise(data, limits)
    except MediaError as exc:
        log.info("photo %s refused by the pipeline: %s", sha256, exc.message)
        status = _finish(session, sha256, failed=exc.code)
        storage.delete(raw)
        return status
    storage.put(key("full", sha256), result.full)
    storage.put(key("thumb", sha256), result.thumb)
    session.execute(
        update(Photo)
        .where(Photo.sha256 == sha256, Photo.status == "processing")
        .values(
            status="ready",
            width=result.width,
            height=result.height,
            full_size=len(result.full),
            thumb_size=len(result.thumb),
            phash=result.phash,
            processed_at=utcnow(),
        )
    )
    session.commit()
    storage.delete(raw)
    return _status(session, sha256)


def _finish(session: Session, sha256: str, failed: str) -> str:
    session.execute(
        update(Photo)
        .where(Photo.sha256 == sha256, Photo.status == "processing")
        .values(status="failed", failure_reason=failed, processed_at=utcnow())
    )
    session.commit()
    return _status(session, sha256)


def _status(session: Session, sha256: str) -> str:
    session.expire_all()
    photo = session.get(Photo, sha256)
    status = photo.status if photo is not None else "missing"
    session.commit()
    return status


def enqueue_processing(sha256: str) -> bool:
    """Queue the media job; False (logged, nothing raised) when Redis is unreachable."""
    try:
        return enqueue_once(redis.client, MEDIA, process_photo, sha256, job_id=sha256, retry=RETRY)
    except RedisError as exc:
        log.warning("photo %s not queued (Redis: %s); the sweep will queue it", sha256, exc)
        return False


def sweep(session: Session, storage: Storage) -> dict[str, int]:
    """Catch up after a crash or a Redis outage: discard expired uploads, turn uploads whose
    bytes all arrived into photos, and queue every photo still ``processing``.

    One bad upload never stops the sweep (it runs at every worker start): a refused or lost
    one is discarded with its reason logged, any other failure is logged and the upload left
    for the next sweep. A store that is down raises StorageUnavailable before anything is
    changed: expiring uploads then would delete their rows and leave their bytes behind.
    """
    storage.check()
    limits = services.limits_from(current_app.config)
    expired = uploads.expire(session, storage, utcnow())
    finished = discarded = 0
    for upload in uploads.complete_unfinished(session):
        upload_id = upload.id
        try:
            uploads.finish(session, storage, upload, limits, enqueue_processing)
            finished += 1
        except DomainError as exc:
            discarded += 1
            log.info("upload %s refused at sweep: %s", upload_id, exc.code)
        except Exception:
            session.rollback()
            log.exception("upload %s could not be finished; the next sweep tries again", upload_id)
    queued = 0
    for sha256 in services.unprocessed(session):
        queued += enqueue_processing(sha256)
    session.commit()
    return {
        "uploads_expired": expired,
        "uploads_finished": finished,
        "uploads_discarded": discarded,
        "photos_queued": queued,
    }
