"""Configuration: the only module that reads ``os.environ``.

Every setting is documented in the README's configuration table; the limits here are also
advertised to clients by ``GET /api/v1/sync/config``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"environment variable {name} must be an integer, got {raw!r}") from exc


def _database_url(raw: str | None) -> str:
    if not raw:
        return f"sqlite:///{INSTANCE / 'samverkan.db'}"
    # Heroku-style URLs and plain "postgresql://" both mean psycopg 3 here.
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    if raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw[len("postgresql://") :]
    return raw


def from_env() -> dict[str, Any]:
    """Build the Flask config mapping from the process environment."""
    database_url = _database_url(os.environ.get("DATABASE_URL"))
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY", "dev-only-not-secret"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "MEDIA_ROOT": os.environ.get("MEDIA_ROOT", str(INSTANCE / "media")),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        # The whole request body; a sync batch of 200 items with long notes is ~250 KB, photos
        # go through their own upload routes with their own limit (MAX_PHOTO_BYTES).
        "MAX_CONTENT_LENGTH": _int("MAX_BODY_BYTES", 1_048_576),
        # A 12 MP HEIC is 2-4 MB and a 48 MP JPEG from a recent phone 12-20 MB: 25 MiB keeps
        # every camera original while bounding what one upload can make the server hold.
        "MAX_PHOTO_BYTES": _int("MAX_PHOTO_BYTES", 25 * 1024 * 1024),
        # 48 MP sensors (8064 x 6048 = 48.8 MP) are the largest in common phones; a decoded
        # RGB image of this many pixels is 150 MB, the memory bound of one decode.
        "MAX_PHOTO_PIXELS": _int("MAX_PHOTO_PIXELS", 50_000_000),
        # tus 1.0 expiration: an unfinished resumable upload is kept this long after its last
        # PATCH, enough for a phone to finish a photo after a shift spent without signal.
        "UPLOAD_EXPIRY_SECONDS": _int("UPLOAD_EXPIRY_SECONDS", 24 * 3600),
        # SQLite waits this long for another writer before giving up; long enough that several
        # gunicorn workers queue up behind each other instead of reporting "database is locked".
        "SQLITE_BUSY_TIMEOUT_MS": _int("SQLITE_BUSY_TIMEOUT_MS", 30_000),
    }
