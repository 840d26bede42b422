"""The bad files the fuzzer puts into every uploader: images a person might really pick
(tiny, huge, cut short, not an image, CMYK, 16-bit, animated, EXIF-rotated), archives
(not a zip, an empty zip, a zip of text, a zip whose member claims to unpack huge) and
videos (a short one, cut short, sound only, no frames, too wide, not a video)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from tests.images import encode, gradient_rgb
from tests.videos import write_sound, write_video


@dataclass(frozen=True)
class BadFile:
    """One upload: what it is (for the report), its name, its bytes and its MIME type.
    ``opens``: a usable file, uploaded first to reach the inputs it reveals."""

    what: str
    name: str
    data: bytes
    mime: str
    opens: bool = False


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


@cache
def video_corpus() -> list[BadFile]:
    folder = Path(tempfile.mkdtemp(prefix="cnnlab-fuzz-videos-"))
    clip = write_video(folder / "clip.mp4", frames=8, width=96, height=64)
    webm = write_video(folder / "clip.webm", frames=8, width=96, height=64)
    return [
        BadFile("8-frame MP4", "clip.mp4", clip, "video/mp4", opens=True),
        BadFile("8-frame WebM", "clip.webm", webm, "video/webm"),
        BadFile("MP4 cut in half", "cut.mp4", clip[: len(clip) // 2], "video/mp4"),
        BadFile("sound only", "sound.mp4", write_sound(folder / "sound.mp4"), "video/mp4"),
        BadFile("no frames", "empty.mkv", write_sound(folder / "empty.mkv", with_empty_video=True), "video/x-matroska"),
        BadFile("4112-px-wide video", "wide.mp4", write_video(folder / "wide.mp4", 1, 4112, 64), "video/mp4"),
        BadFile("not a video", "notes.mp4", b"these are notes, not frames\n" * 20, "video/mp4"),
        BadFile("a PNG named .mp4", "picture.mp4", encode(gradient_rgb(), "PNG"), "video/mp4"),
    ]


def corpus_for(types: list[str]) -> list[BadFile]:
    """The files for an uploader accepting ``types`` (extensions): archives for archive
    uploaders, videos for video uploaders, images for the others; images and archives for
    one that takes anything."""
    kinds = {kind.lstrip(".").lower() for kind in types}
    if not types:
        return image_corpus() + archive_corpus()
    if {"zip", "npz"} & kinds:
        return archive_corpus()
    return video_corpus() if {"mp4", "webm"} & kinds else image_corpus()
