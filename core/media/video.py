"""Video files frame by frame with PyAV (FFmpeg's libraries): what an upload holds, its
frames one at a time, and an annotated H.264 MP4 that every browser plays.

Course week 3 treats a video as a sequence of images: detection runs on each frame ("YOLO
algorithm"), and a tracker links one frame's boxes to the next (ByteTrack, Zhang et al.
2022). A ``VideoJob`` is that loop as a job (``core.runtime.jobs``): it decodes a frame,
lets a ``FrameWork`` (detection with tracking, segmentation, faces) compute on it and draw,
and encodes the drawing. It never holds more than a few frames, so a video's length changes
how long the job takes, not the memory it needs; the job budget bounds the length instead,
in megapixels of work (frames × pixels a frame).
"""

from __future__ import annotations

import io
import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import numpy as np

from core.runtime.budget import MemoryEstimate, TooLarge
from core.runtime.errors import UserError
from core.runtime.files import PrivateFile, PrivateFolder
from core.runtime.jobs import CancelToken, Step

if TYPE_CHECKING:
    import torch

VIDEO_EXTENSIONS = ("mp4", "mov", "webm", "avi", "mkv")
# FFmpeg's names of the demuxers for those files; others (still images, audio) are refused
VIDEO_CONTAINERS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi"})
MAX_SOURCE_SIDE, MAX_SOURCE_PIXELS = 4096, 4096 * 2304  # 4K UHD and DCI 4K fit
WORK_ENV = "CNNLAB_VIDEO_MEGAPIXELS"
DEFAULT_WORK_MEGAPIXELS = 600  # 650 frames of 720p, 2,000 of 640×480
OUTPUT_SIDES = (240, 320, 480, 640, 960, 1280, 1920)
ENCODING_AHEAD = 2  # drawn frames waiting for the encoder
MAX_EVERY = 30  # "every k-th frame" goes up to one frame a second of a 30 fps video
NOT_A_VIDEO = (
    "This file is not a video that can be read. Upload an MP4, MOV, WebM, AVI or MKV file; "
    "if it is one, it may be damaged."
)


class VideoError(UserError):
    """An upload that is not a usable video; the message says why."""


class VideoTooLong(TooLarge):
    """A video job over the work budget. Besides the message, the settings that would fit:
    the first ``seconds``, every ``every``-th frame, or ``side`` pixels (None: nothing fits)."""

    def __init__(self, message: str, seconds: int | None, every: int | None, side: int | None) -> None:
        super().__init__(message)
        self.seconds, self.every, self.side = seconds, every, side


@dataclass(frozen=True)
class VideoInfo:
    """What an upload holds: its frames' size, how many there are, and their rate."""

    width: int
    height: int
    frames: int
    fps: Fraction
    codec: str

    @property
    def duration_s(self) -> float:
        return self.frames / float(self.fps)


