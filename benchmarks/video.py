"""Video: our tracking job against ultralytics' own ``model.track(source, stream=True)``.

Both track the same file with the same model, settings and ByteTrack, in one process, and
alternate so that machine noise falls on both alike. Ours also draws every frame and encodes
it as H.264 (the video that comes back); the baseline only yields its results. Target:
frames per second at most 10 % below the baseline, at 720p. Pretrained YOLO weights may be
absent (no internet), so the model is YOLO11n's architecture with untrained weights, loaded
through the real cache path, its class biases raised so that boxes pass the threshold and
are tracked and drawn (``max_det`` caps them at 20 a frame).

Live camera: the server's time per 640×480 camera frame in ``core.media.live.LiveStream``
(convert, detect, track, draw, convert back), against ``YOLO.predict`` alone on the same
frames, alternating, median of ``LIVE_FRAMES`` each; its inverse is the most frames per
second one viewer can get.

Memory: the peak of our job on a 640×360 video and on one ten times longer, each in a
process of its own that loads the model and runs the job once (CUDA: ``PeakMemory``'s
allocator peak; the CPU: the process's peak resident set, ``VmHWM``). Target: within 10 %.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from benchmarks.report import print_table
from core.detection.tracking import YoloTracking
from core.media.video import VideoJob, plan_video, probe_video
from core.runtime.budget import PeakMemory
from core.runtime.device import describe_device, pick_device
from core.runtime.files import PrivateFolder
from core.runtime.jobs import CancelToken
from core.runtime.latency import measure_latencies
from core.runtime.weights import load_pretrained
from tests.models import save_untrained_yolo
from tests.videos import camera_frames, write_video

ROUNDS = 5
SIZE, FRAMES, FPS = (1280, 720), 60, 30
SETTINGS = dict(conf=0.25, iou=0.7, imgsz=640, max_det=20)
MB = 1e6
LIVE_FRAMES = 40
SHORT_FRAMES = 30  # of 640×360, for the memory rows; and ten times as many


@contextmanager
def _untrained_yolo_cache():
    """ultralytics' weights directory pointed at a temporary one holding the untrained model."""
    from ultralytics.utils import SETTINGS as ULTRALYTICS

    weights_dir = ULTRALYTICS["weights_dir"]
    with tempfile.TemporaryDirectory() as cache:
        ULTRALYTICS["weights_dir"] = cache  # ultralytics saves its settings: restored below
        try:
            save_untrained_yolo("yolo11n", class_logit=2.0)
            yield Path(cache)
        finally:
            ULTRALYTICS["weights_dir"] = weights_dir


def _ours(model, data: bytes, folder: PrivateFolder, device: torch.device) -> tuple[float, int]:
    """Seconds and frames of our whole job: decode, detect, track, draw, encode."""
    work = YoloTracking("yolo11n", lambda: model, "ByteTrack", None, SETTINGS)
    job = VideoJob(work, data, plan_video(probe_video(data)), folder)
    started = time.perf_counter()
    frames = sum(1 for _ in job.run(device, CancelToken()))
    elapsed = time.perf_counter() - started
    job.output.delete()
    return elapsed, frames


def _baseline(model, path: Path, device: torch.device) -> tuple[float, int]:
    """Seconds and frames of ``model.track(path, stream=True)``, every result taken."""
    started = time.perf_counter()
    results = model.track(
        str(path), stream=True, tracker="bytetrack.yaml", device=str(device), verbose=False, **SETTINGS
    )
    frames = sum(1 for _ in results)
    return time.perf_counter() - started, frames


def peak_bytes(path: Path) -> int:
    """This process's peak memory while it loads the model and runs our job once on the video
    at ``path``."""
    device = pick_device()
    data = path.read_bytes()
    with _untrained_yolo_cache(), PeakMemory(device) as peak:
        _ours(load_pretrained("yolo11n"), data, PrivateFolder(), device)
    if device.type == "cuda":
        return peak.bytes
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) * 1024


