"""HEIC/HEIF decoding through pillow-heif, registered with Pillow in this one place."""

from __future__ import annotations

import pillow_heif

_registered = False


def register() -> None:
    """Teach Pillow to open HEIF files (idempotent)."""
    global _registered
    if not _registered:
        # Thumbnails embedded in the container are never used: only the primary image is.
        pillow_heif.register_heif_opener(thumbnails=False)
        _registered = True
