"""Decide, from the bytes alone and without decoding a pixel, whether an upload is a photo this
service will take.

Order matters: the size cap is checked before anything is parsed, the format is sniffed from
the file's own magic bytes (never from a name or a Content-Type header), and the container is
walked structurally (``media.jpeg``, ``media.png``, ``media.heif``, ``media.webp``): header size
against the pixel cap, a JPEG's scan count, image data that can cover the declared size, and
the end of the image reached. All of it within a CPU-time budget (``media.budget``), before
Pillow opens the header. The one decode of a photo happens later, in the media job
(``media.sanitise``), on ``decoder_input``: for a single-scan JPEG that input makes an early
end of the image data an error instead of grey padding.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from media import heif, jpeg, png, webp
from media.budget import CHECK_SECONDS, Budget
from media.errors import MediaError

heif.register()
log = logging.getLogger(__name__)

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

NAMES = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "HEIF": "HEIC"}
"""Format names as clients know them (Pillow reads a JPEG carrying more images as MPO)."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    """Largest file accepted, checked before anything is parsed."""
    max_pixels: int
    """Largest width x height accepted, checked from the header before decoding."""
    max_jpeg_scans: int = jpeg.MAX_SCANS
    """Most scans a JPEG may have (each costs the decoder a pass over every block)."""
    check_seconds: float = CHECK_SECONDS
    """CPU time the structural check of one photo may take."""


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
    if head.startswith(png.SIGNATURE):
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
        brand = head[8:12].decode("ascii", "replace")
        return f"ISO media of brand {brand!r}" if brand.isprintable() else "ISO media"
    return "not an image format this service knows"


def _structure(data: bytes, limits: Limits) -> tuple[str, Budget, Callable[[], bytes]]:
    """Check everything but the header Pillow reads: size, format, structure. Returns the
    format, the budget running, and how to make the bytes the decoder is to get."""
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
    budget = Budget(limits.check_seconds)
    if fmt == "JPEG":
        layout = jpeg.parse(data, limits.max_pixels, limits.max_jpeg_scans, budget)
        return fmt, budget, lambda: layout.decoder_input(data)
    if fmt == "PNG":
        end = png.parse(data, limits.max_pixels, budget).end
    elif fmt == "WEBP":
        end = webp.check(data, budget)
    else:
        end = heif.check_boxes(data, budget)
    return fmt, budget, lambda: data if end == len(data) else data[:end]


def _open(fmt: str, source: bytes, limits: Limits, budget: Budget) -> Image.Image:
    """Pillow's lazy open of ``source`` (its header, no pixels), with the pixel cap."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(source), formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(limits) from exc
    except MemoryError:
        raise
    except Exception as exc:
        # The bytes are in memory: whatever the header parser raises is the file's fault. Its
        # text (Pillow's internals, a repr) is for the log, not for the client.
        log.info("%s header refused by the decoder: %r", fmt, exc)
        raise MediaError(
            "corrupt_image",
            f"The {NAMES[fmt]} file cannot be read: its header or metadata is broken.",
            status=422,
        ) from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        image.close()
        raise MediaError("corrupt_image", "The image has no pixels.", status=422)
    if width * height > limits.max_pixels:
        image.close()
        raise _too_many_pixels(limits, width, height)
    budget.check()
    return image


def open_image(data: bytes, limits: Limits) -> tuple[str, Image.Image]:
    """Check ``data`` and open what the decoder is to get, lazily: no pixel is decoded yet.
    Returns the format (a key of CONTENT_TYPES) and the image.

    Raises MediaError for anything refused. Pillow's decompression-bomb warning is turned into
    an error here, so the bomb check holds whatever the process's warning filters are.
    """
    fmt, budget, source = _structure(data, limits)
    return fmt, _open(fmt, source(), limits, budget)


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
    if image.format not in ("JPEG", "MPO"):  # MPO: a JPEG with more images after it
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
    """Decode every byte of ``image``, so that truncation or corruption is refused now."""
    name = NAMES.get(str(image.format), "image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(
            "too_many_pixels", "The image is too large to decode.", status=422
        ) from exc
    except MemoryError:
        raise
    except Exception as exc:
        # Decoded from bytes in memory: any error is the file's, never a fault to retry.
        log.info("%s image data refused by the decoder: %r", name, exc)
        raise MediaError(
            "corrupt_image",
            f"The {name} image data is broken or truncated.",
            status=422,
        ) from exc


def validate(data: bytes, limits: Limits) -> ImageInfo:
    """Check ``data`` without decoding it (size, format, structure, header) and describe it."""
    fmt, budget, _ = _structure(data, limits)
    image = _open(fmt, data, limits, budget)
    width, height = image.size
    image.close()
    return ImageInfo(format=fmt, content_type=CONTENT_TYPES[fmt], width=width, height=height)
