"""The photo store of this deployment: which one the configuration names (a bucket or a
directory), one S3 client per process, and the storage keys the database says it holds."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.photos.models import Photo, Upload
from media.s3 import S3Settings, S3Storage
from media.storage import FileStorage, Storage, key, parse_url


def storage_from(config: Mapping[str, Any]) -> Storage:
    """The photo store of this deployment, the one place it is chosen: the bucket of
    ``PHOTO_STORAGE_URL`` when set, else the files under ``MEDIA_ROOT``."""
    url = config["PHOTO_STORAGE_URL"]
    if not url:
        return FileStorage(config["MEDIA_ROOT"])
    return storage_at(url, config)


def storage_at(url: str, config: Mapping[str, Any]) -> Storage:
    """The store a storage URL names (``s3://BUCKET/PREFIX``, ``file:///path``), reached
    with the S3 settings of ``config``; ValueError for a malformed URL."""
    where = parse_url(url)
    if where.scheme == "file":
        return FileStorage(where.path)
    return _s3_storage(url, s3_settings(config), os.getpid())


def s3_settings(config: Mapping[str, Any]) -> S3Settings:
    return S3Settings(
        endpoint_url=config["S3_ENDPOINT_URL"],
        region=config["AWS_REGION"],
        access_key_id=config["AWS_ACCESS_KEY_ID"],
        secret_access_key=config["AWS_SECRET_ACCESS_KEY"],
        session_token=config["AWS_SESSION_TOKEN"],
        timeout_s=config["S3_TIMEOUT_SECONDS"],
        max_attempts=config["S3_MAX_ATTEMPTS"],
        presign_endpoint_url=config["S3_PRESIGN_ENDPOINT_URL"],
    )


@functools.lru_cache(maxsize=16)
def _s3_storage(url: str, settings: S3Settings, pid: int) -> S3Storage:
    # One client (and its connection pool) per process and configuration: making one costs
    # ~20 ms, and the pid keeps a client from crossing a fork (RQ forks a horse per job).
    return S3Storage.open(url, settings)


def stored_keys(session: Session) -> Iterator[str]:
    """Every storage key the database says exists: the sanitised images of ready photos, the
    originals of photos still processing, unfinished uploads. Streamed, oldest first."""
    photos = select(Photo.sha256, Photo.status).order_by(Photo.created_at, Photo.sha256)
    for sha256, status in session.execute(photos.execution_options(yield_per=1000)):
        if status == "ready":
            yield key("full", sha256)
            yield key("thumb", sha256)
        elif status == "processing":
            yield key("raw", sha256)
    for upload_id in session.execute(select(Upload.id).order_by(Upload.created_at)).scalars():
        yield key("uploads", upload_id.hex)


def count_stored_keys(session: Session) -> int:
    images = session.execute(
        select(func.count()).select_from(Photo).where(Photo.status == "ready")
    ).scalar_one()
    originals = session.execute(
        select(func.count()).select_from(Photo).where(Photo.status == "processing")
    ).scalar_one()
    uploads = session.execute(select(func.count()).select_from(Upload)).scalar_one()
    return int(2 * images + originals + uploads)