def probe_video(data: bytes) -> VideoInfo:
    """Read ``data`` through once without decoding it (one frame is decoded, to be sure it
    can be): its first video stream, counted packet by packet. Raises ``VideoError`` for a
    file that is not a video, has no video stream or no frames, is cut short, or has frames
    larger than ``MAX_SOURCE_PIXELS``."""
    import av

    if not data:
        raise VideoError("The file is empty: choose a video file and upload it again.")
    if data[4:8] == b"ftyp" and b"moov" not in data:  # an MP4 or MOV without its index
        raise VideoError(
            "This MP4 or MOV file is incomplete: its index is missing, so it was cut short or had not finished "
            "uploading. Upload the whole file."
        )
    try:
        container = av.open(io.BytesIO(data))
    except Exception:  # FFmpeg refuses it; for any bytes the result is a VideoInfo or a VideoError
        raise VideoError(NOT_A_VIDEO) from None
    with container:
        if container.format.name not in VIDEO_CONTAINERS:
            raise VideoError(f"{NOT_A_VIDEO} (FFmpeg reads it as {container.format.long_name}.)")
        if not container.streams.video:
            raise VideoError("This file has no video stream (only sound?). Upload a file with pictures.")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if max(width, height) > MAX_SOURCE_SIDE or width * height > MAX_SOURCE_PIXELS:
            raise VideoError(
                f"Its frames are {width:,}×{height:,} pixels; this server reads videos of up to "
                f"{MAX_SOURCE_SIDE:,}×{MAX_SOURCE_PIXELS // MAX_SOURCE_SIDE:,}. Export it at a lower resolution."
            )
        packets = _count_packets(container, stream)
        if packets == 0:
            raise VideoError("This video has no frames. Upload one with at least one frame.")
        fps = Fraction(stream.average_rate or stream.guessed_rate or 25)
        promised = _promised_frames(stream, fps)
        if promised is not None and packets < 0.95 * promised - 1:
            raise VideoError(
                f"This video is cut short: its header promises {promised:,} frames but the file holds "
                f"{packets:,}. It may not have finished uploading; upload the whole file."
            )
        _decode_first_frame(data)
        return VideoInfo(width, height, packets, fps, stream.codec_context.name)


def _count_packets(container, stream) -> int:
    """How many packets with data the stream has: its frames."""
    packets = 0
    try:
        for packet in container.demux(stream):
            packets += packet.size > 0
    except Exception:  # the file ends in the middle of a packet
        raise VideoError(
            f"This video is cut short after {packets:,} frames: the file ends in the middle of one. "
            "It may not have finished uploading; upload the whole file."
        ) from None
    return packets


def _promised_frames(stream, fps: Fraction) -> int | None:
    """The frame count the container's index or header gives, if any."""
    if stream.frames:
        return int(stream.frames)
    if stream.duration and stream.time_base:
        return round(stream.duration * stream.time_base * fps)
    return None


def _decode_first_frame(data: bytes) -> None:
    import av

    try:
        with av.open(io.BytesIO(data)) as container:
            next(container.decode(video=0))
    except Exception:
        raise VideoError(
            "This video's pictures cannot be decoded: its codec is not one this server reads, or the file "
            "is damaged. Export it as H.264 MP4."
        ) from None


# -- what a job processes ------------------------------------------------------------------------


