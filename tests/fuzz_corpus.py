"""The bad files the fuzzer puts into every uploader: images a person might really pick
(tiny, huge, cut short, not an image, CMYK, 16-bit, animated, EXIF-rotated) and archives
(not a zip, an empty zip, a zip of text, a zip whose member claims to unpack huge)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import numpy as np
from PIL import Image

from tests.images import encode, gradient_rgb


@dataclass(frozen=True)
class BadFile:
    """One upload: what it is (for the report), its name, its bytes and its MIME type."""

    what: str
    name: str
    data: bytes
    mime: str


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    return encode(gradient_rgb(64, 32), "JPEG", exif=exif.tobytes())


def _animated_gif() -> bytes:
    frames = [gradient_rgb(48, 48).rotate(angle) for angle in (0, 90, 180)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def _huge_png() -> bytes:
    """A real 12000×12000 PNG (144 megapixels of one grey), small on disk."""
    return encode(Image.new("L", (12_000, 12_000), 128), "PNG", compress_level=9)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def image_corpus() -> list[BadFile]:
    jpeg = encode(gradient_rgb(120, 80), "JPEG")
    sixteen_bit = Image.fromarray((np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 20).astype(np.uint16))
    return [
        BadFile("1×1 PNG", "dot.png", encode(Image.new("RGB", (1, 1), (90, 120, 200)), "PNG"), "image/png"),
        BadFile("12000×12000 PNG", "huge.png", _huge_png(), "image/png"),
        BadFile("truncated JPEG", "cut.jpg", jpeg[: len(jpeg) // 2], "image/jpeg"),
        BadFile("not an image", "notes.png", b"these are notes, not pixels\n" * 20, "image/png"),
        BadFile("CMYK JPEG", "cmyk.jpg", encode(gradient_rgb(64, 48).convert("CMYK"), "JPEG"), "image/jpeg"),
        BadFile("16-bit PNG", "deep.png", encode(sixteen_bit, "PNG"), "image/png"),
        BadFile("animated GIF", "moving.gif", _animated_gif(), "image/gif"),
        BadFile("EXIF-rotated JPEG", "rotated.jpg", _exif_rotated(), "image/jpeg"),
    ]


def archive_corpus() -> list[BadFile]:
    zipped = _zip({"a/one.png": encode(gradient_rgb(), "PNG")})
    bomb = _zip({"cats/zeros.png": b"\0" * 50_000_000})  # 50 MB of zeros, about 50 kB packed
    return [
        BadFile("not a zip", "set.zip", b"PK but not really a zip", "application/zip"),
        BadFile("empty zip", "empty.zip", _zip({}), "application/zip"),
        BadFile("zip of text", "text.zip", _zip({"notes/readme.txt": b"hello"}), "application/zip"),
        BadFile("truncated zip", "cut.zip", zipped[: len(zipped) // 2], "application/zip"),
        BadFile("zip bomb (50 MB member)", "bomb.zip", bomb, "application/zip"),
    ]


def corpus_for(types: list[str]) -> list[BadFile]:
    """The files for an uploader accepting ``types`` (extensions): archives for archive
    uploaders, images for the others; both for one that takes anything."""
    archives = {"zip", "npz"} & {kind.lstrip(".").lower() for kind in types}
    if not types:
        return image_corpus() + archive_corpus()
    return archive_corpus() if archives else image_corpus()
