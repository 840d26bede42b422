"""What a layer costs (course week 1, "One layer of a convolutional network", "Simple
convolutional network example", "Why convolutions?"; week 2, "Networks in networks and
1×1 convolutions"): output shapes, parameters and multiply–accumulates of convolution,
pooling and fully connected layers, chained into the course's layer tables.

A MAC is one multiplication and one addition, the course's "number of multiplications";
one MAC is two FLOPs. Every table can be built as a torch ``nn.Sequential`` and measured
by PyTorch (parameters counted from the module, FLOPs from ``FlopCounterMode``); the
tests prove the two agree. Reference: LeCun et al., "Gradient-based learning applied to
document recognition" (1998), for LeNet-5.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from core.foundations.conv import PoolMode, output_size, whole_number
from core.runtime.errors import UserError

LayerKind = Literal["conv", "pool", "fc", "softmax"]
LAYER_KINDS: tuple[LayerKind, ...] = ("conv", "pool", "fc", "softmax")


class LayerError(UserError):
    """A layer that cannot follow the one before it; the message names the row."""


MAX_COUNT = 2**53  # the largest whole number a browser (a float64) shows exactly


@dataclass(frozen=True)
class LayerCost:
    """One layer's output shape (spatial..., channels) or (units,), parameters and MACs.
    Counts beyond ``MAX_COUNT`` are refused: no table could show them exactly."""

    shape: tuple[int, ...]
    params: int
    macs: int

    def __post_init__(self) -> None:
        for what, count in (("output values", math.prod(self.shape)), ("parameters", self.params), ("MACs", self.macs)):
            if count > MAX_COUNT:
                raise UserError(
                    f"The layer's {what} ({count:.3g}) are beyond what this calculator counts exactly "
                    "(2⁵³ ≈ 9.0·10¹⁵); use smaller sizes."
                )


def conv_cost(input_shape: Sequence[int], f: int, filters: int, s: int = 1, p: int = 0, groups: int = 1) -> LayerCost:
    """An N-D convolution with bias: shape, parameters (f^N·C/groups + 1)·filters and MACs
    (outputs × f^N·C/groups). ``input_shape`` is (spatial..., C): (L, C) for 1D, (H, W, C)
    for 2D, (D, H, W, C) for 3D. With ``groups`` = C and filters = C it is a depthwise
    convolution: each filter sees one channel."""
    *spatial, channels = (whole_number("Input size", n, 1) for n in input_shape)
    filters = whole_number("Number of filters", filters, 1)
    groups = whole_number("Groups", groups, 1)
    if channels % groups or filters % groups:
        raise UserError(f"Groups ({groups}) must divide the input channels ({channels}) and the filters ({filters}).")
    out_spatial = tuple(output_size(n, f, p, s) for n in spatial)
    taps = f ** len(spatial) * (channels // groups)  # multiplications per output value
    return LayerCost((*out_spatial, filters), (taps + 1) * filters, math.prod(out_spatial) * filters * taps)


def dense_params(inputs: int, outputs: int) -> tuple[int, int]:
    """(weights, biases) of a fully connected layer: inputs × outputs and outputs."""
    return inputs * outputs, outputs


@dataclass(frozen=True)
class ConvVersusDense:
    """ "Why convolutions": one conv layer against a fully connected layer between the same volumes."""

    conv: LayerCost
    inputs: int
    outputs: int
    dense_weights: int
    dense_biases: int


def conv_vs_dense(input_shape: Sequence[int], f: int, filters: int, s: int = 1, p: int = 0) -> ConvVersusDense:
    """Parameter sharing in numbers (course: 32×32×3 → 28×28×6 is 456 against 3,072 × 4,704)."""
    cost = conv_cost(input_shape, f, filters, s, p)
    inputs, outputs = math.prod(input_shape), math.prod(cost.shape)
    weights, biases = dense_params(inputs, outputs)
    return ConvVersusDense(cost, inputs, outputs, weights, biases)


# -- chains of N-D convolutions (1×1, 1D, 3D) ---------------------------------------------------------


@dataclass(frozen=True)
class ConvSpec:
    """One N-D convolution of a chain: filter size, number of filters, stride, padding."""

    f: int | None
    filters: int | None
    s: int = 1
    p: int = 0

    @classmethod
    def from_settings(cls, settings: Mapping[str, object]) -> ConvSpec:
        """From an editor row {"f", "filters", "s", "p"}; blanks stay None for the chain to name."""
        return cls(settings.get("f"), settings.get("filters"), settings.get("s", 1), settings.get("p", 0))


def conv_chain(input_shape: Sequence[int], layers: Sequence[ConvSpec]) -> list[LayerCost]:
    """Consecutive N-D conv layers, each fed the one before; a ``LayerError`` names the
    layer that cannot be built."""
    costs: list[LayerCost] = []
    current = tuple(input_shape)
    for number, layer in enumerate(layers, start=1):
        missing = [name for name in ("f", "filters") if getattr(layer, name) is None]
        if missing:
            raise LayerError(f"Layer {number}: missing setting {missing[0]!r}")
        try:
            cost = conv_cost(current, layer.f, layer.filters, layer.s, layer.p)
        except UserError as error:
            raise LayerError(f"Layer {number}: {error}") from None
        costs.append(cost)
        current = cost.shape
    return costs


def parse_shape(text: str) -> tuple[int, ...]:
    """ "14, 14, 14, 1" (or "14×14×14×1") -> (14, 14, 14, 1): one to three spatial sizes,
    then the channels."""
    try:
        shape = tuple(int(part) for part in text.replace("×", ",").replace("x", ",").split(",") if part.strip())
    except ValueError:
        raise UserError("The input shape must be whole numbers separated by commas, e.g. 14, 14, 14, 1.") from None
    if not 2 <= len(shape) <= 4:
        raise UserError("Give 1 to 3 spatial sizes followed by the number of channels.")
    return shape


# -- the course's layer tables -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """One row of a layer table. ``conv`` uses f, s, p, filters; ``pool`` f, s (default f)
    and mode; ``fc`` and ``softmax`` (a dense layer followed by softmax) use units. A
    setting the kind needs but that is None is reported by ``layer_table``."""

    kind: str
    f: int | None = None
    s: int | None = None
    p: int = 0
    filters: int | None = None
    units: int | None = None
    mode: str = "max"

    @classmethod
    def from_settings(cls, settings: Mapping[str, object]) -> Layer:
        """From an editor row ({"type", "f", "s", "p", "filters", "units", "mode"}; blanks left out)."""
        return cls(
            str(settings.get("type", "")).lower(),
            settings.get("f"),
            settings.get("s"),
            settings.get("p", 0),
            settings.get("filters"),
            settings.get("units"),
            settings.get("mode") or "max",
        )

    def settings(self) -> dict[str, object]:
        """The editor row of this layer, with the settings its kind does not use left blank."""
        used = {"conv": ("f", "s", "p", "filters"), "pool": ("f", "s", "mode"), "fc": ("units",), "softmax": ("units",)}
        return {"type": self.kind, **{name: getattr(self, name) for name in used.get(self.kind, ())}}

    @property
    def stride(self) -> int | None:
        return self.s if self.s is not None else (self.f if self.kind == "pool" else 1)


@dataclass(frozen=True)
class LayerRow:
    """One row of the course's table: CONV1, POOL1, FC3, … with the activation's shape,
    its size (values), the layer's parameters and MACs."""

    label: str
    kind: str
    shape: tuple[int, ...]
    size: int
    params: int
    macs: int

    @property
    def cost(self) -> LayerCost:
        return LayerCost(self.shape, self.params, self.macs)


