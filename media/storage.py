"""Where photo bytes live, behind one small interface.

Keys are ``<area>/<sha256>`` (``raw``, ``full``, ``thumb``) or ``uploads/<id>`` for resumable
uploads in progress. The filesystem implementation fans keys out over two directory levels
(``full/ab/cd/abcd...``) so no directory holds more than a few thousand files, and writes
atomically (temporary file, fsync, rename), so a reader or a crash never sees half a photo.
``MEDIA_ROOT`` may be a shared volume that every web and worker host mounts.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[a-z]+/[0-9a-zA-Z_-]{8,64}$")


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


def key(area: str, name: str) -> str:
    return f"{area}/{name}"


class FileStorage:
    """The default: files under ``root``, durable and atomic on a POSIX filesystem."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"invalid storage key {key!r}")
        area, name = key.split("/", 1)
        return self.root / area / name[:2] / name[2:4] / name

    def put(self, key: str, data: bytes) -> None:
        target = self.path(key)
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
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def size(self, key: str) -> int:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            return 0

    def write_at(self, key: str, offset: int, data: bytes) -> int:
        target = self.path(key)
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

    @staticmethod
    def _fsync_dir(directory: Path) -> None:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
