"""Neural style transfer: time per step and peak memory of ``core.style.neural_style.transfer`` against
the PyTorch neural-style tutorial's algorithm ("Neural Transfer Using PyTorch", A. Jacq),
written here from its description.

The tutorial's way, which a user would otherwise pick: VGG19's layers rebuilt in an
``nn.Sequential`` behind a normalization module, with loss modules inserted after the
chosen layers (each computing its loss as the image passes), the model cut after the last
loss module, the content activation and the style Gram matrices computed once while
building, and VGG's weights frozen (``requires_grad_(False)``); float32, contiguous memory.
Both paths use the same layers (content conv4_2, style conv1_1 … conv5_1, after the
ReLU, named relu_10 and relu_1, 3, 5, 9, 13 in the tutorial's counting), the same square
images (the tutorial needs the style image at the content's size), Adam at the same
learning rate, and the same untrained VGG19 (no weights can be downloaded on the build
machines; the arithmetic is that of the ImageNet weights). Per step: the median over the
timed steps after warm-up steps, the two paths' steps alternating in one process, and
each path alone in fresh processes, each set up as its user runs it (ours as the app's
server starts, the tutorial as a plain script). Peak memory, in a fresh process per path:
how far memory rises above the loaded network and images while the path builds and runs
(CPU: Linux ``VmHWM``; CUDA: ``max_memory_allocated``). Targets: ≥ 1.0× the tutorial both
ways with at most its peak memory on the CPU at 256² and 512²; ≥ 3× it at 512² on CUDA.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.report import print_table
from core.runtime.device import describe_device, keep_freed_pages, pick_device
from core.runtime.examples import example_image
from core.runtime.latency import measure_latencies, measure_latency, synchronize
from core.style import neural_style as style

SIDES = {"cpu": (256, 512), "cuda": (512,)}
STEPS = {"cpu": 10, "cuda": 100}
WARMUP = {"cpu": 2, "cuda": 10}
ROUNDS = 3  # fresh processes per path
TUTORIAL_CONTENT_LAYERS = ("relu_10",)  # conv4_2 after its ReLU
TUTORIAL_STYLE_LAYERS = ("relu_1", "relu_3", "relu_5", "relu_9", "relu_13")  # conv1_1 … conv5_1


# -- the tutorial's algorithm ------------------------------------------------------------------------------


class ContentLoss(nn.Module):
    def __init__(self, target: torch.Tensor) -> None:
        super().__init__()
        self.target = target.detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.loss = F.mse_loss(x, self.target)
        return x


def tutorial_gram(x: torch.Tensor) -> torch.Tensor:
    batch, channels, height, width = x.size()
    features = x.view(batch * channels, height * width)
    return torch.mm(features, features.t()).div(batch * channels * height * width)


class StyleLoss(nn.Module):
    def __init__(self, target_feature: torch.Tensor) -> None:
        super().__init__()
        self.target = tutorial_gram(target_feature).detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.loss = F.mse_loss(tutorial_gram(x), self.target)
        return x


class Normalization(nn.Module):
    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(-1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(-1, 1, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return (image - self.mean) / self.std


def tutorial_model(
    cnn: nn.Sequential, style_image: torch.Tensor, content: torch.Tensor
) -> tuple[nn.Sequential, list[ContentLoss], list[StyleLoss]]:
    """The tutorial's ``get_style_model_and_losses``."""
    model = nn.Sequential(Normalization(style.IMAGENET_MEAN, style.IMAGENET_STD).to(content.device))
    content_losses, style_losses, convs = [], [], 0
    for layer in cnn.children():
        if isinstance(layer, nn.Conv2d):
            convs += 1
            name = f"conv_{convs}"
        elif isinstance(layer, nn.ReLU):
            name, layer = f"relu_{convs}", nn.ReLU(inplace=False)
        else:
            name = f"pool_{convs}"
        model.add_module(name, layer)
        if name in TUTORIAL_CONTENT_LAYERS:
            content_loss = ContentLoss(model(content).detach())
            model.add_module(f"content_loss_{convs}", content_loss)
            content_losses.append(content_loss)
        if name in TUTORIAL_STYLE_LAYERS:
            style_loss = StyleLoss(model(style_image).detach())
            model.add_module(f"style_loss_{convs}", style_loss)
            style_losses.append(style_loss)
    last = max(index for index, layer in enumerate(model) if isinstance(layer, (ContentLoss, StyleLoss)))
    return model[: last + 1], content_losses, style_losses


