"""The RIFF container of a WebP file, read without decoding (RFC 9649).

The RIFF header declares the file's size and every chunk its own: a file cut short is refused
here with a clear message (libwebp refuses it too, as "could not create decoder object"). The
VP8 and VP8L codecs can code a flat area in next to no bits, so there is no lower bound on the
data for a declared size; the pixel cap is checked from the header.
"""

from __future__ import annotations

from media.budget import Budget
from media.errors import MediaError

MAX_CHUNKS = 65_536
"""Chunks a WebP may have: an animation has one per frame, a still image two or three."""


def _truncated() -> MediaError:
    return MediaError(
        "corrupt_image", "The WebP is truncated: it ends before its last chunk.", status=422
    )


def check(data: bytes, budget: Budget) -> int:
    """Check the RIFF structure of ``data``; returns the offset where the RIFF data ends."""
    end = 8 + int.from_bytes(data[4:8], "little")
    if end > len(data):
        raise _truncated()
    pos = 12
    for _ in range(MAX_CHUNKS):
        budget.check()
        if pos >= end:
            break
        if pos + 8 > end:
            raise _truncated()
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        pos += 8 + size + (size & 1)
        if pos > end + (size & 1):
            raise _truncated()
    else:
        raise MediaError(
            "photo_too_complex", f"The WebP has more than {MAX_CHUNKS} chunks.", status=422
        )
    if end == 12:
        raise MediaError("corrupt_image", "The WebP is broken: it has no image.", status=422)
    return end
