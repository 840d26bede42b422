"""Video: our tracking job against ultralytics' own ``model.track(source, stream=True)``.

Both track the same file with the same model, settings and ByteTrack, in one process, and
alternate so that machine noise falls on both alike. Ours also draws every frame and encodes
it as H.264 (the video that comes back); the baseline only yields its results. Target:
frames per second at most 10 % below the baseline, at 720p. Pretrained YOLO weights may be
absent (no internet), so the model is YOLO11n's architecture with untrained weights, loaded
through the real cache path, its class biases raised so that boxes pass the threshold and
are tracked and drawn (``max_det`` caps them at 20 a frame).

Threads: when ultralytics builds a predictor on the CPU it sets torch's thread count for the
whole process to min(8, cores − 1), so a user's ``model.track`` runs with that many; our
job keeps the server's count (all cores, ``core.runtime.device.torch_threads_kept``). The
baseline runs both ways: with the library's count, as a user gets it, and with ours, which
leaves only the cost of what our job adds.

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


@contextmanager
def _torch_threads(count: int):
    """torch's CPU thread count set to ``count`` for the block, then put back."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def library_threads(device: torch.device) -> int:
    """The torch thread count ultralytics sets when it builds a predictor on ``device``."""
    from ultralytics.utils import NUM_THREADS

    return NUM_THREADS if device.type == "cpu" else torch.get_num_threads()


def frame_rates(device: torch.device) -> dict[str, float]:
    """Median frames per second of the baseline (with the library's thread count and with
    ours) and of our job, alternating."""
    ours_threads, their_threads = torch.get_num_threads(), library_threads(device)
    with _untrained_yolo_cache() as cache:
        ours_model, their_model = load_pretrained("yolo11n"), load_pretrained("yolo11n")  # one each: no shared state
        path = cache / "clip.mp4"
        data = write_video(path, frames=FRAMES, width=SIZE[0], height=SIZE[1], fps=FPS)
        folder = PrivateFolder()
        paths = {
            "baseline": lambda: _baseline(their_model, path, device),
            "baseline, our threads": lambda: _baseline(their_model, path, device),
            "ours": lambda: _ours(ours_model, data, folder, device),
        }
        threads = {"baseline": their_threads, "baseline, our threads": ours_threads, "ours": ours_threads}
        rates: dict[str, list[float]] = {name: [] for name in paths}
        for round_ in range(ROUNDS + 1):  # the first is the warm-up
            for name, run in paths.items():
                with _torch_threads(threads[name]):
                    seconds, frames = run()
                if round_:
                    rates[name].append(frames / seconds)
    return {name: statistics.median(values) for name, values in rates.items()}


def live_latencies(device: torch.device) -> dict[str, float]:
    """Median milliseconds per 640×480 frame: ``YOLO.predict`` alone (with the library's
    thread count), and our live stream (with the server's)."""
    from core.media.live import LiveStream

    ours_threads, their_threads = torch.get_num_threads(), library_threads(device)

    def predict(image):
        with _torch_threads(their_threads):
            return their_model.predict(image, device=str(device), verbose=False, **SETTINGS)

    def live(frame):
        with _torch_threads(ours_threads):
            return stream.process([frame])

    with _untrained_yolo_cache():
        ours_model, their_model = load_pretrained("yolo11n"), load_pretrained("yolo11n")
        stream = LiveStream(device)
        stream.use(YoloTracking("yolo11n", lambda: ours_model, "ByteTrack", None, SETTINGS))
        frames = camera_frames(3 + LIVE_FRAMES, 640, 480)
        bgr = iter([frame.to_ndarray(format="bgr24") for frame in frames])
        stamped = iter(frames)
        measured = measure_latencies(
            [
                lambda: predict(next(bgr)),
                lambda: live(next(stamped)),
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
        ("path", "torch threads", "ms / frame", "frames/s at most", "vs predict"),
        [
            (
                "YOLO.predict alone",
                library_threads(device),
                f"{latency['predict']:.1f}",
                f"{1e3 / latency['predict']:.1f}",
                "1.00×",
            ),
            (
                "our stream: detect, track, draw",
                torch.get_num_threads(),
                f"{latency['live']:.1f}",
                f"{1e3 / latency['live']:.1f}",
                f"{latency['live'] / latency['predict']:.2f}×",
            ),
        ],
    )
    rates = frame_rates(device)
    ratio, same_threads = rates["ours"] / rates["baseline"], rates["ours"] / rates["baseline, our threads"]
    ours_threads, their_threads = torch.get_num_threads(), library_threads(device)
    print_table(
        f"YOLO11n + ByteTrack on a {FRAMES}-frame {SIZE[0]}×{SIZE[1]} video at imgsz 640, {describe_device(device)} "
        f"(median of {ROUNDS}, alternating)",
        ("path", "torch threads", "frames/s", "vs model.track", "within 10 %"),
        [
            ("model.track(stream=True): track only", their_threads, f"{rates['baseline']:.2f}", "1.00×", ""),
            (
                "model.track(stream=True), our thread count",
                ours_threads,
                f"{rates['baseline, our threads']:.2f}",
                f"{rates['baseline, our threads'] / rates['baseline']:.2f}×",
                "",
            ),
            (
                "our job: track, draw, H.264 encode",
                ours_threads,
                f"{rates['ours']:.2f}",
                f"{ratio:.2f}× ({same_threads:.2f}× at our thread count)",
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