def tutorial_steps(
    cnn: nn.Sequential, content: torch.Tensor, style_image: torch.Tensor, config: style.StyleConfig
) -> Callable[[], None]:
    """The tutorial's set-up and optimization loop, with Adam in place of L-BFGS so that a
    step is one evaluation of J and its gradient, as in ours."""
    model, content_losses, style_losses = tutorial_model(cnn, style_image, content)
    model.eval().requires_grad_(False)
    generated = content.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([generated], lr=config.learning_rate)

    def step() -> None:
        optimizer.zero_grad()
        model(generated)
        style_score = sum(loss.loss for loss in style_losses)
        content_score = sum(loss.loss for loss in content_losses)
        (config.style_weight * style_score + config.content_weight * content_score).backward()
        optimizer.step()
        with torch.no_grad():
            generated.clamp_(0, 1)

    return step


def ours_steps(
    features: nn.Sequential, content: torch.Tensor, style_image: torch.Tensor, config: style.StyleConfig
) -> Callable[[], None]:
    extractor = style.VGGFeatures(features, config.layers).to(content.device)
    run = style.transfer(extractor, content, [(style_image, 1.0)], config)
    return lambda: next(run)


OURS = "core.style.neural_style.transfer"
PATHS = {OURS: ours_steps, "tutorial": tutorial_steps}


def network(path: str, vgg: nn.Module) -> nn.Sequential:
    """What each path starts from, loaded before the measurement as the app caches it:
    ours a frozen copy of the convolutional layers (``core.style.neural_style.vgg19_features``), the
    tutorial the model's own ``features``."""
    return style.vgg19_features(vgg) if path == OURS else vgg.features


# -- measuring ------------------------------------------------------------------------------------------


def _memory_kib(field: str) -> int:
    line = next(line for line in pathlib.Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
    return int(line.split()[1])


def _images(device: torch.device, side: int) -> tuple[torch.Tensor, torch.Tensor, style.StyleConfig]:
    steps, warmup = STEPS.get(device.type, 10), WARMUP.get(device.type, 2)
    content = style.to_tensor(example_image("astronaut"), side).to(device)
    style_image = F.interpolate(
        style.to_tensor(example_image("hubble_deep_field"), side).to(device),
        size=content.shape[-2:],
        mode="bilinear",
        antialias=True,
        align_corners=False,
    )
    config = style.StyleConfig(image_size=side, iterations=steps + warmup, preview_every=10 * (steps + warmup))
    return content, style_image, config


def _as_run_by_its_user(path: str) -> None:
    """A fresh process set up the way each path's user runs it: ours as the app's server
    starts (``core.runtime.device.keep_freed_pages``), the tutorial as a plain script."""
    if path == OURS:
        keep_freed_pages()


def step_seconds(device: torch.device, side: int) -> dict[str, float]:
    """Median seconds per step of each path, both in this process, their steps alternating
    so that the machine's noise falls on both alike."""
    from torchvision.models import vgg19

    content, style_image, config = _images(device, side)
    torch.manual_seed(0)
    steps = {
        path: make(network(path, vgg19().eval().to(device)), content, style_image, config)
        for path, make in PATHS.items()
    }
    timed = measure_latencies(
        list(steps.values()), device, warmup=WARMUP.get(device.type, 2), repeats=STEPS.get(device.type, 10)
    )
    return {path: latency.median_s for path, latency in zip(steps, timed)}


def own_step_seconds(path: str, side: int) -> float:
    """Median seconds per step of ``path`` alone; meant for a fresh process."""
    from torchvision.models import vgg19

    _as_run_by_its_user(path)
    device = pick_device()
    content, style_image, config = _images(device, side)
    torch.manual_seed(0)
    step = PATHS[path](network(path, vgg19().eval().to(device)), content, style_image, config)
    return measure_latency(step, device, warmup=WARMUP.get(device.type, 2), repeats=STEPS.get(device.type, 10)).median_s


def peak_bytes(path: str, side: int) -> int:
    """How far memory rises above the loaded network and images while ``path`` builds and
    runs its steps; meant for a fresh process."""
    from torchvision.models import vgg19

    _as_run_by_its_user(path)
    device = pick_device()
    content, style_image, config = _images(device, side)
    torch.manual_seed(0)
    layers = network(path, vgg19().eval().to(device))
    synchronize(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    else:
        base = _memory_kib("VmRSS:") * 1024
        pathlib.Path("/proc/self/clear_refs").write_text("5")  # Linux: reset the peak resident set (VmHWM)
    step = PATHS[path](layers, content, style_image, config)
    for _ in range(WARMUP.get(device.type, 2) + STEPS.get(device.type, 10)):
        step()
    synchronize(device)
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) - base
    return _memory_kib("VmHWM:") * 1024 - base


def _in_child(what: str, path: str, side: int) -> float:
    command = [sys.executable, "-m", "benchmarks.style", what, path, "--side", str(side)]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[-1])