def work_budget_megapixels() -> int:
    """The most work one video job may do: ``CNNLAB_VIDEO_MEGAPIXELS`` or 600 megapixels."""
    value = os.environ.get(WORK_ENV, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_WORK_MEGAPIXELS


@dataclass(frozen=True)
class VideoPlan:
    """Which frames of a video a job reads and at what size: the first ``frames_in`` frames,
    every ``every``-th of them, scaled to ``width``×``height`` (even, as yuv420p needs)."""

    frames_in: int
    every: int
    width: int
    height: int
    fps: Fraction  # of the output: the source's rate over ``every``

    @property
    def frames_out(self) -> int:
        return math.ceil(self.frames_in / self.every)

    @property
    def megapixels(self) -> float:
        return self.frames_out * self.width * self.height / 1e6


def plan_video(info: VideoInfo, *, seconds: float | None = None, every: int = 1, side: int | None = None) -> VideoPlan:
    """The first ``seconds`` of the video (all of it: None), every ``every``-th frame, its
    longer side at most ``side`` pixels (its own size: None). Raises ``VideoTooLong`` over the
    work budget, offering the settings that fit."""
    if not 1 <= every <= MAX_EVERY:
        raise UserError(f"Take every k-th frame with k from 1 to {MAX_EVERY}, not {every}.")
    if seconds is not None and seconds <= 0:
        raise UserError("Take a positive number of seconds.")
    frames_in = info.frames if seconds is None else max(1, min(info.frames, math.floor(seconds * info.fps)))
    width, height = _scaled(info.width, info.height, side)
    plan = VideoPlan(frames_in, every, width, height, info.fps / every)
    budget = work_budget_megapixels()
    if plan.megapixels > budget:
        raise _too_long(info, plan, budget)
    return plan


def _scaled(width: int, height: int, side: int | None) -> tuple[int, int]:
    scale = 1.0 if side is None else min(1.0, side / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _too_long(info: VideoInfo, plan: VideoPlan, budget: int) -> VideoTooLong:
    frame_mpx = plan.width * plan.height / 1e6
    fitting_frames = math.floor(budget / frame_mpx) * plan.every  # frames read at this size and step
    seconds = math.floor(fitting_frames / info.fps) or None
    every = math.ceil(plan.frames_in * frame_mpx / budget)
    sides = [side for side in OUTPUT_SIDES if side < max(plan.width, plan.height)]
    fitting = [
        side for side in sides if plan.frames_out * math.prod(_scaled(info.width, info.height, side)) <= budget * 1e6
    ]
    side = max(fitting, default=None)
    offers = [
        *([f"the first {seconds:,} s"] if seconds else []),
        *([f"every {ordinal(every)} frame"] if every <= MAX_EVERY else []),
        *([f"a longer side of {side:,} px"] if side else []),
    ]
    message = (
        f"{plan.frames_out:,} frames at {plan.width}×{plan.height} are {plan.megapixels:,.0f} megapixels of work; "
        f"one video job may do {budget:,} here ({WORK_ENV}). The video is too long for its size: "
        + (f"take {' or '.join(offers)}." if offers else "upload a shorter one.")
    )
    return VideoTooLong(message, seconds, every if every <= MAX_EVERY else None, side)


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, … 11th, 21st."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


# -- frames in, frames out -----------------------------------------------------------------------


@dataclass(frozen=True)
class SourceFrame:
    """One decoded frame: its index in the video, its time, and its (H, W, 3) uint8 pixels in
    BGR order, as OpenCV and ultralytics read and draw them."""

    index: int
    time_s: float
    bgr: np.ndarray

    def rgb(self) -> np.ndarray:
        """The pixels in RGB order, a new array."""
        import cv2  # OpenCV comes with ultralytics

        return cv2.cvtColor(self.bgr, cv2.COLOR_BGR2RGB)


def read_frames(data: bytes, plan: VideoPlan) -> Iterator[SourceFrame]:
    """The planned frames, decoded one at a time and scaled by FFmpeg's swscale."""
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # FFmpeg decodes frames on several threads
        index = -1
        try:
            for index, frame in enumerate(container.decode(stream)):
                if index >= plan.frames_in:
                    return
                if index % plan.every == 0:
                    time_s = float(frame.time) if frame.time is not None else index / float(plan.fps * plan.every)
                    pixels = frame.to_ndarray(format="bgr24", width=plan.width, height=plan.height)
                    yield SourceFrame(index, time_s, pixels)
        except av.error.FFmpegError:
            raise VideoError(
                f"The video cannot be decoded past frame {index + 1:,}: the file is damaged there."
            ) from None


class Mp4Writer:
    """Frames to an H.264 MP4 that browsers play: libx264, yuv420p, and its index at the start
    of the file (``faststart``), so playing can start before the whole file has arrived. The
    file is complete once closed, also when a job stops early. ``preset`` is x264's trade of
    speed for file size at the same quality (``crf`` 23): "veryfast" makes files about 7×
    smaller than "ultrafast" and takes about twice as long (``benchmarks/video.py``)."""

    def __init__(self, path: str, width: int, height: int, fps: Fraction, preset: str = "veryfast") -> None:
        import av

        self.container = av.open(path, mode="w", format="mp4", options={"movflags": "+faststart"})
        self.stream = self.container.add_stream("libx264", rate=fps)
        self.stream.width, self.stream.height, self.stream.pix_fmt = width, height, "yuv420p"
        self.stream.options = {"preset": preset, "crf": "23"}
        self.frames = 0

    def write(self, bgr: np.ndarray) -> None:
        """Append an (H, W, 3) uint8 BGR frame of the writer's size."""
        import av
        import cv2  # converts to BT.601 limited-range YUV as swscale does, about 4× faster

        frame = av.VideoFrame.from_ndarray(cv2.cvtColor(np.ascontiguousarray(bgr), cv2.COLOR_BGR2YUV_I420), "yuv420p")
        frame.pts = self.frames
        self.container.mux(self.stream.encode(frame))
        self.frames += 1

    def close(self) -> None:
        self.container.mux(self.stream.encode(None))  # the frames still in the encoder
        self.container.close()

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the job -------------------------------------------------------------------------------------------

Found = TypeVar("Found")


class FrameWork(Protocol[Found]):
    """What a video job does to each frame: a model's work and its drawing."""

    @property
    def title(self) -> str:
        """The work in a few words ("yolo11n with ByteTrack")."""
        ...

    def memory_parts(self, plan: VideoPlan) -> dict[str, int]:
        """Its peak memory for one frame of ``plan``, by the setting each part grows with."""
        ...

    def start(self, device: torch.device) -> Callable[[SourceFrame], tuple[np.ndarray, Found]]:
        """Load what it needs and return the per-frame step: a frame -> (its drawing, (H, W, 3)
        uint8 BGR, and what was found).
        State kept from frame to frame (a tracker) belongs to the step, one per job."""
        ...


@dataclass(frozen=True)
class VideoFrame(Generic[Found]):
    """One processed frame: where it is in the video, how long its work took, what was found."""

    index: int
    time_s: float
    work_ms: float
    found: Found


@dataclass
class VideoJob(Generic[Found]):
    """A ``FrameWork`` on the planned frames of a video, written as an annotated MP4 to
    ``output``, a new file of ``folder`` (the user's session's private folder) made when the
    job starts. Each step is one frame."""

    work: FrameWork[Found]
    data: bytes
    plan: VideoPlan
    folder: PrivateFolder
    output: PrivateFile | None = field(default=None, init=False)

    @property
    def title(self) -> str:
        return f"{self.work.title} on {self.plan.frames_out:,} frames of {self.plan.width}×{self.plan.height}"

    def estimate(self) -> MemoryEstimate:
        frame_pixels = self.plan.width * self.plan.height
        # decoded, BGR, drawn and converted frames, and x264's look-ahead and reference frames
        coding = 12 * frame_pixels + 60 * frame_pixels
        return MemoryEstimate({"the size": coding, **self.work.memory_parts(self.plan)})

    def run(self, device: torch.device, cancel: CancelToken) -> Iterator[Step[VideoFrame[Found]]]:
        self.output = self.folder.new_file(".mp4")
        process = self.work.start(device)
        total, started = self.plan.frames_out, time.perf_counter()
        # on the CPU the encoder takes cores from the model, so it takes as little time as it can
        preset = "ultrafast" if device.type == "cpu" else "veryfast"
        writer = Mp4Writer(str(self.output.path), self.plan.width, self.plan.height, self.plan.fps, preset)
        # frames are encoded on a thread of their own, while the model works on the next one;
        # at most ``ENCODING_AHEAD`` wait, so memory stays flat
        with closing(writer), ThreadPoolExecutor(1, thread_name_prefix="cnnlab-encode") as encoder:
            pending: deque[Future[None]] = deque()
            for done, frame in enumerate(read_frames(self.data, self.plan), start=1):
                if cancel.cancelled:
                    break
                began = time.perf_counter()
                drawn, found = process(frame)
                work_ms = (time.perf_counter() - began) * 1e3
                pending.append(encoder.submit(writer.write, drawn))
                while len(pending) > ENCODING_AHEAD:
                    pending.popleft().result()
                rate = done / (time.perf_counter() - started)
                text = f"frame {done:,} of {total:,} · {rate:.1f} frames/s"
                yield Step(done, total, text, VideoFrame(frame.index, frame.time_s, work_ms, found))
            for write in pending:
                write.result()
