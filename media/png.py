"""The structure of a PNG, read without inflating its image data (PNG specification, 3rd ed.).

Walks the chunks: IHDR gives the size and pixel format, the IDAT chunks are measured, and
the file must reach IEND. Refused here: a header claiming more pixels than its compressed data
can possibly hold (deflate expands at most ``DEFLATE_MAX_RATIO`` times, so a 7000 x 7000 header
over the data of an 8 x 8 image cannot be real), a file cut before IEND, and more chunks than
``MAX_CHUNKS``. A real decompression bomb within the pixel cap (a huge all-white image
compresses ~1000:1) is a valid image and costs what MAX_PHOTO_PIXELS allows, in the job.
"""

from __future__ import annotations

from dataclasses import dataclass

from media.budget import Budget
from media.errors import MediaError

SIGNATURE = b"\x89PNG\r\n\x1a\n"

DEFLATE_MAX_RATIO = 1032
"""The most deflate can expand: a 258-byte match (the longest) coded in 2 bits, a 1-bit length
code and a 1-bit distance code (RFC 1951)."""

MAX_CHUNKS = 65_536
"""Chunks a PNG may have. Encoders split the image data into IDAT chunks of 8 KiB (libpng) to
1 MiB, so a 25 MiB PNG has at most a few thousand; this bounds the chunk walk's loop."""

# Colour type -> (samples per pixel, allowed bit depths).
_COLOUR_TYPES = {
    0: (1, (1, 2, 4, 8, 16)),
    2: (3, (8, 16)),
    3: (1, (1, 2, 4, 8)),
    4: (2, (8, 16)),
    6: (4, (8, 16)),
}
# Adam7 passes: first column, first row, column step, row step.
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    end: int
    """Offset just past IEND; bytes after it are not part of the image."""


def _corrupt(detail: str) -> MediaError:
    return MediaError("corrupt_image", f"The PNG is broken: {detail}.", status=422)


def _truncated() -> MediaError:
    return MediaError(
        "corrupt_image", "The PNG is truncated: it ends before its last chunk.", status=422
    )


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def inflated_size(width: int, height: int, bits_per_pixel: int, interlaced: bool) -> int:
    """Bytes the image data inflates to: each row is a filter byte and its packed pixels."""
    if not interlaced:
        return height * (1 + _ceil_div(width * bits_per_pixel, 8))
    total = 0
    for x0, y0, dx, dy in _ADAM7:
        columns = _ceil_div(width - x0, dx) if width > x0 else 0
        rows = _ceil_div(height - y0, dy) if height > y0 else 0
        if columns and rows:
            total += rows * (1 + _ceil_div(columns * bits_per_pixel, 8))
    return total


def _header(body: bytes, max_pixels: int) -> tuple[int, int, int, bool]:
    if len(body) != 13:
        raise _corrupt("its header chunk has the wrong length")
    width = int.from_bytes(body[0:4], "big")
    height = int.from_bytes(body[4:8], "big")
    depth, colour, compression, filtering, interlace = body[8:13]
    if not (0 < width < 2**31 and 0 < height < 2**31):
        raise _corrupt("its header gives an invalid size")
    if colour not in _COLOUR_TYPES or depth not in _COLOUR_TYPES[colour][1]:
        raise _corrupt("its header gives an invalid pixel format")
    if compression != 0 or filtering != 0 or interlace not in (0, 1):
        raise _corrupt("its header gives an unknown compression, filter or interlace method")
    if width * height > max_pixels:
        raise MediaError(
            "too_many_pixels",
            f"The image is too large ({width} x {height}); "
            f"at most {max_pixels} pixels are accepted.",
            status=422,
        )
    return width, height, depth * _COLOUR_TYPES[colour][0], interlace == 1


def _chunk(data: bytes, pos: int) -> tuple[bytes, int, int]:
    """The chunk at ``pos``: its type, where its data starts, where the chunk ends."""
    if pos + 12 > len(data):
        raise _truncated()
    length = int.from_bytes(data[pos : pos + 4], "big")
    kind = data[pos + 4 : pos + 8]
    if length >= 2**31 or not kind.isalpha():
        raise _corrupt("a chunk header is invalid")
    end = pos + 12 + length
    if end > len(data):
        raise _truncated()
    return kind, pos + 8, end


def parse(data: bytes, max_pixels: int, budget: Budget) -> Layout:
    """The layout of the PNG ``data`` (which starts with the signature), or MediaError."""
    kind, start, end = _chunk(data, len(SIGNATURE))
    if kind != b"IHDR":
        raise _corrupt("it does not start with its header chunk")
    width, height, bits_per_pixel, interlaced = _header(data[start : end - 4], max_pixels)
    image_bytes = 0
    for _ in range(MAX_CHUNKS):
        budget.check()
        kind, start, end = _chunk(data, end)
        if kind == b"IHDR":
            raise _corrupt("it has two header chunks")
        if kind == b"IDAT":
            image_bytes += end - 4 - start
        if kind == b"IEND":
            break
    else:
        raise MediaError(
            "photo_too_complex",
            f"The PNG has more than {MAX_CHUNKS} chunks; an image has a few thousand at most.",
            status=422,
        )
    if image_bytes == 0:
        raise _corrupt("it has no image data")
    needed = inflated_size(width, height, bits_per_pixel, interlaced)
    if needed > (image_bytes + 16) * DEFLATE_MAX_RATIO:
        raise MediaError(
            "corrupt_image",
            f"The PNG is truncated or its header is wrong: {image_bytes} bytes of compressed "
            f"image data cannot hold a {width} x {height} image.",
            status=422,
        )
    return Layout(width=width, height=height, end=end)
