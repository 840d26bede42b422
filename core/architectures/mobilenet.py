"""Networks for small devices (course week 2, "MobileNet", "MobileNet Architecture",
"EfficientNet"): what depthwise-separable convolutions save in multiplications and in
measured time, MobileNet v1 with its width and resolution multipliers (Howard et al. 2017),
MobileNetV2's inverted-residual bottleneck (Sandler et al. 2018), and EfficientNet's
compound scaling (Tan & Le 2019). The cost of one separable layer is ``core.foundations.costs``'s.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from core.architectures.registry import ArchStats, ModuleRow, architecture_stats, module_rows
from core.foundations.conv import output_size, whole_number
from core.runtime.budget import MemoryEstimate
from core.runtime.errors import UserError
from core.runtime.jobs import CancelToken, Step
from core.runtime.latency import measure_latencies

# -- measured time beside the multiplications -----------------------------------------------------------------


# -- depthwise-separable convolution (course week 2, "MobileNet") ------------------------------------------


@dataclass(frozen=True)
class SeparableCost:
    """A normal convolution against its depthwise-separable version, in multiplications
    (the course counts no biases: MobileNet follows each convolution with batch norm)."""

    output_side: int
    normal: int  # f·f·n_c · n_out² · n_c′
    depthwise: int  # f·f · n_out² · n_c: one f×f filter per input channel
    pointwise: int  # n_c · n_out² · n_c′: a 1×1 convolution mixing the channels
    normal_params: int  # f·f·n_c·n_c′
    separable_params: int  # f·f·n_c + n_c·n_c′

    @property
    def separable(self) -> int:
        return self.depthwise + self.pointwise

    @property
    def ratio(self) -> float:
        """separable / normal = 1/n_c′ + 1/f²."""
        return self.separable / self.normal


def separable_cost(n: int, n_c: int, f: int, n_c_out: int, s: int = 1, p: int = 0) -> SeparableCost:
    """The course's cost table for an n×n×n_c input and n_c′ filters of f×f (stride ``s``,
    padding ``p``): 6×6×3, 3×3, 5 filters costs 2,160 normally and 432 + 240 = 672 separably."""
    n_c, n_c_out = whole_number("Input channels n_c", n_c, 1), whole_number("Filters n_c′", n_c_out, 1)
    side = output_size(n, f, p, s)
    outputs = side * side
    return SeparableCost(
        side,
        f * f * n_c * outputs * n_c_out,
        f * f * outputs * n_c,
        n_c * outputs * n_c_out,
        f * f * n_c * n_c_out,
        f * f * n_c + n_c * n_c_out,
    )


def separable_cost_by_torch(n: int, n_c: int, f: int, n_c_out: int, s: int = 1, p: int = 0) -> SeparableCost:
    """The same table as PyTorch counts it: the three convolutions built without bias on the
    meta device (``nn.Conv2d(groups=n_c)`` for the depthwise one), FLOPs from
    ``FlopCounterMode`` halved, parameters counted from the modules."""
    import torch
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    separable_cost(n, n_c, f, n_c_out, s, p)  # the same refusals, in the same words
    with torch.device("meta"):
        normal = nn.Conv2d(n_c, n_c_out, f, s, p, bias=False)
        depthwise = nn.Conv2d(n_c, n_c, f, s, p, groups=n_c, bias=False)
        pointwise = nn.Conv2d(n_c, n_c_out, 1, bias=False)
        image = torch.zeros(1, n_c, n, n)
    macs, output = [], image
    for layer, source in ((normal, image), (depthwise, image), (pointwise, None)):
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            output = layer(source if source is not None else output)
        macs.append(counter.get_total_flops() // 2)

    def params(*layers: nn.Module) -> int:
        return sum(parameter.numel() for layer in layers for parameter in layer.parameters())

    return SeparableCost(output.shape[-1], *macs, params(normal), params(depthwise, pointwise))


# MobileNet v1's 13 depthwise-separable blocks: (output channels at α = 1, stride of the depthwise conv)
MOBILENET_V1_BLOCKS = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)


def _conv_bn_relu(in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def mobilenet_v1(width: float = 1.0, num_classes: int = 1000) -> nn.Module:
    """MobileNet v1 with width multiplier α = ``width`` (every layer's channels × α, rounded
    down): a 3×3 convolution of stride 2, 13 blocks of a 3×3 depthwise convolution and a 1×1
    pointwise one (each followed by batch norm and ReLU), global average pooling, one FC."""
    if not 0 < width <= 1:
        raise UserError(f"The width multiplier α must lie in (0, 1], not {width}.")
    channels = int(32 * width)
    layers: list[nn.Module] = [_conv_bn_relu(3, channels, 3, 2)]
    for out_channels, stride in MOBILENET_V1_BLOCKS:
        out_channels = int(out_channels * width)
        layers.append(
            nn.Sequential(
                _conv_bn_relu(channels, channels, 3, stride, groups=channels),  # depthwise
                _conv_bn_relu(channels, out_channels, 1),  # pointwise
            )
        )
        channels = out_channels
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))


@dataclass(frozen=True)
class SeparableTiming:
    """The normal and the depthwise-separable layer timed on one device (median seconds),
    beside their multiplications: the time ratio is what the FLOP ratio promises minus
    what memory traffic takes back."""

    normal_s: float
    separable_s: float
    normal_macs: int
    separable_macs: int

    @property
    def macs_ratio(self) -> float:
        return self.separable_macs / self.normal_macs

    @property
    def time_ratio(self) -> float:
        return self.separable_s / self.normal_s

    def gflops(self, separable: bool) -> float:
        """Achieved GFLOP/s (2 FLOPs per multiply–accumulate)."""
        macs, seconds = (self.separable_macs, self.separable_s) if separable else (self.normal_macs, self.normal_s)
        return 2 * macs / seconds / 1e9


def time_separable(
    n: int, n_c: int, f: int, n_c_out: int, device: torch.device | str = "cpu", s: int = 1, p: int = 0, batch: int = 1
) -> SeparableTiming:
    """Both layers (no bias) on a random (batch, n_c, n, n) input on ``device``, their calls
    alternating, median of 10 after 3 warm-ups (``core.runtime.latency``)."""
    cost = separable_cost(n, n_c, f, n_c_out, s, p)
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(batch, n_c, n, n, generator=generator).to(device)
    normal = nn.Conv2d(n_c, n_c_out, f, s, p, bias=False).to(device)
    separable = nn.Sequential(
        nn.Conv2d(n_c, n_c, f, s, p, groups=n_c, bias=False), nn.Conv2d(n_c, n_c_out, 1, bias=False)
    ).to(device)
    with torch.inference_mode():
        normal_time, separable_time = measure_latencies([lambda: normal(image), lambda: separable(image)], device)
    return SeparableTiming(normal_time.median_s, separable_time.median_s, batch * cost.normal, batch * cost.separable)


@dataclass(frozen=True)
class SeparableTimingJob:
    """Timing a normal and a depthwise-separable layer ("same" padding) at several sizes as a
    job (``core.runtime.jobs``): ``sizes`` are (label, (n, n_c, f, n_c_out)); each step
    carries (label, ``SeparableTiming``)."""

    sizes: tuple[tuple[str, tuple[int, int, int, int]], ...]

    @property
    def title(self) -> str:
        return f"Timing {len(self.sizes)} pairs of layers"

    def estimate(self) -> MemoryEstimate:
        """The input, the depthwise output and both outputs, and both layers' weights, in float32."""

        def peak(n: int, n_c: int, f: int, n_c_out: int) -> int:
            return 4 * (2 * n * n * n_c + 2 * n * n * n_c_out + f * f * n_c * (n_c_out + 1) + n_c * n_c_out)

        return MemoryEstimate({"the layer's size": max(peak(*size) for _, size in self.sizes)})

    def run(self, device: torch.device, cancel: CancelToken) -> Iterator[Step[tuple[str, SeparableTiming]]]:
        for done, (label, (n, n_c, f, n_c_out)) in enumerate(self.sizes, start=1):
            timing = time_separable(n, n_c, f, n_c_out, device, p=f // 2)
            yield Step(done, len(self.sizes), f"{label} timed", (label, timing))
            if cancel.cancelled:
                return


# -- MobileNet v1: width and resolution multipliers -------------------------------------------------------------

MOBILENET_V1_WIDTHS = (0.25, 0.5, 0.75, 1.0)
MOBILENET_V1_RESOLUTIONS = (128, 160, 192, 224)
# Howard et al. 2017, Tables 6 and 7: million multiply–adds of each width at 224, and of 1.0 at each resolution
MOBILENET_V1_PAPER_MMACS = {
    (1.0, 224): 569,
    (0.75, 224): 325,
    (0.5, 224): 149,
    (0.25, 224): 41,
    (1.0, 192): 418,
    (1.0, 160): 291,
    (1.0, 128): 186,
}


MOBILENET_V1_LAYERS = (
    "conv 3×3, stride 2",
    *(f"block {block}: {part}" for block in range(1, 14) for part in ("depthwise 3×3", "pointwise 1×1")),
    "average pool",
    "fully connected",
)  # the course's names of the rows of ``mobilenet_v1_table``


@functools.lru_cache(maxsize=64)
def mobilenet_v1_table(width: float = 1.0, resolution: int = 224) -> tuple[ModuleRow, ...]:
    """One row per layer of MobileNet v1 for one image: the first convolution, then each
    block's depthwise and pointwise convolutions (each with its batch norm), the pooling and
    the classifier; the rows add up to the whole network. Cached per process."""
    if resolution < 32:
        raise UserError(f"MobileNet v1 needs an input of at least 32 px (five stride-2 layers), not {resolution}.")
    with torch.device("meta"):
        model = mobilenet_v1(width).eval()
    names = ["0"] + [f"{block}.{part}" for block in range(1, 14) for part in (0, 1)] + ["14", "16"]
    return tuple(module_rows(model, (3, resolution, resolution), names))


def width_resolution_rule(width: float, resolution: int) -> float:
    """The paper's rule: cost ≈ α² ρ² × the cost of 1.0-224, where ρ = resolution / 224."""
    return width**2 * (resolution / 224) ** 2


# -- MobileNetV2: the inverted-residual bottleneck ---------------------------------------------------------------

# torchvision's (and the paper's Table 2) inverted-residual settings: expansion t, channels c, repeats n, stride s
MOBILENET_V2_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


@dataclass(frozen=True)
class BottleneckCost:
    """One bottleneck block on an n×n×n_c input: 1×1 expansion to t·n_c channels (none when
    t = 1), 3×3 depthwise at stride s, linear 1×1 projection to n_c′ (no ReLU), and the
    residual connection when the input and output shapes match. MACs and parameters per
    part; each convolution is followed by batch norm (2 parameters per channel), none has
    a bias."""

    output_side: int
    expanded: int  # t · n_c
    expansion_macs: int
    depthwise_macs: int
    projection_macs: int
    params: int
    residual: bool

    @property
    def macs(self) -> int:
        return self.expansion_macs + self.depthwise_macs + self.projection_macs


def bottleneck_cost(n: int, n_c: int, t: int, n_c_out: int, s: int = 1) -> BottleneckCost:
    if t < 1 or s not in (1, 2) or min(n, n_c, n_c_out) < 1:
        raise UserError(
            "The bottleneck needs n, n_c and n_c′ of at least 1, an expansion t ≥ 1 and a stride of 1 or 2."
        )
    expanded = t * n_c
    side = (n + 2 - 3) // s + 1  # the 3×3 depthwise convolution with padding 1
    expansion_macs = n * n * n_c * expanded if t > 1 else 0
    depthwise_macs = side * side * 9 * expanded
    projection_macs = side * side * expanded * n_c_out
    params = (n_c * expanded + 2 * expanded if t > 1 else 0) + 9 * expanded + 2 * expanded + expanded * n_c_out
    params += 2 * n_c_out
    residual = s == 1 and n_c == n_c_out
    return BottleneckCost(side, expanded, expansion_macs, depthwise_macs, projection_macs, params, residual)


@dataclass(frozen=True)
class V2Stage:
    """One row of MobileNetV2's Table 2: n bottlenecks of expansion t to c channels, the
    first at stride s; the input side and channels, and what the stage costs."""

    t: int
    c: int
    n: int
    s: int
    input_side: int
    input_channels: int
    params: int
    macs: int


@dataclass(frozen=True)
class V2Row:
    """One row of the whole network's table: a layer or a stage of bottlenecks, its (t, c, n,
    s) where they apply (None elsewhere), the shape it takes in, and what it costs."""

    stage: str
    t: int | None
    c: int
    n: int
    s: int | None
    input_shape: tuple[int, ...]  # (H, W, C), or (features,) for the classifier
    params: int
    macs: int


@dataclass(frozen=True)
class V2Table:
    stages: tuple[V2Stage, ...]
    stem: tuple[int, int]  # (params, MACs) of the first 3×3 convolution, stride 2, to 32 channels
    head: tuple[int, int]  # the last 1×1 convolution to 1280 channels
    classifier: tuple[int, int]  # the fully connected layer to the classes
    resolution: int = 224
    num_classes: int = 1000

    @property
    def params(self) -> int:
        return sum(stage.params for stage in self.stages) + self.stem[0] + self.head[0] + self.classifier[0]

    @property
    def macs(self) -> int:
        return sum(stage.macs for stage in self.stages) + self.stem[1] + self.head[1] + self.classifier[1]

    def rows(self) -> list[V2Row]:
        """The stem, the seven bottleneck stages, the head and the classifier, in order."""
        last = self.stages[-1]
        head_side = last.input_side if last.s == 1 else (last.input_side - 1) // last.s + 1
        return [
            V2Row(
                "conv 3×3, stride 2", None, V2_STEM_CHANNELS, 1, 2, (self.resolution, self.resolution, 3), *self.stem
            ),
            *(
                V2Row(
                    "bottleneck", s.t, s.c, s.n, s.s, (s.input_side, s.input_side, s.input_channels), s.params, s.macs
                )
                for s in self.stages
            ),
            V2Row("conv 1×1", None, V2_HEAD_CHANNELS, 1, 1, (head_side, head_side, last.c), *self.head),
            V2Row("fully connected", None, self.num_classes, 1, None, (V2_HEAD_CHANNELS,), *self.classifier),
        ]


V2_STEM_CHANNELS, V2_HEAD_CHANNELS = 32, 1280  # Sandler et al. 2018, Table 2


def mobilenet_v2_table(resolution: int = 224, num_classes: int = 1000) -> V2Table:
    """MobileNetV2 (width 1.0) added up from ``bottleneck_cost`` and the settings: its totals
    equal torchvision's model (3,504,872 parameters, 0.30 GMACs at 224; tested)."""
    side = (resolution + 2 - 3) // 2 + 1
    stem = (3 * V2_STEM_CHANNELS * 9 + 2 * V2_STEM_CHANNELS, side * side * V2_STEM_CHANNELS * 3 * 9)
    channels, stages = V2_STEM_CHANNELS, []
    for t, c, n, s in MOBILENET_V2_SETTINGS:
        start_side, start_channels, params, macs = side, channels, 0, 0
        for repeat in range(n):
            block = bottleneck_cost(side, channels, t, c, s if repeat == 0 else 1)
            params, macs, side, channels = params + block.params, macs + block.macs, block.output_side, c
        stages.append(V2Stage(t, c, n, s, start_side, start_channels, params, macs))
    head = (channels * V2_HEAD_CHANNELS + 2 * V2_HEAD_CHANNELS, side * side * channels * V2_HEAD_CHANNELS)
    classifier = (V2_HEAD_CHANNELS * num_classes + num_classes, V2_HEAD_CHANNELS * num_classes)
    return V2Table(tuple(stages), stem, head, classifier, resolution, num_classes)


# -- EfficientNet: compound scaling ------------------------------------------------------------------------------

COMPOUND_BASE = (1.2, 1.1, 1.15)  # α (depth), β (width), γ (resolution), with α·β²·γ² ≈ 2 (Tan & Le 2019)
B0_RESOLUTION = 224


@dataclass(frozen=True)
class CompoundScale:
    """EfficientNet's rule for coefficient φ: depth × α^φ, width × β^φ, resolution × γ^φ;
    FLOPs grow as (α β² γ²)^φ ≈ 2^φ."""

    phi: float
    depth: float
    width: float
    resolution: float

    @property
    def flops_factor(self) -> float:
        return self.depth * self.width**2 * self.resolution**2


def compound_scale(phi: float) -> CompoundScale:
    alpha, beta, gamma = COMPOUND_BASE
    return CompoundScale(phi, alpha**phi, beta**phi, gamma**phi)


@functools.lru_cache(maxsize=64)
def scaled_efficientnet_stats(width: float = 1.0, depth: float = 1.0, resolution: int = B0_RESOLUTION) -> ArchStats:
    """B0 scaled by hand: torchvision's EfficientNet built with its own width and depth
    multipliers (``efficientnet._efficientnet_conf``, which its B0…B7 builders call),
    counted at ``resolution`` on the meta device; cached per process."""
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf

    if not (0.25 <= width <= 4 and 0.25 <= depth <= 4 and 32 <= resolution <= 1024):
        raise UserError("Scale B0 by a width and a depth between 0.25 and 4, at a resolution of 32 to 1,024 px.")
    settings, last_channel = _efficientnet_conf("efficientnet_b0", width_mult=width, depth_mult=depth)
    with torch.device("meta"):
        model = EfficientNet(settings, 0.2, last_channel=last_channel).eval()
        image = torch.zeros(1, 3, resolution, resolution)
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(image)
    flops = counter.get_total_flops()
    params = sum(parameter.numel() for parameter in model.parameters())
    return ArchStats(params, flops // 2, flops, 0, resolution)


def efficientnet_family() -> list[tuple[str, ArchStats]]:
    """B0…B7 as torchvision builds them, each at its own resolution."""
    return [(f"efficientnet_b{phi}", architecture_stats(f"efficientnet_b{phi}")) for phi in range(8)]


def doublings(macs: int, base_macs: int) -> float:
    """How many times the cost doubled from B0: log₂(MACs / B0's), the φ the rule predicts."""
    return math.log2(macs / base_macs)
