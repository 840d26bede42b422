"""Object detection: our ``detect_yolo`` against calling ``YOLO.predict`` directly.

Same model, image, settings and device, in one process; the two calls alternate so that
machine noise falls on both alike. Target: overhead <= 5 %. Pretrained YOLO weights may
be absent (no internet), so the model is YOLO11n's architecture with untrained weights,
loaded through the real cache path: its convolutions cost what the trained ones cost. Two
rows bracket the post-processing: a freshly initialized head (no box passes the
confidence threshold) and one whose class biases let every position pass (NMS over all
candidates, 300 boxes kept).
"""

from __future__ import annotations

import tempfile

import numpy as np
import torch

from benchmarks.report import print_table
from core.detection.detectors import detect_yolo
from core.runtime.device import describe_device, pick_device
from core.runtime.examples import example_image
from core.runtime.images import fit_within
from core.runtime.latency import measure_latencies
from core.runtime.weights import load_pretrained
from tests.models import save_untrained_yolo

REPEATS = 25
HEADS = (("untrained head: no box passes", None), ("every position passes: NMS, 300 kept", 2.0))


def _compare(label: str, logit: float | None, image: np.ndarray, device: torch.device, settings: dict) -> tuple:
    """Median times of ``YOLO.predict`` and ``detect_yolo``, alternating, for one head."""
    bgr = np.ascontiguousarray(image[..., ::-1])  # what YOLO.predict reads: an OpenCV BGR array, made once
    save_untrained_yolo("yolo11n", class_logit=logit)
    model = load_pretrained("yolo11n")
    direct = lambda: model.predict(bgr, device=str(device), verbose=False, **settings)  # noqa: E731
    ours = lambda: detect_yolo(model, image, device, **settings)  # noqa: E731
    # warm-up: predictor set-up, allocator, cuDNN autotuning; then the two calls alternate
    direct_time, ours_time = measure_latencies([direct, ours], device, warmup=3, repeats=REPEATS)
    baseline, measured = direct_time.median_s, ours_time.median_s
    overhead = measured / baseline - 1
    return (
        label,
        f"{baseline * 1e3:.1f}",
        f"{measured * 1e3:.1f}",
        f"{overhead:+.1%}",
        "yes" if overhead <= 0.05 else "NO",
    )


def main() -> None:
    from ultralytics.utils import SETTINGS

    device = pick_device()
    image = fit_within(example_image("motorcycle"), 640)  # a real photo, 640 px on its long side
    settings = dict(conf=0.25, iou=0.7, imgsz=640, max_det=300)
    weights_dir = SETTINGS["weights_dir"]
    with tempfile.TemporaryDirectory() as cache:
        SETTINGS["weights_dir"] = cache  # ultralytics saves its settings: restored below
        try:
            rows = [_compare(label, logit, image, device, settings) for label, logit in HEADS]
        finally:
            SETTINGS["weights_dir"] = weights_dir
    print_table(
        f"YOLO11n on a {image.shape[1]}×{image.shape[0]} photo at imgsz 640, {describe_device(device)} "
        f"(median of {REPEATS}, alternating)",
        ("head", "YOLO.predict ms", "detect_yolo ms", "overhead", "<= 5 %"),
        rows,
    )


if __name__ == "__main__":
    main()
