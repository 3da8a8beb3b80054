"""Photos in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, ``rclone serve s3``).

Every web and worker host talks to the same bucket and shares nothing else. Objects are
``PREFIX + key`` (``photos/full/<sha256>``), addressed path-style
(``http://endpoint/BUCKET/KEY``), which every S3-compatible server understands without
wildcard DNS.

A growing file (a tus upload, ``uploads/<id>``) is one object per ``write_at`` under
``PREFIX/uploads/<id>/<offset, 20 digits>``, assembled by ``get`` when the upload is complete.
Not an S3 multipart upload: S3 requires every part but the last to be at least 5 MiB, while
phones send tus chunks of 256 KiB to a few MiB, and a multipart upload cannot be read back
before it is completed. A photo is at most ``MAX_PHOTO_BYTES`` (25 MiB), which the pipeline
holds in memory anyway to hash and validate it. Any web host can take the next PATCH, since
the chunks are in the bucket and the offset is in the database.

Every ``put`` carries Content-MD5, so the server refuses bytes damaged on the way. The
flexible checksums that recent botocore adds by default are asked for only where S3
requires them: several S3-compatible servers still refuse the trailing-checksum encoding.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError as Urllib3Error

from media.errors import StorageUnavailable
from media.storage import GROWING_AREAS, check_key, parse_url

_OFFSET_DIGITS = 20
_DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
_MISSING = ("NoSuchKey", "404", "NotFound")
_DENIED = (
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "403",
)


@dataclass(frozen=True)
class S3Settings:
    """How to reach the bucket. ``None`` credentials leave them to boto3's own chain
    (instance role, web identity, ``~/.aws``)."""

    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    timeout_s: float = 5.0
    max_attempts: int = 3
    presign_endpoint_url: str | None = None
    """Endpoint written into presigned URLs, when clients reach the store by another name
    than the service does; default ``endpoint_url``."""


_SESSION = boto3.session.Session()
_SESSION_LOCK = threading.Lock()
"""One boto3 session per process: it caches the S3 service model, which a fresh session
parses again (~0.2 s per client); sessions are not thread-safe, so clients are made under a
lock. Clients themselves are thread-safe."""


def make_client(settings: S3Settings, endpoint_url: str | None = None) -> Any:
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"mode": "standard", "max_attempts": settings.max_attempts},
        connect_timeout=settings.timeout_s,
        read_timeout=settings.timeout_s,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        max_pool_connections=16,
    )
    with _SESSION_LOCK:
        return _SESSION.client(
            "s3",
            endpoint_url=endpoint_url or settings.endpoint_url,
            region_name=settings.region,
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key,
            aws_session_token=settings.session_token,
            config=config,
        )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


class S3Storage:
    """``media.storage.Storage`` on one bucket and prefix."""

    def __init__(self, client: Any, bucket: str, prefix: str = "", presigner: Any = None):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self._presigner = presigner or client

    @classmethod
    def open(cls, url: str, settings: S3Settings) -> S3Storage:
        where = parse_url(url)
        if where.scheme != "s3":
            raise ValueError(f"not an s3:// URL: {url!r}")
        client = make_client(settings)
        presigner = client
        if settings.presign_endpoint_url:
            presigner = make_client(settings, settings.presign_endpoint_url)
        return cls(client, where.bucket, where.prefix, presigner)

    # -- whole objects ---------------------------------------------------------------------

    def put(self, key: str, data: bytes) -> None:
        self._put_raw(self._whole(key), data)

    def get(self, key: str) -> bytes:
        area, _ = check_key(key)
        if area in GROWING_AREAS:
            return self._assemble(key)
        return self._read(self.prefix + key)

    def exists(self, key: str) -> bool:
        area, _ = check_key(key)
        if area in GROWING_AREAS:
            return bool(self._chunks(key))
        return self._head(self.prefix + key) is not None

    def delete(self, key: str) -> None:
        area, _ = check_key(key)
        if area in GROWING_AREAS:
            self._delete_many([name for name, _, _ in self._chunks(key)])
            return
        with self._faults():
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def size(self, key: str) -> int:
        area, _ = check_key(key)
        if area in GROWING_AREAS:
            return sum(size for _, _, size in self._chunks(key))
        return self._head(self.prefix + key) or 0

    # -- growing files ---------------------------------------------------------------------

    def write_at(self, key: str, offset: int, data: bytes) -> int:
        area, _ = check_key(key)
        if area not in GROWING_AREAS:
            raise ValueError(f"{key!r} is not a growing file (areas {sorted(GROWING_AREAS)})")
        if offset < 0:
            raise ValueError("offset must not be negative")
        stale = []
        for name, start, size in self._chunks(key):
            if start < offset < start + size:
                # An earlier write ran past where the upload stands: keep its first part.
                self._put_raw(name, self._read(name)[: offset - start])
            elif start >= offset and not (start == offset and data):
                stale.append(name)
        # The new chunk first, then what lay past it: a crash in between leaves chunks past
        # the stored offset, which the next write at that offset drops again.
        if data:
            self._put_raw(self._chunk_name(key, offset), data)
        self._delete_many(stale)
        return offset + len(data)

    # -- serving and health ----------------------------------------------------------------

    def url(self, key: str, seconds: int, content_type: str) -> str | None:
        object_key = self._whole(key)
        # Presigning is a local computation (an HMAC), no request to the store.
        return str(
            self._presigner.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": object_key,
                    "ResponseContentType": content_type,
                    "ResponseCacheControl": f"private, max-age={seconds}",
                },
                ExpiresIn=seconds,
            )
        )

    def check(self) -> None:
        # Listing is what the tus uploads need beyond get and put, and it fails the way a
        # missing bucket or a wrong key fails every other call.
        with self._faults():
            self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} at {self.client.meta.endpoint_url}"

    # -- helpers ---------------------------------------------------------------------------

    def _whole(self, key: str) -> str:
        area, _ = check_key(key)
        if area in GROWING_AREAS:
            raise ValueError(f"{key!r} is a growing file: use write_at")
        return self.prefix + key

    def _chunk_name(self, key: str, offset: int) -> str:
        return f"{self.prefix}{key}/{offset:0{_OFFSET_DIGITS}d}"

    def _chunks(self, key: str) -> list[tuple[str, int, int]]:
        """``(object key, start offset, size)`` of a growing file's chunks, in order."""
        folder = f"{self.prefix}{key}/"
        found = []
        with self._faults():
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=folder
            )
            for page in pages:
                for item in page.get("Contents", []):
                    tail = item["Key"][len(folder) :]
                    if len(tail) == _OFFSET_DIGITS and tail.isdigit():
                        found.append((item["Key"], int(tail), int(item["Size"])))
        return sorted(found, key=lambda chunk: chunk[1])

    def _assemble(self, key: str) -> bytes:
        chunks = self._chunks(key)
        if not chunks:
            raise FileNotFoundError(key)
        out = bytearray()
        for name, start, size in chunks:
            if start > len(out):
                raise FileNotFoundError(f"{key}: bytes {len(out)} to {start} are missing")
            data = self._read(name)
            if len(data) != size:
                raise FileNotFoundError(f"{key}: chunk at {start} changed while read")
            out += data[len(out) - start :]
        return bytes(out)

    def _read(self, object_key: str) -> bytes:
        try:
            with self._faults(missing=True):
                answer = self.client.get_object(Bucket=self.bucket, Key=object_key)
                return bytes(answer["Body"].read())
        except _Missing:
            raise FileNotFoundError(object_key) from None

    def _head(self, object_key: str) -> int | None:
        try:
            with self._faults(missing=True):
                answer = self.client.head_object(Bucket=self.bucket, Key=object_key)
                return int(answer["ContentLength"])
        except _Missing:
            return None

    def _put_raw(self, object_key: str, data: bytes) -> None:
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        with self._faults():
            self.client.put_object(Bucket=self.bucket, Key=object_key, Body=data, ContentMD5=md5)

    def _delete_many(self, names: list[str]) -> None:
        for start in range(0, len(names), _DELETE_BATCH):
            batch = names[start : start + _DELETE_BATCH]
            with self._faults():
                answer = self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": name} for name in batch], "Quiet": True},
                )
            failed = [e for e in answer.get("Errors", []) if e.get("Code") not in _MISSING]
            if failed:
                raise StorageUnavailable(
                    f"the bucket {self.bucket!r} did not delete {len(failed)} objects "
                    f"({failed[0].get('Code')}: {failed[0].get('Message')})",
                    reason="server_error",
                )

    @contextlib.contextmanager
    def _faults(self, missing: bool = False) -> Iterator[None]:
        """Translate the store's failures into StorageUnavailable naming the cause; with
        ``missing``, an absent object raises ``_Missing`` instead."""
        try:
            yield
        except ClientError as exc:
            code, status = _code(exc), _status(exc)
            if missing and (code in _MISSING or status == 404) and code != "NoSuchBucket":
                raise _Missing() from exc
            if code == "NoSuchBucket":
                raise StorageUnavailable(
                    f"the bucket {self.bucket!r} does not exist at {self.client.meta.endpoint_url}",
                    reason="no_such_bucket",
                ) from exc
            if code in _DENIED or status == 403:
                raise StorageUnavailable(
                    f"the store at {self.client.meta.endpoint_url} refused the credentials "
                    f"for bucket {self.bucket!r} ({code})",
                    reason="access_denied",
                ) from exc
            raise StorageUnavailable(
                f"the store answered {status} {code} for bucket {self.bucket!r}",
                reason="server_error",
            ) from exc
        except (BotoCoreError, Urllib3Error, OSError) as exc:
            raise StorageUnavailable(
                f"the store at {self.client.meta.endpoint_url} is unreachable "
                f"({type(exc).__name__})",
                reason="unreachable",
            ) from exc


class _Missing(Exception):
    """An absent object, inside S3Storage only (it becomes FileNotFoundError or None)."""
