"""The case studies of course week 2 ("Classic networks", "ResNets", "Inception network",
"MobileNet", "EfficientNet") as one registry, in the style of torchvision's and timm's:
every entry builds its module without downloading anything, and ``architecture_stats``
counts what it costs on PyTorch's meta device (nothing is allocated): parameters from the
module, FLOPs from ``FlopCounterMode`` (MACs = FLOPs / 2), and activations, the values
every layer produces for one image. Published figures (accuracy, GMACs, file size) are
read from torchvision's weights enums, also without a download.

Two networks are built here because torchvision lacks them: LeNet-5 (LeCun et al. 1998,
in the course's modern form: ReLU, average pooling, 61,706 parameters) and MobileNet v1
(Howard et al. 2017, "MobileNets": 4.2 M parameters and 569 M MACs at 1.0-224).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from core.runtime.budget import MemoryEstimate
from core.runtime.errors import UserError
from core.runtime.jobs import CancelToken, Step
from core.runtime.latency import Latency, TimingStopped, measure_latency

# -- the two networks built here ----------------------------------------------------------------------


class LeNet5(nn.Module):
    """LeNet-5 for 32×32×1 digits: CONV 5×5 (6) → AVG POOL 2 → CONV 5×5 (16) → AVG POOL 2 →
    FC 120 → FC 84 → 10 logits. (B, 1, 32, 32) -> (B, 10)."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5),
            nn.ReLU(),
            nn.AvgPool2d(2),  # (B, 6, 14, 14)
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            nn.AvgPool2d(2),  # (B, 16, 5, 5)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# -- the registry -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """What the weights' publisher reports, from the torchvision enum's ``meta``."""

    acc1: float
    acc5: float
    params: int
    gmacs: float  # torchvision's "_ops", which it labels GFLOPS but counts multiply–accumulates
    file_mb: float
    categories: int


@dataclass(frozen=True)
class Architecture:
    """One case study: how to build it (untrained, no download) and where it comes from."""

    name: str
    title: str
    paper: str
    year: int
    builder: Callable[[], nn.Module]
    input_size: int  # the native resolution (its weights' crop size)
    weights_tag: str | None = None  # a torchvision weights enum, e.g. "ResNet18_Weights.IMAGENET1K_V1"
    in_channels: int = 3
    min_size: int = 32  # the smallest input side it accepts

    def published(self) -> Published | None:
        if self.weights_tag is None:
            return None
        from torchvision.models import get_weight

        meta = get_weight(self.weights_tag).meta
        metrics = meta["_metrics"]["ImageNet-1K"]
        return Published(
            metrics["acc@1"],
            metrics["acc@5"],
            meta["num_params"],
            meta["_ops"],
            meta["_file_size"],
            len(meta["categories"]),
        )


def _torchvision(name: str, **options: Any) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        from torchvision.models import get_model

        return get_model(name, weights=None, **options)

    return build


def _entry(name: str, title: str, paper: str, year: int, min_size: int = 32, **options: Any) -> Architecture:
    from torchvision.models import get_model_weights

    weights = get_model_weights(name).DEFAULT
    size = weights.transforms().crop_size[0]
    return Architecture(name, title, paper, year, _torchvision(name, **options), size, str(weights), min_size=min_size)


@functools.cache
def _registry() -> dict[str, Architecture]:
    from core.architectures.mobilenet import mobilenet_v1

    entries = [
        Architecture(
            "lenet5",
            "LeNet-5",
            "LeCun et al., Gradient-based learning applied to document recognition",
            1998,
            LeNet5,
            32,
            in_channels=1,
            min_size=32,
        ),
        _entry("alexnet", "AlexNet", "Krizhevsky et al., ImageNet classification with deep CNNs", 2012, 63),
        _entry("vgg16", "VGG-16", "Simonyan & Zisserman, Very deep convolutional networks", 2014),
        _entry("vgg19", "VGG-19", "Simonyan & Zisserman, Very deep convolutional networks", 2014),
        *(
            _entry(f"resnet{depth}", f"ResNet-{depth}", "He et al., Deep residual learning for image recognition", 2015)
            for depth in (18, 34, 50, 101, 152)
        ),
        _entry(
            "googlenet",
            "GoogLeNet (Inception v1)",
            "Szegedy et al., Going deeper with convolutions",
            2014,
            15,
            aux_logits=False,
            init_weights=False,
        ),
        _entry(
            "inception_v3",
            "Inception v3",
            "Szegedy et al., Rethinking the Inception architecture",
            2015,
            75,
            aux_logits=True,
            init_weights=False,
        ),
        Architecture("mobilenet_v1", "MobileNet v1 1.0", "Howard et al., MobileNets", 2017, mobilenet_v1, 224),
        _entry(
            "mobilenet_v2",
            "MobileNetV2",
            "Sandler et al., MobileNetV2: inverted residuals and linear bottlenecks",
            2018,
        ),
        _entry("mobilenet_v3_large", "MobileNetV3-Large", "Howard et al., Searching for MobileNetV3", 2019),
        _entry("mobilenet_v3_small", "MobileNetV3-Small", "Howard et al., Searching for MobileNetV3", 2019),
        *(
            _entry(
                f"efficientnet_b{phi}", f"EfficientNet-B{phi}", "Tan & Le, EfficientNet: rethinking model scaling", 2019
            )
            for phi in range(8)
        ),
        _entry("convnext_tiny", "ConvNeXt-Tiny", "Liu et al., A ConvNet for the 2020s", 2022),
    ]
    return {entry.name: entry for entry in entries}


