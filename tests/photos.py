"""Phone-like photos made in the test run: the metadata a real phone writes, and hostile files.

The scene is drawn upright (portrait 300 x 400: a green block top-left, red top half, blue
bottom half) and stored rotated, with EXIF orientation 6 ("rotate 90 degrees clockwise to
display"), the way phones write photos taken in portrait.
"""

from __future__ import annotations

import hashlib
import io
import random
import struct

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


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose SOF header claims ``width`` x ``height`` pixels."""
    real = encode(Image.new("RGB", (16, 16), RED), "JPEG")
    sof = real.index(b"\xff\xc0")
    # SOF0: marker, length(2), precision(1), height(2), width(2)
    return real[: sof + 5] + struct.pack(">HH", height, width) + real[sof + 9 :]


def hostile_files() -> dict[str, bytes]:
    """Name -> bytes of every file an upload must refuse with a clear 4xx."""
    good = phone_jpeg(trailing=b"")
    rng = random.Random(42)
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto showpage\n"
    return {
        "jpeg_claiming_20000x20000": jpeg_claiming(20_000, 20_000),
        "png_claiming_20000x20000": png_claiming(20_000, 20_000),
        "tiff_renamed_jpg": encode(upright_scene(), "TIFF"),
        "eps_renamed_jpg": eps,
        "jpeg_truncated_half": good[: len(good) // 2],
        "jpeg_truncated_header": good[:200],
        "random_bytes": rng.randbytes(50_000),
        "empty": b"",
    }
