"""Convolution arithmetic, course week 1 ("Foundations of Convolutional Neural Networks").

Output sizes ⌊(n + 2p − f)/s⌋ + 1, cross-correlation step by step, pooling and edge
filters on photos. The numpy versions show each step; tests prove they equal
``torch.nn.functional``. What layers cost (parameters, MACs, layer tables) is in
``core.foundations.costs``. Reference: Dumoulin & Visin, "A guide to convolution arithmetic for deep
learning" (2016).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.runtime.budget import check_fits
from core.runtime.errors import UserError

PoolMode = Literal["max", "avg"]

# The course's worked example ("Edge detection example"): this 6×6 image with the vertical-edge filter.
COURSE_6X6 = np.array(
    [
        [3, 0, 1, 2, 7, 4],
        [1, 5, 8, 9, 3, 1],
        [2, 7, 2, 5, 1, 3],
        [0, 1, 3, 1, 7, 8],
        [4, 2, 1, 6, 2, 8],
        [2, 4, 5, 2, 3, 9],
    ]
)
COURSE_VERTICAL_FILTER = np.array([[1, 0, -1]] * 3)


def whole_number(name: str, value: object, minimum: int) -> int:
    """``value`` as an int, or a ``UserError`` naming the field when it is not a whole number ≥ ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise UserError(f"{name} must be a whole number, not {value!r}.")
    if value < minimum:
        raise UserError(f"{name} must be at least {minimum}, not {value}.")
    return int(value)


def output_size(n: int, f: int, p: int = 0, s: int = 1, d: int = 1) -> int:
    """⌊(n + 2p − d(f − 1) − 1)/s⌋ + 1: one side of a convolution's or pooling's output.

    With dilation d = 1 this is the course's ⌊(n + 2p − f)/s⌋ + 1. Raises ValueError
    when an argument is not a positive whole number or the window does not fit.
    """
    n, f = whole_number("Input size n", n, 1), whole_number("Filter size f", f, 1)
    p, s, d = whole_number("Padding p", p, 0), whole_number("Stride s", s, 1), whole_number("Dilation d", d, 1)
    span = d * (f - 1) + 1  # the window's extent on the input
    if n + 2 * p < span:
        raise UserError(f"The {span}-wide window does not fit the padded input of size n + 2p = {n + 2 * p}.")
    return (n + 2 * p - span) // s + 1


def transposed_output_size(n: int, f: int, p: int = 0, s: int = 1, d: int = 1, output_padding: int = 0) -> int:
    """o = s(n − 1) − 2p + d(f − 1) + output_padding + 1, the size ConvTranspose2d produces."""
    n, f = whole_number("Input size n", n, 1), whole_number("Filter size f", f, 1)
    p, s, d = whole_number("Padding p", p, 0), whole_number("Stride s", s, 1), whole_number("Dilation d", d, 1)
    output_padding = whole_number("Output padding", output_padding, 0)
    if output_padding >= max(s, d):
        raise UserError(f"Output padding ({output_padding}) must be smaller than the stride or the dilation.")
    size = s * (n - 1) - 2 * p + d * (f - 1) + output_padding + 1
    if size < 1:
        raise UserError(f"The padding crops everything: the output size would be {size}.")
    return size


def same_padding(f: int) -> int:
    """p = (f − 1)/2 keeps n unchanged at stride 1; exact only for odd f (even f rounds down)."""
    return (whole_number("Filter size f", f, 1) - 1) // 2


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
        raise UserError("The input must be H×W or H×W×C and the filter f×f or f×f×C.")
    if k.shape[0] != k.shape[1]:
        raise UserError(f"The filter must be square, not {k.shape[0]}×{k.shape[1]}.")
    if x.shape[2] != k.shape[2]:
        raise UserError(f"The filter has {k.shape[2]} channel(s) but the input has {x.shape[2]}.")
    if x.size == 0 or k.size == 0:
        raise UserError("The input and the filter need at least one value each.")
    if not (np.isfinite(x).all() and np.isfinite(k).all()):
        raise UserError("Every value must be a number (no blanks, NaN or infinity).")
    return x, k


def pad(x: np.ndarray, padding: int) -> np.ndarray:
    """Zero padding of ``padding`` rows/columns on every side of an (H, W[, C]) array. A
    padding whose result would not fit in one job's memory is refused before allocating."""
    padding = whole_number("Padding p", padding, 0)
    shape = np.shape(x)
    padded = (shape[0] + 2 * padding) * (shape[1] + 2 * padding) * math.prod(shape[2:])
    check_fits(padded * np.asarray(x).itemsize, f"Padding by p = {padding}", "the padding p")
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
        raise UserError(f"Cell ({row}, {col}) is outside the {out_h}×{out_w} output.")
    top, left = row * stride, col * stride
    window = pad(x, padding)[top : top + f, left : left + f]
    products = window * k
    return WindowStep(
        row, col, top, left, products.squeeze(axis=2) if products.shape[2] == 1 else products, float(products.sum())
    )


def pool(x: np.ndarray, f: int, s: int, mode: PoolMode = "max") -> np.ndarray:
    """Max or average pooling of an (H, W) or (H, W, C) array, channel by channel.

    Pooling has hyperparameters (f, s, mode) but nothing to learn.
    """
    if mode not in ("max", "avg"):
        raise UserError(f"Pooling mode must be 'max' or 'avg', not {mode!r}.")
    values = np.asarray(x, dtype=np.float64)
    if values.ndim not in (2, 3) or values.size == 0:
        raise UserError("Pooling needs a non-empty H×W or H×W×C array.")
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
        raise UserError("The edge filter must be a 3×3 matrix of numbers.")
    if min(image.shape[:2]) < 3:
        raise UserError(
            f"A 3×3 filter needs an image of at least 3×3 pixels; this one is {image.shape[1]}×{image.shape[0]}."
        )
    channel_weights = torch.ones(3) if per_channel else torch.tensor(LUMA)
    height, width = image.shape[0] - 2, image.shape[1] - 2
    with torch.inference_mode():
        plane = torch.from_numpy(np.array(image, dtype=np.uint8)).to(device).float() @ channel_weights.to(
            device
        )  # (H, W)
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
        raise UserError(f"Pooling mode must be 'max' or 'avg', not {mode!r}.")
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
