"""Sliding windows and their convolutional implementation (course week 3).

The course's small classifier takes a 14×14×3 window: CONV 5×5, 16 filters → 10×10×16,
MAX POOL 2×2 → 5×5×16, FC 400, FC 400, softmax over 4 classes. Turning each FC layer into
a convolution (FC 400 over 5×5×16 is a 5×5 conv with 400 filters; the next FCs are 1×1
convs) gives a network that runs on a whole larger image at once and outputs one
prediction per 14×14 window, at a stride of 2 (the pooling's stride). Paper: Sermanet et
al. 2014, "OverFeat".
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from core.runtime.errors import UserError
from core.runtime.latency import measure_latencies

WINDOW = 14  # the classifier's input side
STRIDE = 2  # windows step by the max pool's stride
CLASSES = 4  # pedestrian, car, motorcycle, background


class WindowClassifier(nn.Module):
    """The course's classifier for one 14×14×3 window: (B, 3, 14, 14) -> (B, 4) class probabilities."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 5)  # (B, 16, 10, 10)
        self.pool = nn.MaxPool2d(2)  # (B, 16, 5, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 400)
        self.fc2 = nn.Linear(400, 400)
        self.fc3 = nn.Linear(400, CLASSES)

    @classmethod
    def seeded(cls, seed: int) -> WindowClassifier:
        """Random weights from ``seed``, in eval mode: the same network on every run."""
        torch.manual_seed(seed)
        return cls().eval()

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        features = self.pool(F.relu(self.conv(window))).flatten(1)  # (B, 400)
        hidden = F.relu(self.fc2(F.relu(self.fc1(features))))  # (B, 400)
        return self.fc3(hidden).softmax(dim=1)  # (B, 4)


class ConvolutionalTwin(nn.Module):
    """The same network with its FC layers as convolutions, sharing the classifier's tensors.

    (B, 3, H, W) -> (B, 4, (H − 14)/2 + 1, (W − 14)/2 + 1): one softmax per window.
    """

    def __init__(self, classifier: WindowClassifier) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        c = self.classifier
        features = c.pool(F.relu(c.conv(image)))  # (B, 16, H', W')
        # FC 400 over a 5×5×16 volume = 400 filters of 5×5×16; the weight is reshaped, not copied.
        hidden = F.relu(F.conv2d(features, c.fc1.weight.view(400, 16, 5, 5), c.fc1.bias))
        hidden = F.relu(F.conv2d(hidden, c.fc2.weight.view(400, 400, 1, 1), c.fc2.bias))  # 1×1 conv
        return F.conv2d(hidden, c.fc3.weight.view(CLASSES, 400, 1, 1), c.fc3.bias).softmax(dim=1)


def window_grid(height: int, width: int) -> tuple[int, int]:
    """How many 14×14 windows, at stride 2, fit down and across an image."""
    if min(height, width) < WINDOW or (height - WINDOW) % STRIDE or (width - WINDOW) % STRIDE:
        raise UserError(
            f"The image must be at least {WINDOW}×{WINDOW} and 14 + 2k on each side, so the windows tile it; "
            f"it is {height}×{width}."
        )
    return (height - WINDOW) // STRIDE + 1, (width - WINDOW) // STRIDE + 1


def every_window(classifier: WindowClassifier, image: torch.Tensor) -> torch.Tensor:
    """Run the classifier on each 14×14 crop at stride 2: (3, H, W) -> (4, rows, columns)."""
    rows, columns = window_grid(*image.shape[1:])
    crops = image.unfold(1, WINDOW, STRIDE).unfold(2, WINDOW, STRIDE)  # (3, rows, columns, 14, 14)
    batch = crops.permute(1, 2, 0, 3, 4).reshape(rows * columns, 3, WINDOW, WINDOW)
    return classifier(batch).T.reshape(CLASSES, rows, columns)


@dataclass(frozen=True)
class Comparison:
    """The two ways of classifying every window of one image, side by side."""

    grid: tuple[int, int]
    max_abs_difference: float
    window_macs: int  # classifier run once per crop, summed
    convolutional_macs: int  # one pass of the convolutional twin
    window_ms: float
    convolutional_ms: float


def compare(
    classifier: WindowClassifier, height: int, width: int, device: torch.device | str = "cpu", seed: int = 0
) -> Comparison:
    """Run both ways on a random (3, height, width) image on ``device``: equal outputs, MACs
    (FLOPs / 2), and median times after warm-up (``core.runtime.latency``). The classifier is
    copied to the device; the shared one is left where it is."""
    rows, columns = window_grid(height, width)
    image = torch.rand(3, height, width, generator=torch.Generator().manual_seed(seed)).to(device)
    classifier = copy.deepcopy(classifier).to(device)
    twin = ConvolutionalTwin(classifier)
    with torch.inference_mode():
        by_window, window_macs = _counted(lambda: every_window(classifier, image))
        at_once, conv_macs = _counted(lambda: twin(image[None])[0])
        window_time, conv_time = measure_latencies(
            [lambda: every_window(classifier, image), lambda: twin(image[None])[0]], device
        )
    return Comparison(
        (rows, columns),
        float((by_window - at_once).abs().max()),
        window_macs,
        conv_macs,
        window_time.median_ms,
        conv_time.median_ms,
    )


def _counted(run) -> tuple[torch.Tensor, int]:
    """The output of ``run`` and its MACs from FlopCounterMode."""
    counter = FlopCounterMode(display=False)
    with counter:
        output = run()
    return output, counter.get_total_flops() // 2
