"""core.media.video: what an upload holds, the refusals of files that are not usable videos,
the plan within the work budget, frames read one at a time, and the MP4 that comes back."""

from __future__ import annotations

import io
import math
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from core.media import video
from core.runtime.files import PrivateFolder
from core.runtime.jobs import CancelToken, InProcessBackend
from tests.images import encode
from tests.videos import CODECS, panning_frames, write_sound, write_video

CPU = torch.device("cpu")


@pytest.mark.parametrize("suffix", list(CODECS))
def test_every_accepted_container_is_probed_frame_for_frame(tmp_path, suffix):
    info = video.probe_video(write_video(tmp_path / f"clip.{suffix}", frames=12, width=160, height=120, fps=10))
    assert (info.width, info.height, info.frames, info.fps) == (160, 120, 12, Fraction(10))
    assert info.duration_s == pytest.approx(1.2)


def refusal(data: bytes) -> str:
    with pytest.raises(video.VideoError) as caught:
        video.probe_video(data)
    return str(caught.value)


def test_files_that_are_not_videos_are_refused_with_the_reason(tmp_path):
    from PIL import Image

    assert "empty" in refusal(b"")
    assert "not a video" in refusal(b"\x00\x01 not a video at all" * 100)
    png = encode(Image.fromarray(panning_frames(1, 64, 48)[0]), "PNG")
    assert "not a video" in refusal(png) and "png sequence" in refusal(png)  # FFmpeg reads a PNG as pictures
    assert "no video stream" in refusal(write_sound(tmp_path / "sound.mp4"))
    assert "no frames" in refusal(write_sound(tmp_path / "empty.mkv", with_empty_video=True))


