"""Turn an uploaded photo into the only images ever served: upright, metadata-free JPEGs.

Photos of public places catch bystanders and carry GPS position and device data. Rather than
deleting known metadata fields, the pixels are copied into a brand-new image and re-encoded,
so nothing from the original file (EXIF, GPS, XMP, ICC profile, comments, MakerNotes, trailing
bytes after the image) can survive: the encoder is never given anything but pixels.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps

from media.phash import phash
from media.validate import Limits, decode_checked, draft, open_image

FULL_SIDE = 2000
"""Longest side of the served photo (up to ``RESIZE_TOLERANCE`` more): sharp on any phone
screen and on a supervisor's desktop, and well under 1 MB as JPEG against 3-12 MB for the
original. Just under half the 4032 px of a 12 MP phone photo, so JPEG draft decoding can halve
it for free (see ``draft``)."""

THUMB_SIDE = 320
"""Longest side of the list thumbnail: 160 CSS px at 2x density."""

RESIZE_TOLERANCE = 0.01
"""A decoded photo whose longest side is at most this much over the target is served at its
decoded size: a 12 MP photo's 1/2 draft is 2016 px, 0.8 % over 2000, and resampling it to 2000
took 31 % of the job for a difference no screen shows (issue 20: PSNR against the resized
output 35.40 vs 35.48 dB)."""

JPEG_QUALITY = 85
"""libjpeg quality: above ~85 file size grows fast for no visible gain on photos."""

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True)
class Derivatives:
    full: bytes
    thumb: bytes
    width: int
    height: int
    phash: str
    source_format: str


def _to_srgb(image: Image.Image) -> Image.Image:
    """Pixels in sRGB, so dropping the ICC profile does not shift the colours."""
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            # A broken profile is metadata like any other: ignore it, keep the pixels.
            converted = None
        if converted is not None:
            return converted
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        # Transparent areas (screenshots, PNG crops) become white, as they look on a page.
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        background.alpha_composite(rgba)
        return background.convert("RGB")
    return image.convert("RGB")


def _fresh(image: Image.Image) -> Image.Image:
    """A new image holding only ``image``'s pixels: no info dict, no EXIF, nothing else."""
    clean = Image.new("RGB", image.size)
    clean.paste(image)
    return clean


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    # Only pixels and these settings reach the encoder: no exif=, icc_profile= or comment=.
    # Baseline, not progressive: progressive encoding took 4x as long for ~5% fewer bytes.
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def sanitise(
    data: bytes,
    limits: Limits,
    full_side: int = FULL_SIDE,
    thumb_side: int = THUMB_SIDE,
    resize_tolerance: float = RESIZE_TOLERANCE,
) -> Derivatives:
    """Validate ``data`` and make the served full image, the thumbnail and the perceptual hash.

    Raises MediaError when the photo is refused; any other exception is an I/O fault.
    """
    fmt, image = open_image(data, limits)
    try:
        # A 12 MP photo (4032 x 3024) bound for 2000 px is decoded at 2016 x 1512: a quarter
        # of the pixels, and of the decoding and resampling work.
        draft(image, full_side)
        decode_checked(image)
        # Scale before turning upright and converting colours: both then touch a quarter of
        # the pixels. thumbnail() keeps the EXIF that exif_transpose reads next.
        if max(image.size) > full_side * (1 + resize_tolerance):
            image.thumbnail((full_side, full_side), Image.Resampling.LANCZOS)
        try:
            with warnings.catch_warnings():
                # A malformed EXIF block must not stop the photo: it is dropped anyway.
                warnings.simplefilter("ignore")
                upright = ImageOps.exif_transpose(image)
        except (OSError, SyntaxError, ValueError, TypeError, KeyError):
            upright = image
        rgb = _fresh(_to_srgb(upright))
    finally:
        image.close()
    thumb = rgb.copy()
    thumb.thumbnail((thumb_side, thumb_side), Image.Resampling.LANCZOS)
    return Derivatives(
        full=_jpeg(rgb),
        thumb=_jpeg(thumb),
        width=rgb.width,
        height=rgb.height,
        phash=phash(thumb),
        source_format=fmt,
    )