def list_architectures() -> list[Architecture]:
    """Every case study, oldest first, as the course presents them."""
    return list(_registry().values())


def get_architecture(name: str) -> Architecture:
    try:
        return _registry()[name]
    except KeyError:
        raise KeyError(f"No architecture named {name!r}; known: {', '.join(_registry())}.") from None


# -- what a network costs -------------------------------------------------------------------------------------------

# layers whose output the activations count: each computes new values; ReLU, batch norm and
# dropout rewrite their input in place or could, so they are not counted again
_COUNTED = (nn.Conv2d, nn.Linear, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


@dataclass(frozen=True)
class ArchStats:
    """One image through the network: parameters, MACs and FLOPs (FLOPs = 2 MACs), the
    values its layers produce (``activations``, with the input), at ``input_size``²."""

    params: int
    macs: int
    flops: int
    activations: int
    input_size: int
    largest_activation: int = 0  # the most values one layer produces

    @property
    def activation_mb(self) -> float:
        """The activations in float32, in MB (10⁶ bytes)."""
        return self.activations * 4 / 1e6


@functools.lru_cache(maxsize=256)
def architecture_stats(name: str, resolution: int | None = None) -> ArchStats:
    """Counted on the meta device at ``resolution`` (default: the native one), batch 1;
    cached per process."""
    architecture = get_architecture(name)
    size = resolution or architecture.input_size
    if size < architecture.min_size:
        raise UserError(f"{architecture.title} needs an input of at least {architecture.min_size} px, not {size}.")
    with torch.device("meta"):
        model = architecture.builder().eval()
        image = torch.zeros(1, architecture.in_channels, size, size)
    produced = [math.prod(image.shape)]
    hooks = [
        module.register_forward_hook(lambda module, inputs, output: produced.append(output.numel()))
        for module in model.modules()
        if isinstance(module, _COUNTED)
    ]
    counter = FlopCounterMode(display=False)
    try:
        with counter, torch.no_grad():
            model(image)
    finally:
        for hook in hooks:
            hook.remove()
    flops = counter.get_total_flops()
    params = sum(parameter.numel() for parameter in model.parameters())
    return ArchStats(params, flops // 2, flops, sum(produced), size, max(produced))


@dataclass(frozen=True)
class ModuleRow:
    """One row of a network's table: a module's name and kind, its output shape for one
    image ((C, H, W) or (features,)), its parameters and its MACs."""

    name: str
    kind: str
    shape: tuple[int, ...]
    params: int
    macs: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def module_rows(model: nn.Module, input_shape: tuple[int, ...], names: Iterable[str]) -> list[ModuleRow]:
    """The rows of ``model``'s modules ``names`` (dotted names as ``named_modules`` gives
    them), for one (C, H, W) input on the meta device. Build ``model`` on the meta device."""
    modules = dict(model.named_modules())
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [
        modules[name].register_forward_hook(
            lambda module, inputs, output, name=name: shapes.__setitem__(name, tuple(output.shape[1:]))
        )
        for name in names
    ]
    counter = FlopCounterMode(display=False)
    try:
        with counter, torch.no_grad():
            model(torch.zeros(1, *input_shape, device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
    flops = counter.get_flop_counts()
    root = type(model).__name__
    return [
        ModuleRow(
            name,
            type(modules[name]).__name__,
            shapes[name],
            sum(parameter.numel() for parameter in modules[name].parameters()),
            sum(flops.get(f"{root}.{name}", {}).values()) // 2,
        )
        for name in names
    ]


# -- latency on this server's device ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelLatency:
    """One architecture timed on one device: the batch and resolution, the median latency
    of a forward pass, and the peak memory of the pass (None where it cannot be read)."""

    name: str
    batch: int
    resolution: int
    latency: Latency
    peak_bytes: int | None

    @property
    def throughput(self) -> float:
        """Images per second."""
        return self.batch / self.latency.median_s


def inference_memory_estimate(name: str, batch: int, resolution: int | None = None) -> int:
    """Bytes a forward pass needs, from the network's own counts: its float32 weights and,
    for each image, six times its largest activation (a layer's input and output, a residual
    branch, and the convolution library's workspaces alive at once under ``inference_mode``;
    measured peaks on the CPU reach 2.5–5.3 times it). Checked against measured peaks."""
    stats = architecture_stats(name, resolution)
    return 4 * (stats.params + batch * 6 * stats.largest_activation)


def measure_model(
    name: str,
    device: torch.device | str = "cpu",
    *,
    batch: int = 1,
    resolution: int | None = None,
    channels_last: bool = False,
    low_precision: bool = False,
    repeats: int = 10,
    should_stop: Callable[[], bool] | None = None,
) -> ModelLatency:
    """Time a forward pass of ``name`` with random weights (the time does not depend on the
    values) on a random batch, under ``inference_mode``, after warm-up, with CUDA events on a
    GPU (``core.runtime.latency``). On CUDA, ``channels_last`` and ``low_precision`` (bfloat16
    autocast) are the usual speed-ups. Refused before it starts when it would not fit in a
    job's memory budget (``core.runtime.budget``). With ``should_stop``, every layer asks it
    before it runs, so that even one long pass (a large batch on the CPU) stops within a layer
    (``TimingStopped``)."""
    from core.runtime.budget import PeakMemory, check_fits
    from core.runtime.device import autocast_dtype

    device = torch.device(device)
    architecture = get_architecture(name)
    size = resolution or architecture.input_size
    if not 1 <= batch <= 1024:
        raise UserError(f"The batch size must be between 1 and 1,024, not {batch}.")
    check_fits(
        inference_memory_estimate(name, batch, size),
        f"{architecture.title} at batch {batch} and {size} px",
        "the batch size or the resolution",
        device,
    )
    torch.manual_seed(0)
    model = architecture.builder().eval().to(device)
    image = torch.rand(batch, architecture.in_channels, size, size, device=device)
    if channels_last:
        model, image = model.to(memory_format=torch.channels_last), image.contiguous(memory_format=torch.channels_last)
    dtype = autocast_dtype(device) if low_precision else None
    if should_stop is not None:
        for layer in model.modules():
            layer.register_forward_pre_hook(lambda *_: _stop_if(should_stop))

    def forward() -> None:
        with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            model(image)

    peak = PeakMemory(device)
    with torch.inference_mode(), peak:
        latency = measure_latency(
            forward, device, warmup=2, repeats=repeats, should_stop=should_stop or (lambda: False)
        )
    return ModelLatency(name, batch, size, latency, peak.bytes)


def _stop_if(should_stop: Callable[[], bool]) -> None:
    if should_stop():
        raise TimingStopped


@dataclass(frozen=True)
class LatencyJob:
    """Timing several networks one after the other (``measure_model``) as a job
    (``core.runtime.jobs``); each step carries one network's ``ModelLatency``. Its memory is
    that of the largest forward pass among them."""

    names: tuple[str, ...]
    batch: int = 1
    resolution: int | None = None  # None: each network's own
    channels_last: bool = False
    low_precision: bool = False

    @property
    def title(self) -> str:
        size = f"{self.resolution} px" if self.resolution else "their own resolutions"
        return f"Timing {len(self.names)} network(s) at batch {self.batch} and {size}"

    def estimate(self) -> MemoryEstimate:
        peak = max(inference_memory_estimate(name, self.batch, self.resolution) for name in self.names)
        return MemoryEstimate({"the batch size or the resolution": peak})

    def run(self, device: torch.device, cancel: CancelToken) -> Iterator[Step[ModelLatency]]:
        cuda = device.type == "cuda"
        for done, name in enumerate(self.names, start=1):
            try:
                measured = measure_model(
                    name,
                    device,
                    batch=self.batch,
                    resolution=self.resolution,
                    channels_last=self.channels_last and cuda,
                    low_precision=self.low_precision and cuda,
                    should_stop=lambda: cancel.cancelled,
                )
            except TimingStopped:
                return
            yield Step(done, len(self.names), f"{get_architecture(name).title} timed", measured)


def fully_connected_share(rows: Sequence[ModuleRow]) -> float:
    """The share of a network's parameters that sit in its fully connected layers."""
    return sum(row.params for row in rows if row.kind == "Linear") / sum(row.params for row in rows)


def network_rows(name: str, resolution: int | None = None) -> list[ModuleRow]:
    """The course's table for a classic network: one row per convolution, pooling and fully
    connected layer, with its activation shape, parameters and MACs, for one image."""
    architecture = get_architecture(name)
    size = resolution or architecture.input_size
    with torch.device("meta"):
        model = architecture.builder().eval()
    names = [module_name for module_name, module in model.named_modules() if isinstance(module, _COUNTED)]
    return module_rows(model, (architecture.in_channels, size, size), names)
