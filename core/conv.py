"""Convolution arithmetic, course week 1 ("Foundations of Convolutional Neural Networks").

Output sizes ⌊(n + 2p − f)/s⌋ + 1, cross-correlation step by step, pooling, edge filters
on photos, and the course's layer tables (activation shape, size, parameters, MACs).
The numpy versions show each step; tests prove they equal ``torch.nn.functional`` and
that the table's parameters and MACs equal the counts of the built ``nn.Sequential``
(parameters from the module, FLOPs from ``FlopCounterMode``; MACs = FLOPs / 2).
References: Dumoulin & Visin, "A guide to convolution arithmetic for deep learning" (2016);
LeCun et al., "Gradient-based learning applied to document recognition" (1998).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

PoolMode = Literal["max", "avg"]


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, not {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}.")
    return int(value)


def output_size(n: int, f: int, p: int = 0, s: int = 1, d: int = 1) -> int:
    """⌊(n + 2p − d(f − 1) − 1)/s⌋ + 1: one side of a convolution's or pooling's output.

    With dilation d = 1 this is the course's ⌊(n + 2p − f)/s⌋ + 1. Raises ValueError
    when an argument is not a positive whole number or the window does not fit.
    """
    n, f = _check_int("Input size n", n, 1), _check_int("Filter size f", f, 1)
    p, s, d = _check_int("Padding p", p, 0), _check_int("Stride s", s, 1), _check_int("Dilation d", d, 1)
    span = d * (f - 1) + 1  # the window's extent on the input
    if n + 2 * p < span:
        raise ValueError(f"The {span}-wide window does not fit the padded input of size n + 2p = {n + 2 * p}.")
    return (n + 2 * p - span) // s + 1


def transposed_output_size(n: int, f: int, p: int = 0, s: int = 1, d: int = 1, output_padding: int = 0) -> int:
    """o = s(n − 1) − 2p + d(f − 1) + output_padding + 1, the size ConvTranspose2d produces."""
    n, f = _check_int("Input size n", n, 1), _check_int("Filter size f", f, 1)
    p, s, d = _check_int("Padding p", p, 0), _check_int("Stride s", s, 1), _check_int("Dilation d", d, 1)
    output_padding = _check_int("Output padding", output_padding, 0)
    if output_padding >= max(s, d):
        raise ValueError(f"Output padding ({output_padding}) must be smaller than the stride or the dilation.")
    size = s * (n - 1) - 2 * p + d * (f - 1) + output_padding + 1
    if size < 1:
        raise ValueError(f"The padding crops everything: the output size would be {size}.")
    return size


def same_padding(f: int) -> int:
    """p = (f − 1)/2 keeps n unchanged at stride 1; exact only for odd f (even f rounds down)."""
    return (_check_int("Filter size f", f, 1) - 1) // 2


def dropped_by_floor(n: int, f: int, p: int = 0, s: int = 1, d: int = 1) -> int:
    """Rows (or columns) of the padded input that no window covers because of the floor."""
    out = output_size(n, f, p, s, d)
    return n + 2 * p - ((out - 1) * s + d * (f - 1) + 1)


# -- cross-correlation, step by step -------------------------------------------------------


def _as_volume(x: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, C) input and (f, f, C) filter from 2-D or 3-D arrays; clear errors otherwise."""
    x, k = np.asarray(x, dtype=np.float64), np.asarray(k, dtype=np.float64)
    if x.ndim == 2:
        x = x[:, :, None]
    if k.ndim == 2:
        k = k[:, :, None]
    if x.ndim != 3 or k.ndim != 3:
        raise ValueError("The input must be H×W or H×W×C and the filter f×f or f×f×C.")
    if k.shape[0] != k.shape[1]:
        raise ValueError(f"The filter must be square, not {k.shape[0]}×{k.shape[1]}.")
    if x.shape[2] != k.shape[2]:
        raise ValueError(f"The filter has {k.shape[2]} channel(s) but the input has {x.shape[2]}.")
    if x.size == 0 or k.size == 0:
        raise ValueError("The input and the filter need at least one value each.")
    if not (np.isfinite(x).all() and np.isfinite(k).all()):
        raise ValueError("Every value must be a number (no blanks, NaN or infinity).")
    return x, k


