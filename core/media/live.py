"""The live browser camera: frames that streamlit-webrtc (aiortc) receives from the user's
browser go through a ``FrameWork`` (``core.media.video``) and go back drawn, on a thread of
the WebRTC connection.

The camera does not wait: while a frame is being worked on, the next ones queue up, and
``LiveStream.process`` takes only the newest of them (the others are dropped and counted),
so a busy server answers late frames less often rather than later and later. Models are the
process's shared ones; their calls go through the device lock like every other call.

A ``FrameRecorder`` is work that keeps frames instead of drawing on them: the transfer
page records classes from the stream with it.

ICE servers come from the operator: ``CNNLAB_ICE_SERVERS`` holds the JSON list of
``RTCIceServer`` objects the browser and the server use to find a path to each other (STUN
across NAT, TURN when no direct path exists). Unset, none is used: enough on one machine or
one network.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.media.video import FrameWork, SourceFrame
from core.runtime.errors import UserError
from core.runtime.images import fit_within

if TYPE_CHECKING:
    import av
    import torch

ICE_SERVERS_ENV = "CNNLAB_ICE_SERVERS"
MAX_LIVE_SIDE = 1280  # larger camera frames are scaled down before the model sees them
WINDOW = 30  # frames the rate and the latency are measured over


def ice_servers() -> list[dict[str, Any]]:
    """The ICE servers the operator configured (``CNNLAB_ICE_SERVERS``), or none."""
    value = os.environ.get(ICE_SERVERS_ENV, "").strip()
    if not value:
        return []
    try:
        servers = json.loads(value)
    except json.JSONDecodeError:
        servers = None
    if not isinstance(servers, list) or not all(isinstance(server, dict) and "urls" in server for server in servers):
        raise UserError(
            f"{ICE_SERVERS_ENV} must be a JSON list of ICE servers, such as "
            '[{"urls": ["stun:stun.example.org:3478"]}, {"urls": ["turn:turn.example.org:3478"], '
            '"username": "…", "credential": "…"}]; the camera cannot connect until the operator fixes it.'
        )
    return servers


@dataclass(frozen=True)
class LiveStats:
    """How the stream is doing: frames answered, their rate and the server's time per frame
    (medians over the last ``WINDOW``), and frames dropped because a newer one was waiting."""

    frames: int
    fps: float
    latency_ms: float
    dropped: int


class LiveStream:
    """One viewer's stream: the work to do on each frame (changeable while it streams) and
    the measurements. ``process`` runs on the connection's thread; the page calls ``use``
    and ``stats`` from its own."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._lock = threading.Lock()
        self._work: FrameWork[Any] | None = None
        self._step: Callable[[SourceFrame], tuple[np.ndarray, Any]] | None = None
        self._answered: deque[float] = deque(maxlen=WINDOW)
        self._latencies: deque[float] = deque(maxlen=WINDOW)
        self._frames = self._dropped = 0

    def use(self, work: FrameWork[Any]) -> None:
        """Work on the next frames with ``work``; a change of settings starts it afresh."""
        with self._lock:
            if work != self._work:
                self._work, self._step = work, None

    def process(self, frames: list[av.VideoFrame]) -> list[av.VideoFrame]:
        """The newest of the frames that arrived since the last call, worked on and drawn."""
        import av

        newest = frames[-1]
        began = time.perf_counter()
        with self._lock:
            work, step = self._work, self._step
        if work is None:
            return [newest]
        if step is None:
            step = work.start(self.device)
            with self._lock:
                if self._work is work:
                    self._step = step
        scale = min(1.0, MAX_LIVE_SIDE / max(newest.width, newest.height))
        width, height = round(newest.width * scale / 2) * 2, round(newest.height * scale / 2) * 2
        bgr = newest.to_ndarray(format="bgr24", width=width, height=height)
        drawn, _ = step(SourceFrame(self._frames, float(newest.time or 0.0), bgr))
        answer = av.VideoFrame.from_ndarray(np.ascontiguousarray(drawn), format="bgr24")
        answer.pts, answer.time_base = newest.pts, newest.time_base
        with self._lock:
            self._frames += 1
            self._dropped += len(frames) - 1
            self._answered.append(time.perf_counter())
            self._latencies.append((time.perf_counter() - began) * 1e3)
        return [answer]

    def stats(self) -> LiveStats:
        with self._lock:
            answered, latencies = list(self._answered), sorted(self._latencies)
            frames, dropped = self._frames, self._dropped
        fps = (len(answered) - 1) / (answered[-1] - answered[0]) if len(answered) > 1 else 0.0
        latency = latencies[len(latencies) // 2] if latencies else 0.0
        return LiveStats(frames, fps, latency, dropped)


class FrameRecorder:
    """A ``FrameWork`` that keeps the camera's frames while recording: at most ``rate`` a
    second, each shrunk to ``side`` pixels on its longer side, at most ``MAX_WAITING`` waiting
    until the page takes them (``take``). The frame goes back with a red dot while recording.
    The same recorder stays in use while its settings change (``set``), so the stream never
    restarts for them."""

    MAX_WAITING = 100

    def __init__(self, side: int) -> None:
        self.side = side
        self._lock = threading.Lock()
        self._waiting: deque[np.ndarray] = deque(maxlen=self.MAX_WAITING)
        self._recording, self._rate, self._last = False, 5.0, 0.0

    @property
    def title(self) -> str:
        return "Recording the camera"

    def memory_parts(self, plan: Any) -> dict[str, int]:
        return {"the size": 3 * self.side**2 * self.MAX_WAITING}

    def set(self, recording: bool, rate: float) -> None:
        with self._lock:
            if recording and not self._recording:
                self._last = float("-inf")  # the first frame after Record is kept
            self._recording, self._rate = recording, rate

    def take(self) -> list[np.ndarray]:
        """The frames recorded since the last call, oldest first, as (H, W, 3) uint8 RGB."""
        with self._lock:
            frames = list(self._waiting)
            self._waiting.clear()
        return frames

    def start(self, device: torch.device) -> Callable[[SourceFrame], tuple[np.ndarray, None]]:
        import cv2  # OpenCV comes with ultralytics

        def step(frame: SourceFrame) -> tuple[np.ndarray, None]:
            now = time.monotonic()
            with self._lock:
                keep = self._recording and now - self._last >= 1.0 / self._rate
                if keep:
                    self._last = now
            if keep:
                shrunk = fit_within(frame.rgb(), self.side)
                with self._lock:
                    self._waiting.append(shrunk)
            if not self._recording:
                return frame.bgr, None
            drawn = frame.bgr.copy()
            radius = max(6, drawn.shape[1] // 60)
            cv2.circle(drawn, (2 * radius, 2 * radius), radius, (0, 0, 255), -1)
            return drawn, None

        return step
