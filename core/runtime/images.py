"""Decoding uploads: any image file a person might have -> an (H, W, 3) uint8 RGB array.

Every page that takes a picture calls ``load_image``. It reads PNG, JPEG, WebP, BMP,
GIF (first frame) and TIFF, applies the EXIF orientation a phone wrote, and converts
grayscale, palette, transparent (composited onto white), CMYK and 16-bit images to
8-bit RGB. Anything else raises ``ImageError`` with a sentence a person understands:
for any byte string the result is an image or an ``ImageError``, never another error.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np
from PIL import Image, ImageOps

from core.runtime.errors import UserError

MAX_PIXELS_ENV_VAR = "CNNLAB_MAX_PIXELS"
DEFAULT_MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")  # multi-picture JPEGs open as JPEG
ACCEPTED_EXTENSIONS = ("png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff")
_FORMAT_NAMES = "PNG, JPEG, WebP, BMP, GIF or TIFF"


class ImageError(UserError):
    """An upload that is not a usable image; the message is meant for the user."""


def max_pixels() -> int:
    """The largest image accepted, in pixels: ``CNNLAB_MAX_PIXELS`` or 40 megapixels."""
    value = os.environ.get(MAX_PIXELS_ENV_VAR, "")
    return int(value) if value.strip().isdigit() and int(value) > 0 else DEFAULT_MAX_PIXELS


def load_image(data: bytes, pixel_limit: int | None = None) -> np.ndarray:
    """Decode ``data`` into an (H, W, 3) uint8 RGB array, or raise ``ImageError``."""
    limit = max_pixels() if pixel_limit is None else pixel_limit
    if not data:
        raise ImageError("The file is empty: choose an image file and upload it again.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns of bombs and odd metadata; we decide here
        try:
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        except Image.DecompressionBombError:
            raise _too_large(None, limit) from None
        except Exception:
            raise _unreadable(data) from None
        width, height = image.size
        if width * height > limit:
            raise _too_large((width, height), limit)
        try:
            image.load()
            image = ImageOps.exif_transpose(image)
            rgb = _to_rgb(image)
        except Exception:
            raise ImageError(
                "The image file is truncated or corrupt, so it cannot be decoded. "
                "Try exporting it again or choose another file."
            ) from None
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def _unreadable(data: bytes) -> ImageError:
    """Tell a damaged image (known signature, unusable header) from a file that is no image."""
    kind = next((name for magic, name in _SIGNATURES if data.startswith(magic)), None)
    if kind is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind = "WebP"
    if kind is None:
        return ImageError(f"This file is not an image CNN Lab can read. Upload a {_FORMAT_NAMES} file.")
    return ImageError(
        f"This {kind} file is damaged: its header cannot be read or declares an impossible size, "
        "such as a width or height of zero. Export the image again or choose another file."
    )


def _too_large(size: tuple[int, int] | None, limit: int) -> ImageError:
    shown = f" ({size[0]}×{size[1]} = {size[0] * size[1] / 1e6:.1f} megapixels)" if size else ""
    return ImageError(
        f"The image is too large{shown}: the limit is {limit / 1e6:g} megapixels. Resize it and upload it again."
    )


def _to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB from any Pillow mode; transparency is composited onto white."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        image = _high_bit_depth_to_l(image)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _high_bit_depth_to_l(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit integer and float grayscale -> 8-bit, keeping the full range visible."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode.startswith("I;16"):
        scaled = values / 65535.0
    else:
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return Image.fromarray(np.round(np.nan_to_num(scaled) * 255).astype(np.uint8))


def fit_within(image: np.ndarray, max_side: int, labels: bool = False) -> np.ndarray:
    """``image`` shrunk (aspect kept, area resampling) so neither side exceeds ``max_side``;
    an (H, W) map of class ``labels`` is shrunk by nearest neighbour, so every value stays a class."""
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resampling = Image.Resampling.NEAREST if labels else Image.Resampling.BOX
    return np.asarray(Image.fromarray(image).resize(size, resampling))


def enlarged(pixels: np.ndarray, side: int = 256) -> np.ndarray:
    """A small picture blown up by a whole factor with sharp pixels (each repeated), to about
    ``side`` on its longer side; pictures already that large are returned as they are."""
    factor = max(1, side // max(pixels.shape[:2]))
    return pixels.repeat(factor, axis=0).repeat(factor, axis=1)