def pad(x: np.ndarray, padding: int) -> np.ndarray:
    """Zero padding of ``padding`` rows/columns on every side of an (H, W[, C]) array."""
    widths = [(padding, padding), (padding, padding)] + [(0, 0)] * (np.ndim(x) - 2)
    return np.pad(x, widths)


def cross_correlate(x: np.ndarray, k: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """The "convolution" of deep learning: slide ``k`` over ``x`` and sum the products.

    ``x`` is (H, W) or (H, W, C), ``k`` is (f, f) or (f, f, C); the result is one
    (n_H', n_W') map. Equal to ``torch.nn.functional.conv2d`` (which does not flip).
    """
    x, k = _as_volume(x, k)
    f = k.shape[0]
    out_h, out_w = output_size(x.shape[0], f, padding, stride), output_size(x.shape[1], f, padding, stride)
    windows = np.lib.stride_tricks.sliding_window_view(pad(x, padding), (f, f), axis=(0, 1))  # (H', W', C, f, f)
    windows = windows[: (out_h - 1) * stride + 1 : stride, : (out_w - 1) * stride + 1 : stride]
    return np.einsum("ijcab,abc->ij", windows, k)


def convolve(x: np.ndarray, k: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Textbook (mathematical) convolution: cross-correlation with the filter flipped in H and W."""
    return cross_correlate(x, np.flip(np.asarray(k), axis=(0, 1)), stride, padding)


@dataclass(frozen=True)
class WindowStep:
    """One output cell: where its window sits in the padded input, the products, their sum."""

    row: int
    col: int
    top: int  # window's first row in the padded input
    left: int
    products: np.ndarray  # (f, f) or (f, f, C)
    total: float


def window_step(x: np.ndarray, k: np.ndarray, row: int, col: int, stride: int = 1, padding: int = 0) -> WindowStep:
    """The sum of products that gives output cell (row, col)."""
    x, k = _as_volume(x, k)
    f = k.shape[0]
    out_h, out_w = output_size(x.shape[0], f, padding, stride), output_size(x.shape[1], f, padding, stride)
    if not (0 <= row < out_h and 0 <= col < out_w):
        raise ValueError(f"Cell ({row}, {col}) is outside the {out_h}×{out_w} output.")
    top, left = row * stride, col * stride
    window = pad(x, padding)[top : top + f, left : left + f]
    products = window * k
    return WindowStep(row, col, top, left, products.squeeze(axis=2) if products.shape[2] == 1 else products, float(products.sum()))


def pool(x: np.ndarray, f: int, s: int, mode: PoolMode = "max") -> np.ndarray:
    """Max or average pooling of an (H, W) or (H, W, C) array, channel by channel.

    Pooling has hyperparameters (f, s, mode) but nothing to learn.
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"Pooling mode must be 'max' or 'avg', not {mode!r}.")
    values = np.asarray(x, dtype=np.float64)
    if values.ndim not in (2, 3) or values.size == 0:
        raise ValueError("Pooling needs a non-empty H×W or H×W×C array.")
    out_h, out_w = output_size(values.shape[0], f, 0, s), output_size(values.shape[1], f, 0, s)
    windows = np.lib.stride_tricks.sliding_window_view(values, (f, f), axis=(0, 1))
    windows = windows[: (out_h - 1) * s + 1 : s, : (out_w - 1) * s + 1 : s]  # (H', W'[, C], f, f)
    return windows.max(axis=(-2, -1)) if mode == "max" else windows.mean(axis=(-2, -1))


# -- edge filters on photos -----------------------------------------------------------------

VERTICAL_EDGE_FILTERS: dict[str, np.ndarray] = {
    "Vertical edge": np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=np.float32),
    "Sobel": np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float32),
    "Scharr": np.array([[3, 0, -3], [10, 0, -10], [3, 0, -3]], dtype=np.float32),
}
LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 weights for gray


def edge_filter(name: str, horizontal: bool = False) -> np.ndarray:
    """A named 3×3 vertical-edge filter, or its transpose for horizontal edges."""
    kernel = VERTICAL_EDGE_FILTERS[name]
    return kernel.T.copy() if horizontal else kernel.copy()