def fresh_step_seconds(side: int) -> dict[str, float]:
    """Each path timed in fresh processes, ``ROUNDS`` each, the paths' processes
    alternating; the median of their medians."""
    timed: dict[str, list[float]] = {path: [] for path in PATHS}
    for _ in range(ROUNDS):
        for path in PATHS:
            timed[path].append(_in_child("--time", path, side))
    return {path: statistics.median(seconds) for path, seconds in timed.items()}


def main() -> None:
    device = pick_device()
    _as_run_by_its_user(OURS)  # the alternating paths share this process, set up as the server is
    rows = []
    for side in SIDES.get(device.type, (256,)):
        together, alone = step_seconds(device, side), fresh_step_seconds(side)
        peaks = {path: _in_child("--peak", path, side) for path in PATHS}
        rows += [
            (
                f"{side}²",
                path,
                f"{together[path] * 1e3:.1f}",
                f"{together['tutorial'] / together[path]:.2f}",
                f"{alone[path] * 1e3:.1f}",
                f"{alone['tutorial'] / alone[path]:.2f}",
                f"{peaks[path] / 2**20:.0f}",
                f"{peaks[path] / peaks['tutorial']:.2f}",
            )
            for path in PATHS
        ]
    print_table(
        f"Style transfer, content conv4_2, style conv1_1 … conv5_1, Adam, {describe_device(device)}: median of "
        f"{STEPS.get(device.type, 10)} steps after warm-up, the two paths alternating in one process, and in "
        f"fresh processes ({ROUNDS} each, alternating; the median of their medians); peak memory in a fresh "
        "process each; baseline: the PyTorch tutorial's algorithm, fp32",
        (
            "side",
            "path",
            "ms / step, alternating",
            "× tutorial",
            "ms / step, own process",
            "× tutorial",
            "peak MB",
            "× tutorial memory",
        ),
        rows,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--peak", choices=sorted(PATHS), help="print one path's peak memory, in bytes")
    parser.add_argument("--time", choices=sorted(PATHS), help="print one path's median seconds per step")
    parser.add_argument("--side", type=int, default=256)
    arguments = parser.parse_args()
    if arguments.peak:
        print(json.dumps(peak_bytes(arguments.peak, arguments.side)))
    elif arguments.time:
        print(json.dumps(own_step_seconds(arguments.time, arguments.side)))
    else:
        main()