def layer_table(input_shape: Sequence[int], layers: Sequence[Layer]) -> list[LayerRow]:
    """The course's table for an (H, W, C) input: the input row, then one row per layer.
    A layer that cannot follow the previous one raises ``LayerError`` naming its row."""
    try:
        shape = tuple(whole_number("Input size", n, 1) for n in input_shape)
    except UserError as error:
        raise LayerError(f"Input: {error}") from None
    if len(shape) != 3:
        raise LayerError("Input: the shape must be (H, W, C).")
    rows = [LayerRow("Input", "input", shape, math.prod(shape), 0, 0)]
    depth = 0  # the course numbers layers with weights; a pool shares its conv's number
    for number, layer in enumerate(layers, start=1):
        depth = depth + 1 if layer.kind in ("conv", "fc") else max(depth, 1)
        label = {"softmax": "Softmax", "conv": f"CONV{depth}", "pool": f"POOL{depth}", "fc": f"FC{depth}"}.get(
            layer.kind, f"row {number}"
        )
        try:
            cost = _layer_cost(shape, layer)
        except UserError as error:
            raise LayerError(f"Row {number} ({label}): {error}") from None
        shape = cost.shape
        rows.append(LayerRow(label, layer.kind, shape, math.prod(shape), cost.params, cost.macs))
    return rows


def _layer_cost(shape: tuple[int, ...], layer: Layer) -> LayerCost:
    needs = {"conv": ("f", "filters"), "pool": ("f",), "fc": ("units",), "softmax": ("units",)}
    if layer.kind not in needs:
        raise UserError(f"unknown layer type {layer.kind!r}; use one of {', '.join(LAYER_KINDS)}.")
    missing = [name for name in needs[layer.kind] if getattr(layer, name) is None]
    if missing:
        raise UserError(f"missing setting {missing[0]!r}")
    if layer.kind in ("conv", "pool") and len(shape) != 3:
        raise UserError(f"{layer.kind.upper()} needs an H×W×C input, but the layer before is fully connected.")
    if layer.kind == "conv":
        return conv_cost(shape, layer.f, layer.filters, layer.stride, layer.p)
    if layer.kind == "pool":
        if layer.mode not in ("max", "avg"):
            raise UserError("pooling mode must be max or avg.")
        height, width, channels = shape
        return LayerCost(
            (output_size(height, layer.f, 0, layer.stride), output_size(width, layer.f, 0, layer.stride), channels),
            0,
            0,
        )
    units = whole_number("Number of units", layer.units, 1)
    weights, biases = dense_params(math.prod(shape), units)
    return LayerCost((units,), weights + biases, weights)


