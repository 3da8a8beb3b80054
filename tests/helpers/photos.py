"""Phone-like photos made in the test run: the metadata a real phone writes, and hostile files.

The scene is drawn upright (portrait 300 x 400: a green block top-left, red top half, blue
bottom half) and stored rotated, with EXIF orientation 6 ("rotate 90 degrees clockwise to
display"), the way phones write photos taken in portrait.
"""

from __future__ import annotations

import functools
import hashlib
import io
import random
import struct
import zlib

from PIL import Image, ImageCms, ImageDraw

RED = (220, 20, 20)
BLUE = (20, 20, 220)
GREEN = (20, 200, 20)
WIDTH, HEIGHT = 300, 400  # upright, as displayed

GPS_LATITUDE = (59.0, 19.0, 58.2)  # Sergels Torg
SECRETS = (
    b"Exif",
    b"iPhone 15 Pro",
    b"Apple",
    b"GPS-SECRET-COMMENT",
    b"http://ns.adobe.com/xap/1.0/",
    b"XMP-SECRET",
    b"ICC_PROFILE",
    b"TRAILER-SECRET",
)
"""Byte strings a phone photo carries that must never leave the server."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upright_scene(width: int = WIDTH, height: int = HEIGHT) -> Image.Image:
    image = Image.new("RGB", (width, height), RED)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height // 2, width, height), fill=BLUE)
    draw.rectangle((0, 0, width // 4, height // 8), fill=GREEN)
    return image


def phone_jpeg(
    width: int = WIDTH,
    height: int = HEIGHT,
    seed: int = 0,
    trailing: bytes = b"TRAILER-SECRET 59.3293N 18.0686E",
) -> bytes:
    """A JPEG as a phone writes it in portrait: stored sideways with orientation 6, EXIF with
    make, model and a GPS IFD, XMP, an ICC profile, a comment, and bytes after the image."""
    scene = upright_scene(width, height)
    if seed:
        # A few random dots so photos from different seeds have different hashes.
        rng = random.Random(seed)
        draw = ImageDraw.Draw(scene)
        for _ in range(20):
            x, y = rng.randrange(width // 4, width), rng.randrange(height // 8, height)
            draw.point((x, y), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    stored = scene.transpose(Image.Transpose.ROTATE_90)  # displayed after a clockwise turn
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "Apple"  # Make
    exif[0x0110] = "iPhone 15 Pro"  # Model
    exif[0x8825] = {  # GPSInfo IFD
        1: "N",
        2: GPS_LATITUDE,
        3: "E",
        4: (18.0, 4.0, 7.0),
    }
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">XMP-SECRET</rdf:RDF>'
        b"</x:xmpmeta>"
    )
    out = io.BytesIO()
    stored.save(
        out,
        "JPEG",
        quality=92,
        exif=exif.tobytes(),
        icc_profile=icc,
        comment=b"GPS-SECRET-COMMENT",
        xmp=xmp,
    )
    return out.getvalue() + trailing


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb)."""
    real = encode(Image.new("RGB", (8, 8), RED), "PNG")
    ihdr_at = real.index(b"IHDR")
    body = struct.pack(">II", width, height) + real[ihdr_at + 12 : ihdr_at + 17]
    chunk = b"IHDR" + body
    import zlib

    crc = struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
    return real[: ihdr_at - 4] + struct.pack(">I", len(body)) + chunk + crc + real[ihdr_at + 21 :]


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_text_bomb(inflated: int = 16 * 1024 * 1024) -> bytes:
    """A small PNG with a zTXt comment that inflates to ``inflated`` bytes."""
    real = encode(Image.new("RGB", (8, 8), RED), "PNG")
    idat_at = real.index(b"IDAT") - 4
    bomb = png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"A" * inflated, 9))
    return real[:idat_at] + bomb + real[idat_at:]


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose SOF header claims ``width`` x ``height`` pixels."""
    real = encode(Image.new("RGB", (16, 16), RED), "JPEG")
    sof = real.index(b"\xff\xc0")
    # SOF0: marker, length(2), precision(1), height(2), width(2)
    return real[: sof + 5] + struct.pack(">HH", height, width) + real[sof + 9 :]


def scan_bomb_jpeg(repeats: int = 5000, size: int = 2000) -> bytes:
    """A progressive JPEG with its last scan repeated ``repeats`` times before the end marker:
    ~94 KB that cost libjpeg a pass over every block per scan (seconds of CPU)."""
    flat = encode(Image.new("RGB", (size, size), (120, 130, 140)), "JPEG", progressive=True)
    # Inside entropy-coded data 0xFF is always followed by 0x00 or a restart code, so the last
    # FF DA is the last scan's header; FF D9 the end marker.
    last, end = flat.rindex(b"\xff\xda"), flat.rindex(b"\xff\xd9")
    return flat[:end] + flat[last:end] * repeats + flat[end:]


def jpeg_scans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each scan (its header and entropy-coded data) of a JPEG without EXIF."""
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xDA]
    ends = []
    for start in starts:
        i = start + 2 + int.from_bytes(data[start + 2 : start + 4], "big")
        while not (data[i] == 0xFF and data[i + 1] not in (0x00, *range(0xD0, 0xD8))):
            i += 1
        ends.append(i)
    return list(zip(starts, ends, strict=True))


