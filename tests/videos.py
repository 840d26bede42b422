"""Short videos made here, with PyAV, from scikit-image's photos: a window moving across
a photo, so that consecutive frames differ the way a panning camera's do."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from skimage import data

CODECS = {"mp4": "libx264", "mov": "libx264", "mkv": "libx264", "webm": "libvpx-vp9", "avi": "mpeg4"}


def panning_frames(frames: int, width: int, height: int) -> list[np.ndarray]:
    """``frames`` (height, width, 3) uint8 views of the astronaut photo, moving right and down
    (and back, at the edge of the room there is); ``width``, ``height`` at most 1,536."""
    photo = np.tile(data.astronaut(), (3, 3, 1))  # 1536², room to pan
    return [
        np.ascontiguousarray(
            photo[_bounce(3 * index, 1536 - height) :][:height, _bounce(5 * index, 1536 - width) :][:, :width]
        )
        for index in range(frames)
    ]


def camera_frames(frames: int, width: int, height: int, fps: int = 30) -> list[av.VideoFrame]:
    """``panning_frames`` as a WebRTC camera delivers them: ``av.VideoFrame``s stamped on
    aiortc's 90 kHz clock."""
    stamped = []
    for index, pixels in enumerate(panning_frames(frames, width, height)):
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        frame.pts, frame.time_base = index * 90_000 // fps, Fraction(1, 90_000)
        stamped.append(frame)
    return stamped


def _bounce(position: int, room: int) -> int:
    """``position`` folded back and forth into 0 … ``room``."""
    if room == 0:
        return 0
    position %= 2 * room
    return position if position <= room else 2 * room - position


def write_video(
    path: Path, frames: int = 12, width: int = 160, height: int = 120, fps: int = 10, faststart: bool = False
) -> bytes:
    """A video of ``frames`` panning frames in the container that ``path``'s suffix names; its
    bytes. ``faststart``: an MP4's index at its start rather than at its end."""
    suffix = path.suffix.lstrip(".")
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format={"mkv": "matroska"}.get(suffix, suffix), options=options) as container:
        stream = container.add_stream(CODECS[suffix], rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for pixels in panning_frames(frames, width, height):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode(None))
    return path.read_bytes()


def write_sound(path: Path, with_empty_video: bool = False) -> bytes:
    """A tenth of a second of silence and, if asked, a video stream with no frames, in the
    container that ``path``'s suffix names."""
    suffix = path.suffix.lstrip(".")
    with av.open(str(path), "w", format={"mkv": "matroska"}.get(suffix, suffix)) as container:
        if with_empty_video:
            video = container.add_stream("libx264", rate=10)
            video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = container.add_stream("aac", rate=44_100)
        for _ in range(5):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate = 44_100
            container.mux(sound.encode(frame))
        container.mux(sound.encode(None))
    return path.read_bytes()


def write_y4m(path: Path, frames: int = 30, width: int = 640, height: int = 480, fps: int = 15) -> Path:
    """The panning frames as raw YUV4MPEG, the file Chromium's fake camera plays in a loop
    (``--use-file-for-fake-video-capture``)."""
    with av.open(str(path), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for pixels in panning_frames(frames, width, height):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode(None))
    return path