def build_sequential(input_shape: Sequence[int], layers: Sequence[Layer]):
    """The table as a torch ``nn.Sequential``, one child per row (ReLU after conv and fc)."""
    from torch import nn

    rows = layer_table(input_shape, layers)
    children: list[nn.Module] = []
    for layer, before in zip(layers, rows[:-1]):
        if layer.kind == "conv":
            children.append(
                nn.Sequential(nn.Conv2d(before.shape[2], layer.filters, layer.f, layer.stride, layer.p), nn.ReLU())
            )
        elif layer.kind == "pool":
            pooling = nn.MaxPool2d if layer.mode == "max" else nn.AvgPool2d
            children.append(pooling(layer.f, stride=layer.stride))
        else:
            flatten = [nn.Flatten()] if len(before.shape) == 3 else []
            activation = nn.Softmax(dim=1) if layer.kind == "softmax" else nn.ReLU()
            children.append(nn.Sequential(*flatten, nn.Linear(before.size, layer.units), activation))
    return nn.Sequential(*children)


def sequential_code(input_shape: Sequence[int], layers: Sequence[Layer]) -> str:
    """Python source of the same network as one flat ``nn.Sequential``, for the user to copy.
    The model is built on the meta device: its weights take no memory, whatever the sizes."""
    import torch

    with torch.device("meta"):
        model = build_sequential(input_shape, layers)
    lines = ["from torch import nn", "", "model = nn.Sequential("]
    for row, child in zip(layer_table(input_shape, layers)[1:], model):
        leaves = list(child) if len(list(child.children())) else [child]
        comment = f"  # {row.label} -> {'×'.join(map(str, row.shape))}"
        lines += [f"    nn.{leaf!r}," + (comment if index == 0 else "") for index, leaf in enumerate(leaves)]
    return "\n".join(lines + [")"])


def measured_with_torch(input_shape: Sequence[int], layers: Sequence[Layer]) -> list[LayerCost]:
    """Per layer, what torch says: output shape (H, W, C) from a forward pass, parameters
    counted from the module, MACs = FLOPs / 2 from ``FlopCounterMode``.

    The model and input live on torch's ``meta`` device: shapes and FLOPs are real, no
    memory is allocated, so any size a user types can be checked.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    height, width, channels = input_shape
    with torch.device("meta"):
        model = build_sequential(input_shape, layers).eval()
        activation = torch.zeros(1, channels, height, width)
    measured = []
    with torch.inference_mode():
        for child in model:
            counter = FlopCounterMode(display=False)
            with counter:
                activation = child(activation)
            shape = tuple(activation.shape[1:])
            measured.append(
                LayerCost(
                    (shape[1], shape[2], shape[0]) if len(shape) == 3 else shape,
                    sum(parameter.numel() for parameter in child.parameters()),
                    counter.get_total_flops() // 2,
                )
            )
    return measured


def matches_torch(input_shape: Sequence[int], layers: Sequence[Layer]) -> bool:
    """Whether every row of the table has the shape, parameters and MACs PyTorch measures."""
    rows = layer_table(input_shape, layers)[1:]
    return [row.cost for row in rows] == measured_with_torch(input_shape, layers)


def _lenet(channels: int, first_filters: int, pooling: PoolMode) -> tuple[tuple[int, int, int], list[Layer]]:
    """LeNet-5's shape: CONV 5×5 → POOL 2 → CONV 5×5 (16) → POOL 2 → FC 120 → FC 84 → softmax 10."""
    return (32, 32, channels), [
        Layer("conv", f=5, s=1, p=0, filters=first_filters),
        Layer("pool", f=2, s=2, mode=pooling),
        Layer("conv", f=5, s=1, p=0, filters=16),
        Layer("pool", f=2, s=2, mode=pooling),
        Layer("fc", units=120),
        Layer("fc", units=84),
        Layer("softmax", units=10),
    ]


PRESETS: dict[str, tuple[tuple[int, int, int], list[Layer]]] = {
    "Course LeNet-5-like (32×32×3)": _lenet(3, 8, "max"),
    "Original LeNet-5 (32×32×1)": _lenet(1, 6, "avg"),  # LeCun et al. 1998 averaged ("subsampling")
    "Course 39×39×3 example": (
        (39, 39, 3),
        [
            Layer("conv", f=3, s=1, p=0, filters=10),
            Layer("conv", f=5, s=2, p=0, filters=20),
            Layer("conv", f=5, s=2, p=0, filters=40),
        ],
    ),
}
