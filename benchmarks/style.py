"""Neural style transfer: iterations per second of ``core.style.transfer`` against a plain
fp32 eager implementation of the same algorithm written here, in the same run.

The baseline runs torchvision's VGG19 ``features`` as they are (37 layers, contiguous
memory) on G, C and S at every step and recomputes the content activation and the style
Gram matrices from them each time; ours truncates VGG19 after the deepest layer in use
(conv5_1), keeps it in channels-last order and computes the targets once.
Same configuration (content conv4_2, style conv1_1 … conv5_1, Adam, content init), same
images, same device. VGG19 is untrained here (its weights cannot be downloaded on this
machine); the arithmetic is the same as with the ImageNet weights. Target: ≥ 1.5× on the CPU at 256².
"""

from __future__ import annotations

import time

import torch
from torch import nn

from benchmarks.report import print_table
from core import style
from core.device import describe_device, pick_device
from core.examples import example_image

STEPS = {"cpu": 10, "cuda": 100}


def plain_transfer(features: nn.Sequential, content: torch.Tensor, style_image: torch.Tensor,
                   config: style.StyleConfig, steps: int) -> float:
    """The textbook loop, timed: seconds per step."""
    names = style.layer_names(features)
    taps = {names[name]: name for name in config.layers}
    mean = torch.tensor(style.IMAGENET_MEAN, device=content.device).view(1, 3, 1, 1)
    std = torch.tensor(style.IMAGENET_STD, device=content.device).view(1, 3, 1, 1)

    def activations(image: torch.Tensor) -> dict[str, torch.Tensor]:
        x, found = (image - mean) / std, {}
        for index, layer in enumerate(features):  # every layer, also those after the deepest tap
            x = layer(x)
            if index in taps:
                found[taps[index]] = x
        return found

    generated = content.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([generated], lr=config.learning_rate)

    def step() -> None:
        optimizer.zero_grad()
        a_c, a_s, a_g = activations(content), activations(style_image), activations(generated)  # targets every step
        cost = config.content_weight * style.content_cost(a_c[config.content_layer].detach(), a_g[config.content_layer])
        for name, weight in config.style_weights.items():
            cost = cost + config.style_weight * weight * style.style_cost(a_s[name].detach(), a_g[name])
        cost.backward()
        optimizer.step()

    step()  # warm-up
    _synchronize(content.device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    _synchronize(content.device)
    return (time.perf_counter() - started) / steps


def ours(features: nn.Sequential, content: torch.Tensor, style_image: torch.Tensor, config: style.StyleConfig,
         steps: int) -> float:
    """``core.style.transfer``, timed after its first step: seconds per step."""
    extractor = style.VGGFeatures(features, config.layers).to(content.device)
    run = style.transfer(extractor, content, [(style_image, 1.0)], config)
    next(run)  # warm-up, and the targets
    _synchronize(content.device)
    started = time.perf_counter()
    for _ in range(steps):
        next(run)
    _synchronize(content.device)
    return (time.perf_counter() - started) / steps


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    from torchvision.models import vgg19

    device = pick_device()
    side = 512 if device.type == "cuda" else 256
    steps = STEPS.get(device.type, 10)
    torch.manual_seed(0)
    model = vgg19().eval().to(device)
    features = style.vgg19_features(model)  # ours: a channels-last copy
    content = style.to_tensor(example_image("astronaut"), side).to(device)
    style_image = style.to_tensor(example_image("hubble_deep_field"), side).to(device)
    config = style.StyleConfig(image_size=side, iterations=steps + 1, preview_every=10_000)
    ours_s = ours(features, content, style_image, config, steps)
    plain_s = plain_transfer(model.features, content, style_image, config, steps)  # the same weights, as torchvision has them
    print_table(
        f"Style transfer at {side}², conv5_1 configuration, Adam, {describe_device(device)} ({steps} steps after a "
        "warm-up; baseline: whole VGG19 and targets every step, fp32 eager)",
        ("path", "ms / step", "iterations / s", "× baseline"),
        [("core.style.transfer", f"{ours_s * 1e3:.0f}", f"{1 / ours_s:.2f}", f"{plain_s / ours_s:.2f}"),
         ("plain eager", f"{plain_s * 1e3:.0f}", f"{1 / plain_s:.2f}", "1.00")],
    )


if __name__ == "__main__":
    main()