def _peak_in_child(frames: int) -> int:
    """``peak_bytes`` in a fresh process, for a ``frames``-frame 640×360 video made here."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        write_video(path, frames=frames, width=640, height=360, fps=FPS)
        command = [sys.executable, "-m", "benchmarks.video", "--peak", str(path)]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.splitlines()[-1])


def frame_rates(device: torch.device) -> dict[str, float]:
    """Median frames per second of the baseline and of our job, alternating."""
    with _untrained_yolo_cache() as cache:
        ours_model, their_model = load_pretrained("yolo11n"), load_pretrained("yolo11n")  # one each: no shared state
        path = cache / "clip.mp4"
        data = write_video(path, frames=FRAMES, width=SIZE[0], height=SIZE[1], fps=FPS)
        folder = PrivateFolder()
        _ours(ours_model, data, folder, device), _baseline(their_model, path, device)  # warm-up
        rates: dict[str, list[float]] = {"ours": [], "baseline": []}
        for _ in range(ROUNDS):
            seconds, frames = _baseline(their_model, path, device)
            rates["baseline"].append(frames / seconds)
            seconds, frames = _ours(ours_model, data, folder, device)
            rates["ours"].append(frames / seconds)
    return {name: statistics.median(values) for name, values in rates.items()}


def live_latencies(device: torch.device) -> dict[str, float]:
    """Median milliseconds per 640×480 frame: ``YOLO.predict`` alone, and our live stream."""
    from core.media.live import LiveStream

    with _untrained_yolo_cache():
        ours_model, their_model = load_pretrained("yolo11n"), load_pretrained("yolo11n")
        stream = LiveStream(device)
        stream.use(YoloTracking("yolo11n", lambda: ours_model, "ByteTrack", None, SETTINGS))
        frames = camera_frames(3 + LIVE_FRAMES, 640, 480)
        bgr = iter([frame.to_ndarray(format="bgr24") for frame in frames])
        stamped = iter(frames)
        measured = measure_latencies(
            [
                lambda: their_model.predict(next(bgr), device=str(device), verbose=False, **SETTINGS),
                lambda: stream.process([next(stamped)]),
            ],
            device,
            warmup=3,
            repeats=LIVE_FRAMES,
        )
    return {name: latency.median_s * 1e3 for name, latency in zip(("predict", "live"), measured)}


def main() -> None:
    device = pick_device()
    latency = live_latencies(device)
    print_table(
        f"The live camera: one 640×480 frame on the server, YOLO11n at imgsz 640, {describe_device(device)} "
        f"(median of {LIVE_FRAMES}, alternating)",
        ("path", "ms / frame", "frames/s at most", "vs predict"),
        [
            ("YOLO.predict alone", f"{latency['predict']:.1f}", f"{1e3 / latency['predict']:.1f}", "1.00×"),
            (
                "our stream: detect, track, draw",
                f"{latency['live']:.1f}",
                f"{1e3 / latency['live']:.1f}",
                f"{latency['live'] / latency['predict']:.2f}×",
            ),
        ],
    )
    rates = frame_rates(device)
    ratio = rates["ours"] / rates["baseline"]
    print_table(
        f"YOLO11n + ByteTrack on a {FRAMES}-frame {SIZE[0]}×{SIZE[1]} video at imgsz 640, {describe_device(device)} "
        f"(median of {ROUNDS}, alternating)",
        ("path", "frames/s", "vs model.track", "within 10 %"),
        [
            ("model.track(stream=True): track only", f"{rates['baseline']:.2f}", "1.00×", ""),
            (
                "our job: track, draw, H.264 encode",
                f"{rates['ours']:.2f}",
                f"{ratio:.2f}×",
                "yes" if ratio >= 0.9 else "NO",
            ),
        ],
    )
    short, long = _peak_in_child(SHORT_FRAMES), _peak_in_child(10 * SHORT_FRAMES)
    growth = long / short
    print_table(
        f"Peak memory of a process running our job once on a 640×360 video, {describe_device(device)}",
        ("frames", "peak MB", "vs short", "within 10 %"),
        [
            (SHORT_FRAMES, f"{short / MB:,.0f}", "1.00×", ""),
            (10 * SHORT_FRAMES, f"{long / MB:,.0f}", f"{growth:.2f}×", "yes" if growth <= 1.1 else "NO"),
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--peak", type=Path, metavar="VIDEO", help="print this process's peak for one job, in bytes")
    options = parser.parse_args()
    if options.peak:
        print(json.dumps(peak_bytes(options.peak)))
    else:
        main()
