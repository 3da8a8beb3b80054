"""A 64-bit perceptual hash, for finding the same scene photographed twice."""

from __future__ import annotations

import imagehash
from PIL import Image


def phash(image: Image.Image) -> str:
    """The DCT perceptual hash (ImageHash's phash, 8 x 8 bits) as 16 hex digits."""
    return str(imagehash.phash(image, hash_size=8))


def distance(a: str, b: str) -> int:
    """Hamming distance between two hashes from ``phash`` (0 to 64; 0 for the same picture)."""
    return int(imagehash.hex_to_hash(a) - imagehash.hex_to_hash(b))
