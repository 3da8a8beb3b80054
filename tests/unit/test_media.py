"""The photo pipeline alone: validation, sanitising, perceptual hash (no Flask, no disk)."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageOps

from media.errors import MediaError
from media.phash import distance
from media.sanitise import FULL_SIDE, RESIZE_TOLERANCE, THUMB_SIDE, sanitise
from media.validate import Limits, decode_checked, open_image, sniff, validate
from tests.helpers.photos import (
    BLUE,
    GREEN,
    HEIGHT,
    INTERNALS,
    RED,
    REFUSAL_CODES,
    SECRETS,
    WIDTH,
    encode,
    hostile_files,
    jpeg_claiming,
    jpeg_scans,
    phone_jpeg,
    truncated_with_end_marker,
    upright_scene,
)

LIMITS = Limits(max_bytes=25 * 1024 * 1024, max_pixels=50_000_000)


def close(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=False))


def assert_upright_scene(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        width, height = image.size
        assert height > width, "portrait photo served sideways"
        image = image.convert("RGB")
        assert close(image.getpixel((width // 2, height // 4)), RED)
        assert close(image.getpixel((width // 2, 3 * height // 4)), BLUE)
        # The green block is top-left: not mirrored, not upside down.
        assert close(image.getpixel((width // 16, height // 32)), GREEN)
        assert close(image.getpixel((width - 5, height // 32)), RED)


def assert_no_metadata(data: bytes) -> None:
    for secret in SECRETS:
        assert secret not in data, f"{secret!r} survived sanitising"
    assert data.endswith(b"\xff\xd9"), "bytes after the end of the image"
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif()
        for key in ("exif", "icc_profile", "comment", "xmp", "XML:com.adobe.xmp"):
            assert key not in image.info


def test_the_test_photo_really_carries_what_must_be_removed():
    original = phone_jpeg()
    for secret in SECRETS:
        assert secret in original
    with Image.open(io.BytesIO(original)) as image:
        assert image.getexif()[0x0112] == 6
        assert image.size == (HEIGHT, WIDTH)  # stored sideways


def test_phone_photo_is_served_upright_without_any_metadata():
    result = sanitise(phone_jpeg(), LIMITS)
    assert (result.width, result.height) == (WIDTH, HEIGHT)
    for data in (result.full, result.thumb):
        assert_upright_scene(data)
        assert_no_metadata(data)


def test_large_photo_is_bounded_and_thumbnail_small():
    big = encode(upright_scene(3024, 4032), "JPEG", quality=90)
    result = sanitise(big, LIMITS)
    # Decoded at 1/2 scale, 1512 x 2016: within RESIZE_TOLERANCE of 2000, so served as decoded.
    assert FULL_SIDE <= max(result.width, result.height) <= FULL_SIDE * (1 + RESIZE_TOLERANCE)
    with Image.open(io.BytesIO(result.thumb)) as thumb:
        assert max(thumb.size) == THUMB_SIDE
    assert_upright_scene(result.full)


def test_a_draft_within_one_percent_of_the_target_is_served_as_decoded_without_metadata():
    # 3024 x 4032 (12 MP) stored sideways with EXIF orientation 6, GPS, ICC, comment: its 1/2
    # draft is 2016 px, 0.8 % over 2000, so no resampling; still upright and metadata-free.
    photo = phone_jpeg(3024, 4032)
    result = sanitise(photo, LIMITS)
    assert (result.width, result.height) == (1512, 2016)
    for data in (result.full, result.thumb):
        assert_upright_scene(data)
        assert_no_metadata(data)
    with Image.open(io.BytesIO(result.full)) as served:
        assert served.size == (1512, 2016)
    with Image.open(io.BytesIO(result.thumb)) as thumb:
        assert max(thumb.size) == THUMB_SIDE


def test_a_photo_more_than_one_percent_over_the_target_is_resized():
    # PNG decodes at full size: 2030 px is 1.5 % over 2000, 2019 px 0.95 %.
    over = sanitise(encode(upright_scene(2030, 1015), "PNG"), LIMITS)
    assert (over.width, over.height) == (FULL_SIDE, FULL_SIDE // 2)
    within = sanitise(encode(upright_scene(2019, 1010), "PNG"), LIMITS)
    assert (within.width, within.height) == (2019, 1010)


def test_png_with_transparency_is_flattened_onto_white():
    image = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    image.paste((20, 20, 220, 255), (100, 0, 200, 100))
    result = sanitise(encode(image, "PNG"), LIMITS)
    with Image.open(io.BytesIO(result.full)) as served:
        assert close(served.convert("RGB").getpixel((50, 50)), (255, 255, 255))
        assert close(served.convert("RGB").getpixel((150, 50)), BLUE)


def test_webp_is_accepted():
    info = validate(encode(upright_scene(), "WEBP"), LIMITS)
    assert (info.content_type, info.width, info.height) == ("image/webp", WIDTH, HEIGHT)


def test_heic_from_pillow_heif_encoder_is_sanitised():
    import pillow_heif

    if not pillow_heif.libheif_info()["HEIF"]:
        pytest.skip("this pillow-heif wheel has no HEIC encoder")
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x0110] = "iPhone 15 Pro"
    stored = upright_scene().transpose(Image.Transpose.ROTATE_90)
    data = encode(stored, "HEIF", quality=90, exif=exif.tobytes())
    assert sniff(data[:32]) == "HEIF"
    assert validate(data, LIMITS).content_type == "image/heic"
    result = sanitise(data, LIMITS)
    assert_upright_scene(result.full)
    assert_no_metadata(result.full)


@pytest.mark.parametrize("name", sorted(hostile_files()))
def test_hostile_files_are_refused_with_a_code(name):
    data = hostile_files()[name]
    with pytest.raises(MediaError) as caught:
        validate(data, LIMITS)
    assert caught.value.status in (413, 415, 422)
    assert caught.value.code in REFUSAL_CODES
    for internal in INTERNALS:
        assert internal not in caught.value.message, caught.value.message
    with pytest.raises(MediaError) as again:
        sanitise(data, LIMITS)
    assert again.value.code == caught.value.code


@pytest.mark.parametrize(
    "name,expected",
    [("tiff_renamed_jpg", 415), ("eps_renamed_jpg", 415), ("jpeg_truncated_half", 422)],
)
def test_status_separates_wrong_format_from_broken_file(name, expected):
    with pytest.raises(MediaError) as caught:
        validate(hostile_files()[name], LIMITS)
    assert caught.value.status == expected


def test_pixel_cap_is_ours_not_only_pillows():
    # 60 MP is under Pillow's own bomb threshold (2 x 89 MP) but over the configured cap.
    with pytest.raises(MediaError) as caught:
        validate(jpeg_claiming(10_000, 6_000), LIMITS)
    assert caught.value.code == "too_many_pixels"
    assert "10000 x 6000" in caught.value.message


def test_size_cap_is_checked_before_decoding():
    with pytest.raises(MediaError) as caught:
        validate(phone_jpeg(), Limits(max_bytes=1000, max_pixels=50_000_000))
    assert (caught.value.status, caught.value.code) == (413, "photo_too_large")


def test_magic_bytes_decide_not_the_beginning_of_a_name():
    assert sniff(b"\xff\xd8\xff\xe0" + b"\0" * 28) == "JPEG"
    assert sniff(b"II*\x00" + b"\0" * 28) is None
    assert sniff(b"\0\0\0\x18ftypavif" + b"\0" * 20) is None


def test_phash_same_scene_close_different_scene_far():
    a = sanitise(phone_jpeg(seed=1), LIMITS).phash
    # The same photo shared on by another phone: upright, smaller, recompressed, no EXIF.
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(phone_jpeg(seed=1))))
    recompressed = encode(upright.resize((150, 200)), "JPEG", quality=40)
    b = sanitise(recompressed, LIMITS).phash
    checker = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    for x in range(0, WIDTH, 50):
        for y in range(0, HEIGHT, 50):
            if (x + y) // 50 % 2:
                checker.paste((0, 0, 0), (x, y, x + 50, y + 50))
    c = sanitise(encode(checker, "JPEG"), LIMITS).phash
    assert len(a) == 16
    assert distance(a, b) <= 4
    assert distance(a, c) >= 16


def noise_photo(width: int = 1000, height: int = 800) -> Image.Image:
    return Image.blend(
        upright_scene(width, height), Image.effect_noise((width, height), 60).convert("RGB"), 0.3
    )


def mpo(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "MPO", save_all=True, append_images=[image.rotate(90)])
    return out.getvalue()


LEGIT_JPEGS = {
    "baseline": lambda: encode(noise_photo(), "JPEG", quality=90),
    "optimized": lambda: encode(noise_photo(), "JPEG", quality=50, optimize=True),
    "4:4:4": lambda: encode(noise_photo(), "JPEG", subsampling=0),
    "4:2:2": lambda: encode(noise_photo(), "JPEG", subsampling=1),
    "grey": lambda: encode(noise_photo().convert("L"), "JPEG"),
    "cmyk": lambda: encode(noise_photo().convert("CMYK"), "JPEG"),
    "cmyk progressive (18 scans)": lambda: encode(
        noise_photo().convert("CMYK"), "JPEG", progressive=True
    ),
    "progressive": lambda: encode(noise_photo(), "JPEG", progressive=True),
    "restart markers": lambda: encode(noise_photo(), "JPEG", restart_marker_blocks=1),
    "progressive with restart markers": lambda: encode(
        noise_photo(), "JPEG", progressive=True, restart_marker_rows=1
    ),
    "flat (2 bits a block)": lambda: encode(
        Image.new("RGB", (4000, 3000), (9, 99, 199)), "JPEG", optimize=True
    ),
    "flat progressive": lambda: encode(
        Image.new("RGB", (4000, 3000), (9, 99, 199)), "JPEG", optimize=True, progressive=True
    ),
    "1 x 1": lambda: encode(Image.new("RGB", (1, 1), RED), "JPEG"),
    "odd size": lambda: encode(noise_photo(1001, 777), "JPEG"),
    "phone (EXIF, ICC, XMP, trailer)": phone_jpeg,
    "mpo (second image after the first)": lambda: mpo(noise_photo()),
}


@pytest.mark.parametrize("name", sorted(LEGIT_JPEGS))
def test_real_jpegs_pass_the_structural_check_and_decode_to_the_same_pixels(name):
    data = LEGIT_JPEGS[name]()
    info = validate(data, LIMITS)
    _, image = open_image(data, LIMITS)
    decode_checked(image)
    with Image.open(io.BytesIO(data)) as plain:
        assert (info.width, info.height) == plain.size
        assert image.tobytes() == plain.convert(image.mode).tobytes()


def test_the_scan_limit_is_exact():
    data = encode(noise_photo(), "JPEG", progressive=True)
    assert len(jpeg_scans(data)) == 10
    validate(data, Limits(LIMITS.max_bytes, LIMITS.max_pixels, max_jpeg_scans=10))  # accepted
    with pytest.raises(MediaError) as caught:
        validate(data, Limits(LIMITS.max_bytes, LIMITS.max_pixels, max_jpeg_scans=9))
    assert (caught.value.status, caught.value.code) == (422, "too_many_scans")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.99])
def test_jpeg_cut_short_behind_an_end_marker_is_refused_by_the_decode_not_padded_grey(fraction):
    data = truncated_with_end_marker(encode(noise_photo(), "JPEG", quality=90), fraction)
    # What the issue found: Pillow alone decodes it, libjpeg padding the rest with grey.
    with Image.open(io.BytesIO(data)) as plain:
        plain.load()
    validate(data, LIMITS)  # its structure is intact: accepted without a decode
    with pytest.raises(MediaError) as caught:
        sanitise(data, LIMITS)
    assert caught.value.code == "corrupt_image"


def test_progressive_jpeg_cut_short_behind_an_end_marker_is_refused_by_its_restart_markers():
    data = encode(noise_photo(), "JPEG", progressive=True, restart_marker_rows=1)
    start, end = jpeg_scans(data)[-1]
    cut = data[: start + (end - start) // 2] + b"\xff\xd9"
    with pytest.raises(MediaError) as caught:
        validate(cut, LIMITS)
    assert caught.value.code == "corrupt_image"
    assert "truncated" in caught.value.message


def jpeg_with_comments(count: int) -> bytes:
    good = phone_jpeg()
    comment = b"\xff\xfe\x00\x04hi"
    return good[:2] + comment * count + good[2:]


def test_marker_segments_are_bounded():
    validate(jpeg_with_comments(3000), LIMITS)  # accepted
    with pytest.raises(MediaError) as caught:
        validate(jpeg_with_comments(5000), LIMITS)
    assert (caught.value.status, caught.value.code) == (422, "photo_too_complex")


def test_the_structural_check_runs_within_its_cpu_budget():
    tight = Limits(LIMITS.max_bytes, LIMITS.max_pixels, check_seconds=1e-6)
    with pytest.raises(MediaError) as caught:
        validate(jpeg_with_comments(3000), tight)
    assert (caught.value.status, caught.value.code) == (422, "photo_too_complex")


@pytest.mark.parametrize(
    "name,image,params",
    [
        # The most compressible image there is: ~1000:1, near deflate's limit of 1032:1.
        ("all white", Image.new("RGB", (3000, 3000), (255, 255, 255)), {"optimize": True}),
        ("interlaced", upright_scene(), {"interlace": 1}),
        ("16-bit grey", Image.new("I;16", (300, 200), 40000), {}),
        ("1-bit palette", Image.new("1", (333, 111), 1), {}),
        ("rgba", Image.new("RGBA", (200, 100), (1, 2, 3, 4)), {}),
    ],
)
def test_real_pngs_pass_the_structural_check(name, image, params):
    data = encode(image, "PNG", **params)
    info = validate(data, LIMITS)
    assert (info.width, info.height) == image.size
    result = sanitise(data, LIMITS)
    assert max(result.width, result.height) == min(FULL_SIDE, max(image.size))


def test_truncated_heic_is_refused_before_decoding():
    import pillow_heif

    if not pillow_heif.libheif_info()["HEIF"]:
        pytest.skip("this pillow-heif wheel has no HEIC encoder")
    data = encode(upright_scene(), "HEIF", quality=80)
    with pytest.raises(MediaError) as caught:
        validate(data[: len(data) * 3 // 4], LIMITS)
    assert caught.value.code == "corrupt_image"
    assert "truncated" in caught.value.message
