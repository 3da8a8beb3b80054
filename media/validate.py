"""Decide, from the bytes alone, whether an upload is a photo this service will decode.

Order matters: the size cap is checked before anything is parsed, the format is sniffed from
the file's own magic bytes (never from a name or a Content-Type header), the header's pixel
count is checked before any pixel is decoded, and only then is the image decoded once, so that
a truncated file is refused at upload time rather than discovered by the worker.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image

from media import heif
from media.errors import MediaError

heif.register()

CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
}
"""The allowlist: Pillow format name to the content type recorded for the original."""

# ISO-BMFF major brands of still HEIF/HEIC images (ISO/IEC 23008-12 annex; what iPhones and
# Android cameras write). AVIF ("avif") is deliberately absent: no AVIF decoder is built in.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"hevc", b"hevx"})


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    """Largest file accepted, checked before anything is parsed."""
    max_pixels: int
    """Largest width x height accepted, checked from the header before decoding."""


@dataclass(frozen=True)
class ImageInfo:
    format: str
    content_type: str
    width: int
    height: int


def sniff(head: bytes) -> str | None:
    """The Pillow format name of an allowlisted image from its first bytes, else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "HEIF"
    return None


def _describe(head: bytes) -> str:
    """A name for a refused format, so the client's error says what it sent."""
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    if head.startswith((b"%!PS", b"\xc5\xd0\xd3\xc6")):
        return "EPS/PostScript"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"BM"):
        return "BMP"
    if head.startswith(b"%PDF"):
        return "PDF"
    if head[4:8] == b"ftyp":
        return f"ISO media ({head[8:12].decode('ascii', 'replace')})"
    return "unknown"


def open_image(data: bytes, limits: Limits) -> Image.Image:
    """Open ``data`` lazily after the byte, format and pixel checks; nothing decoded yet.

    Raises MediaError for anything refused. Pillow's decompression-bomb warning is turned into
    an error here, so the bomb check holds whatever the process's warning filters are.
    """
    if len(data) > limits.max_bytes:
        raise MediaError(
            "photo_too_large",
            f"The photo is {len(data)} bytes; at most {limits.max_bytes} are accepted.",
            status=413,
        )
    if not data:
        raise MediaError("empty_photo", "The photo is empty.", status=422)
    fmt = sniff(data[:32])
    if fmt is None:
        raise MediaError(
            "unsupported_format",
            f"Only JPEG, PNG, WebP and HEIC photos are accepted; this is {_describe(data[:32])}.",
            status=415,
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(limits) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError(
            "corrupt_image", f"The {fmt} header cannot be read: {exc}", status=422
        ) from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise MediaError("corrupt_image", "The image has no pixels.", status=422)
    if width * height > limits.max_pixels:
        image.close()
        raise _too_many_pixels(limits, width, height)
    return image


def _too_many_pixels(limits: Limits, width: int = 0, height: int = 0) -> MediaError:
    size = f" ({width} x {height})" if width else ""
    return MediaError(
        "too_many_pixels",
        f"The image is too large{size}; at most {limits.max_pixels} pixels are accepted.",
        status=422,
    )


def draft(image: Image.Image, longest_side: int) -> None:
    """For a JPEG, let libjpeg scale by 1/2, 1/4 or 1/8 while decoding, keeping the longest
    side at least ``longest_side``; other formats decode at full size. Call before loading."""
    if image.format != "JPEG":
        return
    longest = max(image.size)
    if longest_side >= longest:
        return
    box = (
        max(1, -(-image.width * longest_side // longest)),
        max(1, -(-image.height * longest_side // longest)),
    )
    image.draft("RGB", box)


def decode_checked(image: Image.Image) -> None:
    """Decode every byte of ``image`` so that truncation or corruption surfaces now."""
    fmt = image.format
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(
            "too_many_pixels", "The image is too large to decode.", status=422
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError(
            "corrupt_image", f"The {fmt} image data is broken or truncated: {exc}", status=422
        ) from exc


def validate(data: bytes, limits: Limits) -> ImageInfo:
    """Check ``data`` completely (bytes, format, pixels, a full decode) and describe it."""
    image = open_image(data, limits)
    try:
        fmt = str(image.format)
        width, height = image.size
        # Draft mode at 1/8 scale still walks the whole entropy-coded stream (so a truncated
        # JPEG still fails) while keeping 1/64 of the pixels: a cheap check of 12 MP photos.
        draft(image, 1)
        decode_checked(image)
    finally:
        image.close()
    return ImageInfo(format=fmt, content_type=CONTENT_TYPES[fmt], width=width, height=height)