def test_a_video_cut_short_is_refused_whether_its_index_comes_first_or_last(tmp_path):
    index_last = write_video(tmp_path / "last.mp4", frames=30)
    index_first = write_video(tmp_path / "first.mp4", frames=30, faststart=True)
    assert index_first.find(b"moov") < index_first.find(b"mdat") < index_last.find(b"moov")
    assert "index is missing" in refusal(index_last[: len(index_last) // 2])
    message = refusal(index_first[: len(index_first) * 6 // 10])
    assert "cut short" in message and "promises 30 frames" in message


def test_frames_larger_than_the_server_reads_are_refused(tmp_path):
    data = write_video(tmp_path / "wide.mp4", frames=1, width=4112, height=64)
    assert "4,112×64" in refusal(data) and "lower resolution" in refusal(data)


INFO = video.VideoInfo(1280, 720, 3_000, Fraction(30), "h264")


def test_the_plan_takes_the_first_seconds_every_kth_frame_at_an_even_size():
    plan = video.plan_video(INFO, seconds=2.5, every=4, side=333)
    assert (plan.frames_in, plan.every, plan.frames_out) == (75, 4, 19)
    assert (plan.width, plan.height) == (332, 188) and plan.fps == Fraction(30, 4)
    assert video.plan_video(INFO, seconds=1_000, every=10).frames_in == 3_000  # never past the end
    assert video.plan_video(INFO, seconds=1, side=2_000).width == 1280  # never enlarged
    with pytest.raises(video.UserError, match="from 1 to 30"):
        video.plan_video(INFO, every=31)


def test_over_the_work_budget_the_refusal_offers_settings_that_each_fit(monkeypatch):
    monkeypatch.setenv(video.WORK_ENV, "500")
    with pytest.raises(video.VideoTooLong) as caught:
        video.plan_video(INFO)  # 3,000 frames of 720p: 2,765 megapixels
    refusal = caught.value
    assert "2,765 megapixels" in str(refusal) and "500" in str(refusal) and video.WORK_ENV in str(refusal)
    assert (refusal.seconds, refusal.every, refusal.side) == (18, 6, 480)
    assert f"the first {refusal.seconds} s" in str(refusal) and "every 6th frame" in str(refusal)
    for fitting in (dict(seconds=refusal.seconds), dict(every=refusal.every), dict(side=refusal.side)):
        assert video.plan_video(INFO, **fitting).megapixels <= 500
    with pytest.raises(video.VideoTooLong):  # each offer is the most that fits
        video.plan_video(INFO, seconds=refusal.seconds + 1)
    with pytest.raises(video.VideoTooLong):
        video.plan_video(INFO, every=refusal.every - 1)
    with pytest.raises(video.VideoTooLong):
        video.plan_video(INFO, side=640)


def test_ordinals():
    assert [video.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 30)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "30th"
    ]  # fmt: skip


def test_frames_are_read_one_at_a_time_at_the_planned_size_and_times(tmp_path):
    data = write_video(tmp_path / "clip.mp4", frames=12, width=160, height=120, fps=10)
    info = video.probe_video(data)
    frames = list(video.read_frames(data, video.plan_video(info, seconds=1.0, every=3, side=80)))
    assert [frame.index for frame in frames] == [0, 3, 6, 9]
    assert [frame.time_s for frame in frames] == pytest.approx([0.0, 0.3, 0.6, 0.9])
    assert all(frame.bgr.shape == (60, 80, 3) and frame.bgr.dtype == np.uint8 for frame in frames)
    # the decoded frames are the photo that was encoded, scaled (H.264 loses a little)
    first = torch.from_numpy(panning_frames(1, 160, 120)[0]).permute(2, 0, 1)[None].float()
    expected = torch.nn.functional.interpolate(first, size=(60, 80), mode="area")[0].permute(1, 2, 0).numpy()
    assert np.abs(frames[0].rgb().astype(float) - expected).mean() < 8


def test_the_writer_makes_a_browser_ready_mp4_whose_frames_are_what_was_written(tmp_path):
    path = tmp_path / "out.mp4"
    frames = panning_frames(8, 96, 64)
    with video.Mp4Writer(str(path), 96, 64, Fraction(8)) as writer:
        for pixels in frames:
            writer.write(pixels[..., ::-1])  # RGB to BGR
    data = path.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # faststart: the index first
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    assert len(decoded) == 8 and float(stream.average_rate) == 8
    assert np.abs(decoded[5].astype(float) - frames[5]).mean() < 8


class Inverting:
    """A FrameWork that inverts each frame and reports its mean brightness."""

    title = "Inverting"

    def memory_parts(self, plan: video.VideoPlan) -> dict[str, int]:
        return {"nothing": 0}

    def start(self, device):
        return lambda frame: (255 - frame.bgr, float(frame.bgr.mean()))


def test_a_video_job_writes_each_planned_frame_and_a_stopped_one_keeps_a_playable_video(tmp_path):
    data = write_video(tmp_path / "clip.mp4", frames=40, width=96, height=64, fps=20)
    plan = video.plan_video(video.probe_video(data), every=2)
    folder = PrivateFolder()
    whole = video.VideoJob(Inverting(), data, plan, folder)
    assert whole.output is None and not any(folder.path.iterdir())  # a page builds the job on every rerun: no file yet
    steps = list(whole.run(CPU, CancelToken()))
    assert [step.record.index for step in steps] == list(range(0, 40, 2)) and steps[-1].text.startswith(
        "frame 20 of 20"
    )
    written = video.probe_video(whole.output.path.read_bytes())
    assert (written.frames, written.fps, written.width) == (20, Fraction(10), 96)

    class Slow(Inverting):
        def start(self, device):
            step = super().start(device)
            return lambda frame: (time.sleep(0.05), step(frame))[1]

    stopped = video.VideoJob(Slow(), data, plan, folder)
    handle = InProcessBackend().submit(stopped)
    while len(handle.steps) < 3:
        time.sleep(0.01)
    handle.cancel()
    assert handle.wait(10) and handle.phase == "stopped"
    kept = video.probe_video(stopped.output.path.read_bytes())  # closed on Stop: a whole, playable file
    assert 3 <= kept.frames == len(handle.steps) < 20
    assert stopped.output.path != whole.output.path and stopped.output.path.parent == folder.path


def test_the_estimate_grows_with_the_size_not_the_length():
    short = video.VideoJob(Inverting(), b"", video.plan_video(INFO, seconds=1), None)
    long = video.VideoJob(Inverting(), b"", video.plan_video(INFO, seconds=10), None)
    small = video.VideoJob(Inverting(), b"", video.plan_video(INFO, seconds=1, side=640), None)
    assert short.estimate().total == long.estimate().total
    assert math.isclose(small.estimate().total / short.estimate().total, (640 * 360) / (1280 * 720))


def test_a_private_folder_is_unreadable_to_others_and_removed_with_its_session():
    folder = PrivateFolder()
    first, second = folder.new_file(".mp4"), folder.new_file(".mp4")
    assert first.path != second.path and first.path.exists()
    assert folder.path.stat().st_mode & 0o077 == 0
    path = folder.path
    del folder, first, second
    assert not Path(path).exists()
