"""Photos per second through the whole pipeline, beside a bare Pillow decode + encode.

Both run in the same process on the same 12-megapixel (4032 x 3024) phone-like JPEGs, made in
this run: the pipeline is what the upload and the media job do (validate: the structural
check, no decode; then the one decode, at draft scale, orientation, sRGB, fresh pixels, resize
to 2000 px, thumbnail, perceptual hash, two atomic fsynced writes); the baseline is Image.open
+ load + save as JPEG at the same quality, with no resizing. The ratio is pipeline / baseline
throughput.

    .venv/bin/python benchmarks/bench_photos.py [--photos 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections.abc import Callable

from PIL import Image, ImageDraw

from media.sanitise import JPEG_QUALITY, sanitise
from media.storage import FileStorage, key
from media.validate import Limits, validate

LIMITS = Limits(max_bytes=25 * 1024 * 1024, max_pixels=50_000_000)
SIZE = (4032, 3024)


def phone_photo(seed: int) -> bytes:
    """A 12 MP JPEG with photo-like detail (gradients, shapes, sensor noise) and EXIF."""
    base = Image.linear_gradient("L").resize(SIZE).convert("RGB")
    draw = ImageDraw.Draw(base)
    for i in range(40):
        x, y = (seed * 7919 + i * 104729) % SIZE[0], (seed * 3571 + i * 7907) % SIZE[1]
        draw.ellipse((x, y, x + 400, y + 300), fill=((i * 37) % 256, (i * 91) % 256, seed % 256))
    noise = Image.effect_noise(SIZE, 40).convert("RGB")
    photo = Image.blend(base, noise, 0.25)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x0110] = "iPhone 15 Pro"
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def baseline(data: bytes, _: FileStorage, __: str) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        image.save(io.BytesIO(), "JPEG", quality=JPEG_QUALITY)


def pipeline(data: bytes, storage: FileStorage, name: str) -> None:
    validate(data, LIMITS)
    result = sanitise(data, LIMITS)
    storage.put(key("full", name), result.full)
    storage.put(key("thumb", name), result.thumb)


def rate(
    step: Callable[[bytes, FileStorage, str], None], photos: list[bytes], rounds: int
) -> float:
    best = 0.0
    with tempfile.TemporaryDirectory() as root:
        storage = FileStorage(root)
        for _ in range(rounds):
            start = time.perf_counter()
            for index, data in enumerate(photos):
                step(data, storage, f"{index:064x}")
            best = max(best, len(photos) / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    photos = [phone_photo(seed) for seed in range(args.photos)]
    mean_mb = sum(map(len, photos)) / len(photos) / 1e6
    print(f"{len(photos)} JPEGs {SIZE[0]}x{SIZE[1]}, mean {mean_mb:.1f} MB, best of {args.rounds}")
    bare = rate(baseline, photos, args.rounds)
    full = rate(pipeline, photos, args.rounds)
    print(f"bare Pillow decode+encode : {bare:6.2f} photos/s")
    print(f"whole pipeline            : {full:6.2f} photos/s")
    print(f"ratio pipeline / bare     : {full / bare:6.2f}x")


if __name__ == "__main__":
    main()