def with_sof(data: bytes, code: int = 0xC0, precision: int = 8) -> bytes:
    """``data`` (a baseline JPEG) with another frame type or sample precision."""
    sof = data.index(b"\xff\xc0")
    return (
        data[:sof]
        + bytes((0xFF, code))
        + data[sof + 2 : sof + 4]
        + bytes((precision,))
        + data[sof + 5 :]
    )


def truncated_with_end_marker(data: bytes, fraction: float = 0.5) -> bytes:
    """The first ``fraction`` of a JPEG's single scan, then an end marker: what libjpeg pads
    with grey (and only warns about)."""
    start, end = jpeg_scans(data)[-1]
    return data[: start + int((end - start) * fraction)] + b"\xff\xd9"


REFUSAL_CODES = frozenset(
    {
        "too_many_pixels",
        "too_many_scans",
        "unsupported_format",
        "corrupt_image",
        "empty_photo",
        "photo_too_complex",
    }
)
"""The codes a refused photo gets (besides 413 photo_too_large)."""

INTERNALS = ("0x", "<", ">", "PIL", "Plugin", "BytesIO", "object at", "Error", "errno")
"""What a client-facing message never shows: reprs, addresses, Pillow's module names."""


def hostile_files() -> dict[str, bytes]:
    """Name -> bytes of every file an upload must refuse with a clear 4xx."""
    return dict(_hostile_files())


@functools.cache
def _hostile_files() -> dict[str, bytes]:
    good = phone_jpeg(trailing=b"")
    rng = random.Random(42)
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto showpage\n"
    progressive = encode(upright_scene(), "JPEG", progressive=True)
    scans = jpeg_scans(progressive)
    png = encode(upright_scene(), "PNG")
    webp = encode(upright_scene(), "WEBP")
    return {
        "jpeg_claiming_20000x20000": jpeg_claiming(20_000, 20_000),
        "jpeg_claiming_7000x7000_over_16x16_data": jpeg_claiming(7_000, 7_000),
        "jpeg_scan_bomb_5000_scans": scan_bomb_jpeg(),
        "jpeg_arithmetic_coded": with_sof(good, code=0xC9),
        "jpeg_lossless": with_sof(good, code=0xC3),
        "jpeg_12_bit": with_sof(good, precision=12),
        "jpeg_progressive_without_dc_scan": progressive[: scans[0][0]] + progressive[scans[0][1] :],
        "jpeg_progressive_scan_repeated": (
            progressive[: scans[-1][1]]
            + progressive[slice(*scans[-1])]
            + progressive[scans[-1][1] :]
        ),
        "jpeg_without_end_marker": good[:-2],
        "jpeg_soi_only": good[:3],
        "png_claiming_20000x20000": png_claiming(20_000, 20_000),
        "png_claiming_7000x7000_over_8x8_data": png_claiming(7_000, 7_000),
        "png_text_chunk_bomb": png_with_text_bomb(),
        "png_truncated": png[: len(png) // 2],
        "webp_truncated": webp[: len(webp) // 2],
        "tiff_renamed_jpg": encode(upright_scene(), "TIFF"),
        "eps_renamed_jpg": eps,
        "gif": encode(upright_scene(), "GIF"),
        "jpeg_truncated_half": good[: len(good) // 2],
        "jpeg_truncated_header": good[:200],
        "random_bytes": rng.randbytes(50_000),
        "one_byte": b"\xff",
        "empty": b"",
    }