def edge_map(image: np.ndarray, kernel: np.ndarray, per_channel: bool = False, device: str = "cpu") -> np.ndarray:
    """Cross-correlate an (H, W, 3) uint8 photo with a 3×3 filter on ``device``; (H−2, W−2) floats.

    Per channel: the filter is stacked into 3×3×3 and summed over R, G, B into one map
    (convolution over volumes). Gray: the filter runs over the luminance Σ_c w_c·x_c. By
    linearity both are one 3×3 filter over a weighted channel sum, computed as the sum of
    the nine shifted copies of that plane times their filter weights — the definition of
    cross-correlation, and 5–8× faster on the CPU than conv2d with one output channel.
    """
    import torch

    kernel = np.asarray(kernel, dtype=np.float32)
    if kernel.shape != (3, 3) or not np.isfinite(kernel).all():
        raise ValueError("The edge filter must be a 3×3 matrix of numbers.")
    if min(image.shape[:2]) < 3:
        raise ValueError(f"A 3×3 filter needs an image of at least 3×3 pixels; this one is {image.shape[1]}×{image.shape[0]}.")
    channel_weights = torch.ones(3) if per_channel else torch.tensor(LUMA)
    height, width = image.shape[0] - 2, image.shape[1] - 2
    with torch.inference_mode():
        plane = torch.from_numpy(np.array(image, dtype=np.uint8)).to(device).float() @ channel_weights.to(device)  # (H, W)
        response = torch.zeros(height, width, device=device)  # (H−2, W−2)
        for row, column in zip(*np.nonzero(kernel)):
            response.add_(plane[row : row + height, column : column + width], alpha=float(kernel[row, column]))
        return response.cpu().numpy()


def _image_tensor(image: np.ndarray, device: str):
    """(H, W, 3) uint8 -> (3, H, W) float32 on ``device``."""
    import torch

    return torch.from_numpy(np.array(image, dtype=np.uint8)).to(device).permute(2, 0, 1).float()


