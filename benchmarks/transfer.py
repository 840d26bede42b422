"""Transfer learning: regime (a) with cached features against the frozen backbone run every
epoch, and the offline digit experiment.

Regime (a) trains only a new softmax. ``core.transfer.regimes`` runs the frozen network once and
keeps its features (the course's "save them to disk" trick); the baseline is what the usual
tutorial does, the frozen network inside the model, run on every batch of every epoch (under
``torch.no_grad``, so no gradient work is wasted on it). Same photos, batches, head and
optimizer; ResNet-18 and MobileNetV3-Large with random weights (the time does not depend on
the values), 40 photos of 224², batch 16.
Targets: an epoch of regime (a) ≥ 10× faster than the baseline's on this CPU; the default
offline experiment (5 examples per digit) within 60 s on a 2-core CPU.

A trained model on the live camera: the server's time per 640×480 camera frame through
``core.media.live.LiveStream`` with ``core.transfer.deploy.LiveClassifier`` (convert, resize
to 224², classify, draw the bars, convert back), against the network's forward pass alone on
a ready 224² tensor, alternating, median of ``LIVE_FRAMES``; its inverse is the most frames
per second one viewer can get.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.models import get_model

from benchmarks.report import print_table
from core.runtime.device import describe_device, pick_device
from core.runtime.latency import measure_latencies
from core.runtime.weights import load_pretrained
from core.transfer import deploy
from core.transfer import regimes as transfer
from tests.videos import camera_frames

PHOTOS, EPOCHS = 40, 3
LIVE_FRAMES, WARMUP = 40, 3


def frozen_backbone_epochs(network: transfer.TransferNet, inputs, labels, settings, device) -> list[float]:
    """The baseline: every epoch, every batch through the frozen blocks, then the head."""
    network.freeze(len(network.blocks))
    optimizer = torch.optim.Adam(network.head.parameters(), lr=settings.learning_rate * 10)
    order = torch.Generator().manual_seed(settings.seed)
    seconds = []
    for _ in range(settings.epochs):
        started = time.perf_counter()
        network.train()
        for batch in torch.randperm(len(labels), generator=order).split(settings.batch_size):
            with torch.no_grad():
                features = network.features(inputs[batch].to(device))
            loss = F.cross_entropy(network.head(features), labels[batch].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - started)
    return seconds


def live_ms(backbone: transfer.Backbone, device: torch.device) -> dict[str, float]:
    """Median milliseconds per camera frame: the network alone, and our live stream."""
    from core.media.live import LiveStream

    torch.manual_seed(0)
    network = transfer.transfer_net(backbone, None, 3).to(device).eval()
    progress = transfer.RegimeProgress("scratch", 1, 1.0, 1.0, 1.0)
    run = transfer.RegimeRun("scratch", (progress,), network, ("a", "b", "c"), backbone, False, 1, 30)
    stream = LiveStream(device)
    stream.use(deploy.LiveClassifier.of(run))
    ready = torch.zeros(1, 3, backbone.side, backbone.side, device=device)
    frames = iter(camera_frames(WARMUP + LIVE_FRAMES, 640, 480))

    def alone() -> None:
        with torch.inference_mode():
            network(ready)

    measured = measure_latencies(
        [alone, lambda: stream.process([next(frames)])], device, warmup=WARMUP, repeats=LIVE_FRAMES
    )
    return {name: latency.median_s * 1e3 for name, latency in zip(("network", "live"), measured)}


def main() -> None:
    device = pick_device()
    live = []
    for backbone in transfer.BACKBONES.values():
        measured = live_ms(backbone, device)
        live.append(
            (
                backbone.title,
                f"{measured['network']:.1f}",
                f"{measured['live']:.1f}",
                f"{1e3 / measured['live']:.1f}",
                f"{measured['live'] / measured['network']:.2f}×",
            )
        )
    print_table(
        f"A trained model on the live camera: one 640×480 frame on the server, {describe_device(device)} "
        f"(median of {LIVE_FRAMES}, alternating)",
        ("backbone", "network alone ms", "our stream ms", "frames/s at most", "vs network"),
        live,
    )
    generator = np.random.default_rng(0)
    photos = [(generator.integers(0, 256, (256, 256, 3), dtype=np.uint8), index % 2) for index in range(PHOTOS)]
    training, validation = photos[: PHOTOS * 4 // 5], photos[PHOTOS * 4 // 5 :]
    settings = transfer.TrainingSettings(regimes=("head",), epochs=EPOCHS)
    rows = []
    for name, backbone in transfer.BACKBONES.items():
        torch.manual_seed(0)
        model = get_model(name, weights=None).eval()
        started = time.perf_counter()
        cached = [
            p.epoch_seconds
            for p, _ in transfer.train_regimes(backbone, model, training, validation, 2, settings, device)
        ]
        cached_total = time.perf_counter() - started
        network = transfer.transfer_net(backbone, model, 2).to(device)
        inputs = transfer.to_batch([image for image, _ in training], backbone)
        labels = torch.tensor([label for _, label in training])
        started = time.perf_counter()
        baseline = frozen_backbone_epochs(network, inputs, labels, settings, device)
        baseline_total = time.perf_counter() - started
        ratio = np.median(baseline) / np.median(cached)
        rows.append(
            (
                backbone.title,
                f"{np.median(cached) * 1e3:.2f}",
                f"{np.median(baseline) * 1e3:.0f}",
                f"{ratio:,.0f}×",
                "yes" if ratio >= 10 else "NO",
                f"{cached_total:.1f}",
                f"{baseline_total:.1f}",
            )
        )
    print_table(
        f"Regime (a), {len(training)} photos of 224², batch 16, {describe_device(device)}",
        (
            "backbone",
            "cached ms/epoch",
            "frozen backbone ms/epoch",
            "speed-up",
            "≥ 10×",
            f"cached s ({EPOCHS} epochs, features, validation)",
            f"baseline s ({EPOCHS} epochs)",
        ),
        rows,
    )
    started = time.perf_counter()
    result = transfer.offline_experiment(load_pretrained("digits_0to4"))
    seconds = time.perf_counter() - started
    print_table(
        "The offline experiment: digits 0–4 → 5–9, 5 examples per digit, regime (a) on both backbones",
        ("seconds", "≤ 60 s", "pretrained accuracy", "untrained accuracy"),
        [
            (
                f"{seconds:.1f}",
                "yes" if seconds <= 60 else "NO",
                f"{result.pretrained_accuracy:.1%}",
                f"{result.untrained_accuracy:.1%}",
            )
        ],
    )
