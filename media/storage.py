"""Where photo bytes live, behind one small interface.

Keys are ``<area>/<sha256>`` (``raw``, ``full``, ``thumb``), written whole with ``put``, or
``uploads/<id>`` for resumable uploads in progress, grown with ``write_at``. Callers build
keys only from a validated SHA-256 or an upload's UUID; every implementation checks the shape
again, so nothing a client typed can name another object.

Two implementations: ``FileStorage`` here (the default, a directory, possibly a shared volume)
and ``media.s3.S3Storage`` (an S3-compatible bucket). Which one a deployment uses is decided
by a storage URL (``parse_url``): ``s3://BUCKET/PREFIX`` or ``file:///path``.

Writes are safe to repeat: a key's bytes are determined by its name (content-addressed), so a
retried or concurrent write stores the same thing, and the database decides what exists.
Faults of the store itself (a full disk, an unreachable bucket) raise
``media.errors.StorageUnavailable``; an absent key is ``FileNotFoundError``.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from media.errors import StorageUnavailable

_KEY = re.compile(r"^[a-z]+/[0-9a-zA-Z_-]{8,64}$")
GROWING_AREAS = frozenset({"uploads"})
"""Areas whose keys are grown with ``write_at`` (and read, sized, deleted as one file);
every other area's keys are written whole with ``put``."""

# S3 bucket naming rules (3-63 characters of lower-case letters, digits, dots and hyphens,
# starting and ending with a letter or digit); MinIO and Ceph RGW enforce the same.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically, replacing what was there."""

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; FileNotFoundError when there are none."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove ``key``; nothing happens when it is absent."""

    def size(self, key: str) -> int:
        """Bytes stored under ``key``; 0 when absent."""

    def write_at(self, key: str, offset: int, data: bytes) -> int:
        """Write ``data`` at ``offset`` of a growing file, dropping anything stored past
        ``offset`` first (an interrupted earlier write); returns the new size, durable."""

    def url(self, key: str, seconds: int, content_type: str) -> str | None:
        """A URL that serves ``key`` as ``content_type`` to anyone holding it, for
        ``seconds``; None when this store cannot make one (files are served by the app)."""

    def check(self) -> None:
        """Raise StorageUnavailable, saying why, unless the store can be written now."""

    def describe(self) -> str:
        """Where the bytes go, for logs and progress output (no credentials)."""


def key(area: str, name: str) -> str:
    return f"{area}/{name}"


def check_key(key: str) -> tuple[str, str]:
    """``(area, name)`` of a well-formed key; ValueError for anything else."""
    if not _KEY.match(key):
        raise ValueError(f"invalid storage key {key!r}")
    area, name = key.split("/", 1)
    return area, name


@dataclass(frozen=True)
class StorageURL:
    """A parsed storage URL: ``s3://BUCKET/PREFIX`` (bucket, prefix ending in ``/`` or empty)
    or ``file:///absolute/path`` (path)."""

    scheme: str
    bucket: str = ""
    prefix: str = ""
    path: str = ""


def parse_url(url: str) -> StorageURL:
    """Parse and validate a storage URL; ValueError with what is wrong."""
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ValueError(f"storage URL {url!r}: no query or fragment allowed")
    if parts.scheme == "file":
        if parts.netloc or not parts.path.startswith("/"):
            raise ValueError(f"storage URL {url!r}: use file:///absolute/path")
        return StorageURL("file", path=unquote(parts.path))
    if parts.scheme != "s3":
        raise ValueError(f"storage URL {url!r}: use s3://BUCKET/PREFIX or file:///path")
    if not _BUCKET.match(parts.netloc) or ".." in parts.netloc:
        raise ValueError(
            f"storage URL {url!r}: {parts.netloc!r} is not a valid bucket name "
            "(3-63 lower-case letters, digits, dots, hyphens)"
        )
    prefix = parts.path.strip("/")
    if prefix and (not _PREFIX.match(prefix) or {".", ".."} & set(prefix.split("/"))):
        raise ValueError(
            f"storage URL {url!r}: the prefix may hold letters, digits, '.', '_', '-' and '/' "
            "(no '.' or '..' segments)"
        )
    return StorageURL("s3", bucket=parts.netloc, prefix=f"{prefix}/" if prefix else "")


@contextlib.contextmanager
def _volume_faults(root: Path) -> Iterator[None]:
    """A full disk, a read-only or vanished volume is the store's fault: StorageUnavailable.
    FileNotFoundError passes (an absent key), and so do errors of our own making."""
    try:
        yield
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StorageUnavailable(
            f"the photo volume {root} refused the operation: {exc.strerror or exc}",
            reason="server_error",
        ) from exc


class FileStorage:
    """The default: files under ``root``, durable and atomic on a POSIX filesystem.

    Keys fan out over two directory levels (``full/ab/cd/abcd...``) so no directory holds more
    than a few thousand files; writes go to a temporary file that is fsynced and renamed, so a
    reader or a crash never sees half a photo (also on NFS-style shared volumes).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        area, name = check_key(key)
        return self.root / area / name[:2] / name[2:4] / name

    def put(self, key: str, data: bytes) -> None:
        target = self.path(key)
        with _volume_faults(self.root):
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._fsync_dir(target.parent)

    def get(self, key: str) -> bytes:
        path = self.path(key)
        with _volume_faults(self.root):
            return path.read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        path = self.path(key)
        with _volume_faults(self.root):
            path.unlink(missing_ok=True)

    def size(self, key: str) -> int:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            return 0

    def write_at(self, key: str, offset: int, data: bytes) -> int:
        target = self.path(key)
        with _volume_faults(self.root):
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.ftruncate(fd, offset)
                view = memoryview(data)
                position = offset
                while view:
                    written = os.pwrite(fd, view, position)
                    view, position = view[written:], position + written
                os.fsync(fd)
                return offset + len(data)
            finally:
                os.close(fd)

    def url(self, key: str, seconds: int, content_type: str) -> str | None:
        return None

    def check(self) -> None:
        with _volume_faults(self.root):
            self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageUnavailable(
                f"the photo directory {self.root} is not writable by this process",
                reason="access_denied",
            )

    def describe(self) -> str:
        return f"file://{self.root.resolve()}"

    @staticmethod
    def _fsync_dir(directory: Path) -> None:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def copy(source: Storage, target: Storage, key: str) -> str:
    """Copy ``key`` from ``source`` to ``target`` unless the target already holds as many
    bytes (a copy is all or nothing, so equal size means done: a second run resumes).
    Returns ``copied``, ``skipped`` or ``missing`` (not in the source)."""
    area, _ = check_key(key)
    size = source.size(key)
    if size == 0 and not source.exists(key):
        return "missing"
    if target.size(key) == size:
        return "skipped"
    try:
        data = source.get(key)
    except FileNotFoundError:
        return "missing"
    if area in GROWING_AREAS:
        target.write_at(key, 0, data)
    else:
        target.put(key, data)
    return "copied"