def pool_image(image: np.ndarray, f: int, s: int, mode: PoolMode = "max", device: str = "cpu") -> np.ndarray:
    """``pool`` for an (H, W, 3) uint8 photo, run by torch on ``device``; (H', W', 3) uint8."""
    import torch
    import torch.nn.functional as F

    if mode not in ("max", "avg"):
        raise ValueError(f"Pooling mode must be 'max' or 'avg', not {mode!r}.")
    output_size(image.shape[0], f, 0, s), output_size(image.shape[1], f, 0, s)  # validates f, s against the image
    with torch.inference_mode():
        pixels = _image_tensor(image, device)
        pooled = F.max_pool2d(pixels, f, s) if mode == "max" else F.avg_pool2d(pixels, f, s)
        return pooled.round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def to_display(values: np.ndarray, absolute: bool) -> np.ndarray:
    """uint8 picture of a filter response: |v| scaled to 0..255, or signed around mid-gray.

    The scale is the 99.5th percentile of |v|, so a few extreme pixels do not leave every
    other edge near black; responses beyond it are clipped. Runs in torch, which uses every
    core for these whole-image passes.
    """
    import torch

    response = torch.as_tensor(np.asarray(values, dtype=np.float32))
    magnitude = response.abs()
    rows, columns = magnitude.shape
    sample = magnitude[:: -(-rows // 512), :: -(-columns // 512)]  # at most 512×512 pixels
    scale = float(torch.quantile(sample.flatten(), 0.995)) or float(magnitude.max()) or 1.0
    shown = magnitude.mul_(255.0 / scale) if absolute else response.mul(127.5 / scale).add_(127.5)
    return shown.add_(0.5).clamp_(0, 255).to(torch.uint8).numpy()  # + 0.5: round half up


# -- layer tables ---------------------------------------------------------------------------


class LayerError(ValueError):
    """A layer that cannot follow the one before it; the message names the row."""


@dataclass(frozen=True)
class ConvCost:
    """An N-D convolution layer: output shape (spatial..., filters), parameters and MACs."""

    shape: tuple[int, ...]
    params: int
    macs: int


def conv_cost(input_shape: Sequence[int], f: int, filters: int, s: int = 1, p: int = 0) -> ConvCost:
    """Shape, parameters (f^N·C + 1)·filters and MACs (outputs × f^N·C) of an N-D conv layer.

    ``input_shape`` is (spatial..., C): (L, C) for 1D, (H, W, C) for 2D, (D, H, W, C) for 3D.
    """
    *spatial, channels = (_check_int("Input size", n, 1) for n in input_shape)
    filters = _check_int("Number of filters", filters, 1)
    out_spatial = tuple(output_size(n, f, p, s) for n in spatial)
    taps = f ** len(spatial) * channels  # multiplications per output value
    return ConvCost((*out_spatial, filters), (taps + 1) * filters, math.prod(out_spatial) * filters * taps)


def dense_params(inputs: int, outputs: int) -> tuple[int, int]:
    """(weights, biases) of a fully connected layer: inputs × outputs and outputs."""
    return inputs * outputs, outputs


def conv_chain(input_shape: Sequence[int], layers: Sequence[dict]) -> list[ConvCost]:
    """Consecutive N-D conv layers ({"f", "filters", "s", "p"}), each fed the one before;
    a ``LayerError`` names the layer that cannot be built."""
    costs: list[ConvCost] = []
    current = tuple(input_shape)
    for number, layer in enumerate(layers, start=1):
        try:
            cost = conv_cost(current, layer["f"], layer["filters"], layer.get("s", 1), layer.get("p", 0))
        except KeyError as missing:
            raise LayerError(f"Layer {number}: missing setting {missing}") from None
        except ValueError as error:
            raise LayerError(f"Layer {number}: {error}") from None
        costs.append(cost)
        current = cost.shape
    return costs


@dataclass(frozen=True)
class ConvVersusDense:
    """"Why convolutions": one conv layer against a fully connected layer between the same volumes."""

    conv: ConvCost
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


LAYER_TYPES = ("conv", "pool", "fc", "softmax")


def layer_table(input_shape: Sequence[int], layers: Sequence[dict]) -> list[dict]:
    """The course's table: one row per layer with "shape", "size", "params" and "macs".

    ``input_shape`` is (H, W, C). Layers are dicts: {"type": "conv", "f", "s", "p",
    "filters"}, {"type": "pool", "f", "s", "mode"}, {"type": "fc", "units"},
    {"type": "softmax", "units"} (a dense layer followed by softmax). The first row is
    the input. A layer that cannot follow the previous one raises LayerError naming it.
    """
    try:
        shape = tuple(_check_int("Input size", n, 1) for n in input_shape)
    except ValueError as error:
        raise LayerError(f"Input: {error}") from None
    if len(shape) != 3:
        raise LayerError("Input: the shape must be (H, W, C).")
    rows = [{"layer": "Input", "type": "input", "shape": shape, "size": math.prod(shape), "params": 0, "macs": 0}]
    depth = 0  # the course numbers layers with weights; a pool shares its conv's number
    for number, layer in enumerate(layers, start=1):
        kind = str(layer.get("type", "")).lower()
        depth = depth + 1 if kind in ("conv", "fc") else max(depth, 1)
        label = {"softmax": "Softmax", "conv": f"CONV{depth}", "pool": f"POOL{depth}", "fc": f"FC{depth}"}.get(
            kind, f"row {number}"
        )
        try:
            shape, params, macs = _layer_step(kind, shape, layer)
        except (ValueError, KeyError, TypeError) as error:
            detail = f"missing setting {error}" if isinstance(error, KeyError) else str(error)
            raise LayerError(f"Row {number} ({label}): {detail}") from None
        rows.append({"layer": label, "type": kind, "shape": shape, "size": math.prod(shape), "params": params, "macs": macs})
    return rows


def _layer_step(kind: str, shape: tuple[int, ...], layer: dict) -> tuple[tuple[int, ...], int, int]:
    if kind in ("conv", "pool") and len(shape) != 3:
        raise ValueError(f"{kind.upper()} needs an H×W×C input, but the layer before is fully connected.")
    if kind == "conv":
        cost = conv_cost(shape, layer["f"], layer["filters"], layer.get("s", 1), layer.get("p", 0))
        return cost.shape, cost.params, cost.macs
    if kind == "pool":
        if layer.get("mode", "max") not in ("max", "avg"):
            raise ValueError("pooling mode must be max or avg.")
        f, s = layer["f"], layer.get("s", layer["f"])
        return (output_size(shape[0], f, 0, s), output_size(shape[1], f, 0, s), shape[2]), 0, 0
    if kind in ("fc", "softmax"):
        units = _check_int("Number of units", layer["units"], 1)
        weights, biases = dense_params(math.prod(shape), units)
        return (units,), weights + biases, weights
    raise ValueError(f"unknown layer type {kind!r}; use one of {', '.join(LAYER_TYPES)}.")


def build_sequential(input_shape: Sequence[int], layers: Sequence[dict]):
    """The table as a torch ``nn.Sequential``, one child per row (ReLU after conv and fc)."""
    from torch import nn

    rows = layer_table(input_shape, layers)
    children: list[nn.Module] = []
    for layer, before, after in zip(layers, rows[:-1], rows[1:]):
        if after["type"] == "conv":
            conv = nn.Conv2d(before["shape"][2], layer["filters"], layer["f"], layer.get("s", 1), layer.get("p", 0))
            children.append(nn.Sequential(conv, nn.ReLU()))
        elif after["type"] == "pool":
            pooling = nn.MaxPool2d if layer.get("mode", "max") == "max" else nn.AvgPool2d
            children.append(pooling(layer["f"], stride=layer.get("s", layer["f"])))
        else:
            flatten = [nn.Flatten()] if len(before["shape"]) == 3 else []
            activation = nn.Softmax(dim=1) if after["type"] == "softmax" else nn.ReLU()
            children.append(nn.Sequential(*flatten, nn.Linear(before["size"], layer["units"]), activation))
    return nn.Sequential(*children)


def sequential_code(input_shape: Sequence[int], layers: Sequence[dict]) -> str:
    """Python source of the same network as one flat ``nn.Sequential``, for the user to copy."""
    model = build_sequential(input_shape, layers)
    lines = ["from torch import nn", "", "model = nn.Sequential("]
    for row, child in zip(layer_table(input_shape, layers)[1:], model):
        leaves = list(child) if len(list(child.children())) else [child]
        comment = f"  # {row['layer']} -> {'×'.join(map(str, row['shape']))}"
        lines += [f"    nn.{leaf!r}," + (comment if index == 0 else "") for index, leaf in enumerate(leaves)]
    return "\n".join(lines + [")"])


def measured_with_torch(input_shape: Sequence[int], layers: Sequence[dict]) -> list[dict]:
    """Per layer, what torch says: output shape (H, W, C) from a forward pass, parameters
    counted from the module, MACs = FLOPs / 2 from ``FlopCounterMode``.

    The model and input live on torch's ``meta`` device: shapes and FLOPs are real, no
    memory is allocated, so any size a user types can be checked.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    h, w, c = input_shape
    with torch.device("meta"):
        model = build_sequential(input_shape, layers).eval()
        activation = torch.zeros(1, c, h, w)
    measured = []
    with torch.inference_mode():
        for child in model:
            counter = FlopCounterMode(display=False)
            with counter:
                activation = child(activation)
            shape = tuple(activation.shape[1:])
            measured.append(
                {
                    "shape": (shape[1], shape[2], shape[0]) if len(shape) == 3 else shape,
                    "params": sum(parameter.numel() for parameter in child.parameters()),
                    "macs": counter.get_total_flops() // 2,
                }
            )
    return measured


def _lenet(channels: int, first_filters: int, pooling: PoolMode) -> tuple[tuple[int, int, int], list[dict]]:
    """LeNet-5's shape: CONV 5×5 → POOL 2 → CONV 5×5 (16) → POOL 2 → FC 120 → FC 84 → softmax 10."""
    return (32, 32, channels), [
        {"type": "conv", "f": 5, "s": 1, "p": 0, "filters": first_filters},
        {"type": "pool", "f": 2, "s": 2, "mode": pooling},
        {"type": "conv", "f": 5, "s": 1, "p": 0, "filters": 16},
        {"type": "pool", "f": 2, "s": 2, "mode": pooling},
        {"type": "fc", "units": 120},
        {"type": "fc", "units": 84},
        {"type": "softmax", "units": 10},
    ]


PRESETS: dict[str, tuple[tuple[int, int, int], list[dict]]] = {
    "Course LeNet-5-like (32×32×3)": _lenet(3, 8, "max"),
    "Original LeNet-5 (32×32×1)": _lenet(1, 6, "avg"),  # LeCun et al. 1998 averaged ("subsampling")
    "Course 39×39×3 example": (
        (39, 39, 3),
        [
            {"type": "conv", "f": 3, "s": 1, "p": 0, "filters": 10},
            {"type": "conv", "f": 5, "s": 2, "p": 0, "filters": 20},
            {"type": "conv", "f": 5, "s": 2, "p": 0, "filters": 40},
        ],
    ),
}
