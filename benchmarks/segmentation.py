"""U-Net segmentation: inference time and peak memory of the shipped checkpoint, its
training record, and the in-app quick training against its target.

Inference: the shipped U-Net at 256² and 512², median of 10 after a warm-up; the baseline,
timed in the same process, is one 3×3 convolution 16 → 16 at the same size (the network's
most common layer), so the ratio says how many such layers the whole network costs. Peak
memory: each size runs in a fresh process; on the CPU the figure is how far the resident
set peaks above the process with the model loaded (Linux ``VmHWM`` after resetting it),
on CUDA ``max_memory_allocated``.
Quick training: the default ``TrainingConfig`` from nothing (data, model, training), stopped
at 60 s; target mean IoU >= 0.5 on the synthetic validation set within 60 s on a 2-core CPU.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

from benchmarks.report import print_table
from core import segmentation as seg
from core.runtime.device import describe_device, pick_device
from core.runtime.latency import measure_latency
from core.runtime.weights import get_weights, load_pretrained

SIZES = (256, 512)
QUICK_TRAINING_BUDGET_S = 60.0

_PEAK_MEMORY = """
import json, pathlib, sys, torch
from core.runtime.device import pick_device
from core.runtime.weights import load_pretrained

def kib(field):
    line = next(l for l in pathlib.Path("/proc/self/status").read_text().splitlines() if l.startswith(field))
    return int(line.split()[1])

side = int(sys.argv[1])
device = pick_device()
model = load_pretrained("unet_shapes").to(device)
image = torch.rand(1, 3, side, side, device=device)
if device.type == "cuda":
    torch.cuda.reset_peak_memory_stats(device)
before = kib("VmRSS:")
pathlib.Path("/proc/self/clear_refs").write_text("5")  # Linux: reset the peak resident set (VmHWM)
with torch.inference_mode():
    model(image)
if device.type == "cuda":
    peak = torch.cuda.max_memory_allocated(device)
else:
    peak = (kib("VmHWM:") - before) * 1024
print(json.dumps(peak))
"""


def inference_rows(device: torch.device) -> list[tuple]:
    model = load_pretrained("unet_shapes").to(device)
    layer = torch.rand(16, 16, 3, 3, device=device)
    rows = []
    for side in SIZES:
        image = torch.rand(1, 3, side, side, device=device)
        features = torch.rand(1, 16, side, side, device=device)
        with torch.inference_mode():
            unet_s = measure_latency(lambda: model(image), device, warmup=2).median_s
            conv_s = measure_latency(lambda: F.conv2d(features, layer, padding=1), device, warmup=2).median_s
        peak = json.loads(
            subprocess.run(
                [sys.executable, "-c", _PEAK_MEMORY, str(side)], capture_output=True, text=True, check=True
            ).stdout
        )
        rows.append(
            (
                f"{side}×{side}",
                f"{unet_s * 1e3:.1f}",
                f"{conv_s * 1e3:.2f}",
                f"{unet_s / conv_s:.1f}",
                f"{peak / 2**20:.0f}",
            )
        )
    return rows


def quick_training(device: torch.device) -> tuple[float | None, float, int]:
    """Seconds until validation mean IoU first reaches 0.5 (None if not within the budget),
    the best mean IoU within the budget, and the epochs completed."""
    started = time.perf_counter()
    config = seg.TrainingConfig()
    data = seg.TrainingData.make(config)
    model = seg.new_model(config)
    reached, best, epochs = None, 0.0, 0
    for progress in seg.train(model, data, config, device):
        elapsed = time.perf_counter() - started
        if elapsed > QUICK_TRAINING_BUDGET_S:
            break
        if progress.validation is not None:
            epochs = progress.epoch
            best = max(best, progress.validation.mean_iou)
            if reached is None and progress.validation.mean_iou >= 0.5:
                reached = elapsed
    return reached, best, epochs


def main() -> None:
    device = pick_device()
    name = describe_device(device)
    print_table(
        f"Shipped U-Net inference, {name} (median of 10; baseline: one 3×3 conv 16 → 16 at the same size)",
        ("input", "U-Net ms", "conv ms", "× conv", "peak MB"),
        inference_rows(device),
    )
    manifest = seg.checkpoint_manifest(get_weights("unet_shapes").cache_path())
    print(
        f"\nShipped checkpoint: {manifest['parameters']:,} parameters, {manifest['size_bytes'] / 2**20:.1f} MB, "
        f"trained in {manifest['training_seconds']:.0f} s on {manifest['device']} by `{manifest['command']}`; "
        f"mean IoU {manifest['fresh_test']['mean_iou']:.3f} on {manifest['fresh_test']['images']} fresh images."
    )
    reached, best, epochs = quick_training(device)
    print_table(
        f"Quick training at the page's defaults, {name}, stopped at {QUICK_TRAINING_BUDGET_S:.0f} s (target: mean IoU "
        ">= 0.5 within 60 s)",
        ("seconds to mean IoU 0.5", "best mean IoU in 60 s", "epochs done", "target met"),
        [(f"{reached:.1f}" if reached else "not reached", f"{best:.3f}", epochs, "yes" if reached else "NO")],
    )


if __name__ == "__main__":
    main()
