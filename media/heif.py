"""HEIC/HEIF: decoding through pillow-heif (registered with Pillow in this one place), and the
container's structure, read without decoding.

A HEIF file is a sequence of ISO base media boxes (ISO/IEC 14496-12): ``ftyp``, ``meta`` (the
items, their properties and where their bytes are) and ``mdat`` (the coded image). A file cut
short shows as a box whose declared size runs past the end; that is refused before decoding.
There is no useful lower bound on HEVC data for a declared size (a flat tile codes in a few
bits), but libheif refuses item data outside the file and decoded sizes that do not match the
header, and the pixel cap is checked from the header.
"""

from __future__ import annotations

import pillow_heif

from media.budget import Budget
from media.errors import MediaError

MAX_BOXES = 1024
"""Top-level boxes a HEIF file may have. Phones write three or four (ftyp, meta, mdat, and
sometimes free); this bounds the box walk's loop."""

_registered = False


def register() -> None:
    """Teach Pillow to open HEIF files (idempotent)."""
    global _registered
    if not _registered:
        # Thumbnails embedded in the container are never used: only the primary image is.
        pillow_heif.register_heif_opener(thumbnails=False)
        _registered = True


def _truncated() -> MediaError:
    return MediaError(
        "corrupt_image",
        "The HEIC file is truncated: a part of it runs past the end of the file.",
        status=422,
    )


def check_boxes(data: bytes, budget: Budget) -> int:
    """Check that the top-level boxes of ``data`` fit the file and include ``meta``; returns
    the offset where the last box ends (bytes after it are not part of the image)."""
    pos = 0
    kinds = set()
    for _ in range(MAX_BOXES):
        budget.check()
        if len(data) - pos < 8:
            break
        size = int.from_bytes(data[pos : pos + 4], "big")
        kinds.add(data[pos + 4 : pos + 8])
        if size == 1:
            if len(data) - pos < 16:
                raise _truncated()
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
            header = 16
        elif size == 0:
            size = len(data) - pos  # the last box, to the end of the file
            header = 8
        else:
            header = 8
        if size < header:
            raise MediaError(
                "corrupt_image", "The HEIC file is broken: a box has an invalid size.", status=422
            )
        if pos + size > len(data):
            raise _truncated()
        pos += size
    else:
        raise MediaError(
            "photo_too_complex",
            f"The HEIC file has more than {MAX_BOXES} boxes; a photo has a handful.",
            status=422,
        )
    if b"meta" not in kinds:
        raise MediaError(
            "corrupt_image", "The HEIC file is broken: it has no image description.", status=422
        )
    return pos
