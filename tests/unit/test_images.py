"""core.runtime.images.load_image: every accepted format and mode, EXIF orientation, and bad input."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from core.runtime.images import DEFAULT_MAX_PIXELS, ImageError, fit_within, load_image, max_pixels
from tests.images import encode, gradient_rgb, png_header_only

LOSSLESS = ["PNG", "BMP", "TIFF"]


@pytest.mark.parametrize("fmt", LOSSLESS)
def test_lossless_formats_round_trip_exactly(fmt):
    original = gradient_rgb()
    decoded = load_image(encode(original, fmt))
    assert decoded.dtype == np.uint8 and decoded.shape == (30, 40, 3)
    np.testing.assert_array_equal(decoded, np.asarray(original))


@pytest.mark.parametrize("fmt,params", [("JPEG", {"quality": 95}), ("WEBP", {"quality": 95})])
def test_lossy_formats_decode_close_to_the_original(fmt, params):
    original = np.asarray(gradient_rgb()).astype(int)
    decoded = load_image(encode(gradient_rgb(), fmt, **params))
    assert decoded.shape == (30, 40, 3)
    assert np.abs(decoded.astype(int) - original).mean() < 6


def test_gif_gives_the_first_frame():
    red = Image.new("RGB", (8, 6), (255, 0, 0))
    blue = Image.new("RGB", (8, 6), (0, 0, 255))
    data = encode(red, "GIF", save_all=True, append_images=[blue])
    decoded = load_image(data)
    assert decoded.shape == (6, 8, 3)
    assert tuple(decoded[0, 0]) == (255, 0, 0)


@pytest.mark.parametrize(
    "orientation,expected_shape", [(1, (30, 40, 3)), (3, (30, 40, 3)), (6, (40, 30, 3)), (8, (40, 30, 3))]
)
def test_exif_orientation_is_applied(orientation, expected_shape):
    original = gradient_rgb()
    exif = Image.Exif()
    exif[0x0112] = orientation
    decoded = load_image(encode(original, "PNG", exif=exif))
    assert decoded.shape == expected_shape
    rotated = {
        1: original,
        3: original.rotate(180),
        6: original.rotate(-90, expand=True),
        8: original.rotate(90, expand=True),
    }
    np.testing.assert_array_equal(decoded, np.asarray(rotated[orientation]))


def test_grayscale_becomes_three_equal_channels():
    gray = Image.fromarray(np.arange(48, dtype=np.uint8).reshape(6, 8))
    decoded = load_image(encode(gray, "PNG"))
    assert decoded.shape == (6, 8, 3)
    for channel in range(3):
        np.testing.assert_array_equal(decoded[:, :, channel], np.asarray(gray))


def test_transparent_pixels_are_composited_onto_white():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    rgba.putpixel((0, 0), (255, 0, 0, 255))
    rgba.putpixel((1, 0), (0, 0, 0, 128))
    decoded = load_image(encode(rgba, "PNG"))
    assert tuple(decoded[0, 0]) == (255, 0, 0)
    assert tuple(decoded[3, 3]) == (255, 255, 255)
    assert all(120 <= value <= 130 for value in decoded[0, 1])  # half black over white


def test_gray_with_alpha_and_palette_with_transparency():
    la = Image.new("LA", (3, 3), (0, 0))
    assert tuple(load_image(encode(la, "PNG"))[1, 1]) == (255, 255, 255)
    palette = Image.new("P", (3, 3), 1)
    palette.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    opaque = load_image(encode(palette, "PNG"))
    assert tuple(opaque[0, 0]) == (10, 200, 30)
    transparent = load_image(encode(palette, "PNG", transparency=1))
    assert tuple(transparent[0, 0]) == (255, 255, 255)


def test_cmyk_jpeg_becomes_rgb():
    cmyk = Image.new("CMYK", (5, 5), (0, 255, 255, 0))  # pure red in CMYK
    decoded = load_image(encode(cmyk, "JPEG", quality=100))
    assert decoded.shape == (5, 5, 3)
    red, green, blue = decoded[2, 2].astype(int)
    assert red > 200 and green < 60 and blue < 60


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_sixteen_bit_grayscale_keeps_its_range(fmt):
    values = np.array([[0, 32768, 65535]], dtype=np.uint16)
    image = Image.fromarray(values)
    decoded = load_image(encode(image, fmt))
    assert decoded.shape == (1, 3, 3)
    np.testing.assert_array_equal(decoded[0, :, 0], [0, 128, 255])


def test_float_tiff_is_stretched_to_the_full_range():
    values = np.array([[-1.0, 0.0, 3.0]], dtype=np.float32)
    decoded = load_image(encode(Image.fromarray(values), "TIFF"))
    np.testing.assert_array_equal(decoded[0, :, 1], [0, 64, 255])


@pytest.mark.parametrize(
    "data,phrase",
    [
        (b"", "empty"),
        (b"hello, this is text", "not an image"),
        (b"%PDF-1.7\n" + b"0" * 200, "not an image"),
        (png_header_only(0, 5), "width or height of zero"),
        (png_header_only(7000, 7000), "too large (7000×7000"),
        (png_header_only(20000, 20000), "too large"),
    ],
    ids=["empty", "text", "pdf", "zero-width", "over-limit", "bomb"],
)
def test_bad_input_raises_image_error_with_a_readable_message(data, phrase):
    with pytest.raises(ImageError, match=re.escape(phrase)):
        load_image(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "TIFF", "BMP"])
def test_truncated_files_are_reported_as_corrupt(fmt):
    data = encode(gradient_rgb(200, 150), fmt)
    with pytest.raises(ImageError, match="truncated or corrupt|damaged"):
        load_image(data[: len(data) // 2])


def test_formats_outside_the_list_are_refused():
    data = encode(gradient_rgb(), "PPM")
    with pytest.raises(ImageError, match="not an image"):
        load_image(data)


def test_pixel_limit_comes_from_the_environment(monkeypatch):
    data = encode(gradient_rgb(40, 30), "PNG")
    assert max_pixels() == DEFAULT_MAX_PIXELS
    monkeypatch.setenv("CNNLAB_MAX_PIXELS", "1000")
    with pytest.raises(ImageError, match="limit is 0.001 megapixels"):
        load_image(data)
    assert load_image(data, pixel_limit=1200).shape == (30, 40, 3)


def _assert_image_or_image_error(data: bytes) -> None:
    try:
        image = load_image(data, pixel_limit=2_000_000)
    except ImageError as error:
        assert str(error)
        return
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert image.shape[0] > 0 and image.shape[1] > 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_any_bytes_give_an_image_or_image_error(data):
    _assert_image_or_image_error(data)


SAMPLES = {fmt: encode(gradient_rgb(24, 16), fmt) for fmt in ["PNG", "JPEG", "GIF", "WEBP", "TIFF", "BMP"]}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(SAMPLES)),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    st.integers(0, 10_000),
)
def test_damaged_real_files_give_an_image_or_image_error(fmt, flips, cut):
    data = bytearray(SAMPLES[fmt])
    for position, value in flips:
        data[position % len(data)] = value
    _assert_image_or_image_error(bytes(data[: max(1, len(data) - cut)]))


def test_garbage_is_refused_cleanly_after_ultralytics_patched_pillow(monkeypatch):
    """ultralytics replaces PIL.Image.open with a wrapper that reaches for pi-heif on an
    unidentified file; with pi-heif pinned, that path neither installs nor crashes."""
    import ultralytics.utils.patches  # noqa: F401  (applies the patch)
    from ultralytics.utils import checks

    installs = []

    def no_install(*args, **kwargs):
        installs.append(args)
        raise RuntimeError("no installs in tests")

    monkeypatch.setattr(checks, "ONLINE", True)  # as on a hosted server with internet
    monkeypatch.setattr(checks, "AUTOINSTALL", True)
    monkeypatch.setattr(checks, "check_uv", lambda: False)
    monkeypatch.setattr(checks.subprocess, "run", no_install)
    monkeypatch.setattr(checks.subprocess, "check_output", no_install)
    with pytest.raises(ImageError, match="not an image"):
        load_image(b"this is plain text, not a picture at all")
    assert installs == []  # load_image catches everything, so the install attempt is checked here


def test_a_label_map_is_shrunk_by_nearest_neighbour_so_every_value_stays_a_class():
    labels = np.zeros((900, 1200), np.uint8)
    labels[:, 605:] = 3  # two classes side by side: area resampling would blend them into 1s and 2s
    small = fit_within(labels, 120, labels=True)
    assert small.shape == (90, 120) and set(np.unique(small)) == {0, 3}
    assert set(np.unique(fit_within(labels, 120))) > {0, 3}
