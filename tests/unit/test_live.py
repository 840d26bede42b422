"""core.media.live: the newest camera frame goes through the work and back, the others are
dropped and counted; settings changed while streaming apply to the next frame; the
operator's ICE servers are read or refused with the reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest
import torch

from core.media import live
from core.runtime.errors import UserError
from tests.videos import camera_frames, panning_frames

CPU = torch.device("cpu")


@dataclass(frozen=True)
class Brightening:
    """A FrameWork that adds ``amount`` to every pixel and counts how often it was started."""

    amount: int
    starts: list = None

    title = "Brightening"

    def memory_parts(self, plan):
        return {}

    def start(self, device):
        self.starts.append(self.amount)
        return lambda frame: (np.clip(frame.bgr.astype(int) + self.amount, 0, 255).astype(np.uint8), None)


def test_only_the_newest_frame_is_answered_and_the_others_are_counted_as_dropped():
    starts: list[int] = []
    stream = live.LiveStream(CPU)
    stream.use(Brightening(10, starts))
    frames = camera_frames(4, 64, 48)
    answered = stream.process(frames[:1]) + stream.process(frames[1:])  # three were waiting the second time
    assert [frame.pts for frame in answered] == [0, 9000] and answered[1].time_base == Fraction(1, 90_000)
    newest = frames[3].to_ndarray(format="bgr24").astype(int)
    assert np.array_equal(answered[1].to_ndarray(format="bgr24"), np.clip(newest + 10, 0, 255))
    stats = stream.stats()
    assert (stats.frames, stats.dropped) == (2, 2) and stats.fps > 0 and stats.latency_ms > 0
    assert starts == [10]  # started once, on the first frame


def test_settings_changed_while_streaming_apply_to_the_next_frame_and_same_settings_keep_the_work():
    starts: list[int] = []
    stream = live.LiveStream(CPU)
    stream.use(Brightening(10, starts))
    stream.process(camera_frames(1, 64, 48))
    stream.use(Brightening(10, starts))  # a rerun with the same settings
    stream.process(camera_frames(1, 64, 48))
    stream.use(Brightening(50, starts))
    frame = camera_frames(1, 64, 48)
    answer = stream.process(frame)[0].to_ndarray(format="bgr24")
    assert starts == [10, 50]
    assert np.array_equal(answer, np.clip(frame[0].to_ndarray(format="bgr24").astype(int) + 50, 0, 255))


def test_a_stream_without_work_sends_the_frame_back_and_large_frames_are_scaled_down():
    stream = live.LiveStream(CPU)
    frame = camera_frames(1, 64, 48)
    assert stream.process(frame) == frame
    stream.use(Brightening(0, []))
    wide = camera_frames(1, width=1536, height=1152)
    answer = stream.process(wide)[0]
    assert (answer.width, answer.height) == (1280, 960)


def test_ice_servers_come_from_the_operator_or_are_refused_with_an_example(monkeypatch):
    monkeypatch.delenv(live.ICE_SERVERS_ENV, raising=False)
    assert live.ice_servers() == []
    servers = [
        {"urls": ["stun:stun.example.org:3478"]},
        {"urls": "turn:t.example.org", "username": "u", "credential": "c"},
    ]
    monkeypatch.setenv(live.ICE_SERVERS_ENV, json.dumps(servers))
    assert live.ice_servers() == servers
    for bad in ("stun:stun.example.org", "{}", '[{"username": "u"}]', "[1]"):
        monkeypatch.setenv(live.ICE_SERVERS_ENV, bad)
        with pytest.raises(UserError, match="must be a JSON list of ICE servers"):
            live.ice_servers()


def test_the_recorder_keeps_frames_at_its_rate_only_while_recording(monkeypatch):
    clock = iter([0.0, 0.1, 0.25, 0.45, 0.5, 0.9, 1.0])
    monkeypatch.setattr(live.time, "monotonic", lambda: next(clock))
    recorder = live.FrameRecorder(side=32)
    step = recorder.start(CPU)
    frames = [
        live.SourceFrame(index, 0.0, pixels[..., ::-1].copy()) for index, pixels in enumerate(panning_frames(7, 64, 48))
    ]
    drawn, _ = step(frames[0])
    assert drawn is frames[0].bgr and recorder.take() == []  # not recording: nothing kept, nothing drawn
    recorder.set(True, rate=4.0)  # one frame each 0.25 s at most
    for frame in frames[1:]:
        drawn, _ = step(frame)
    assert drawn[8, 8].tolist() == [0, 0, 255]  # the red dot while recording
    kept = recorder.take()
    assert len(kept) == 3 and all(max(image.shape[:2]) == 32 for image in kept)  # at t = 0.1, 0.45 and 0.9
    assert recorder.take() == []  # taken once
