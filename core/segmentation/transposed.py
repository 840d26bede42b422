"""Transposed convolution step by step (course week 3, "Transpose convolutions"): each
input value scales the filter, which lands at stride offsets; overlaps add; the padding is
cropped off. Checked against PyTorch's ``conv_transpose2d``. Reference: Dumoulin & Visin,
"A guide to convolution arithmetic for deep learning" (2016).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.runtime.errors import UserError

# -- transposed convolution, step by step ---------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """One input value times the filter, placed at stride offsets on the uncropped canvas."""

    row: int
    column: int
    value: float
    top: int
    left: int
    contribution: np.ndarray  # value · filter, (f, f)


@dataclass(frozen=True)
class TransposedConvolution:
    """The overlap-add: every placement, their sum on the full canvas, and the output after
    cropping ``padding`` from each side (``output_padding`` extra rows/columns at the end)."""

    placements: tuple[Placement, ...]
    canvas: np.ndarray  # (s(i−1) + f + output_padding) per side
    output: np.ndarray
    padding: int

    def canvas_after(self, step: int) -> np.ndarray:
        """The canvas once the first ``step`` placements are added (``step`` = all: ``canvas``)."""
        canvas = np.zeros_like(self.canvas)
        for done in self.placements[:step]:
            size = done.contribution.shape[0]
            canvas[done.top : done.top + size, done.left : done.left + size] += done.contribution
        return canvas


def transposed_convolution(
    x: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: int = 0, output_padding: int = 0
) -> TransposedConvolution:
    """2-D transposed convolution of ``x`` (H, W) with an f×f ``kernel``, as the course draws it:
    each input value scales the filter, which lands at (row·s, column·s); overlaps add; the
    padding p is cropped off. Equals torch's ``conv_transpose2d`` (tested)."""
    from core.foundations.conv import transposed_output_size

    x, kernel = np.asarray(x, dtype=float), np.asarray(kernel, dtype=float)
    if x.ndim != 2 or kernel.ndim != 2:
        raise UserError("The input and the filter must be matrices.")
    if kernel.shape[0] != kernel.shape[1]:
        raise UserError(f"The filter must be square (f × f), not {kernel.shape[0]} × {kernel.shape[1]}.")
    f = kernel.shape[0]
    out_h = transposed_output_size(x.shape[0], f, padding, stride, 1, output_padding)
    out_w = transposed_output_size(x.shape[1], f, padding, stride, 1, output_padding)
    canvas = np.zeros(((x.shape[0] - 1) * stride + f + output_padding, (x.shape[1] - 1) * stride + f + output_padding))
    placements = []
    for row in range(x.shape[0]):
        for column in range(x.shape[1]):
            top, left = row * stride, column * stride
            contribution = x[row, column] * kernel
            canvas[top : top + f, left : left + f] += contribution
            placements.append(Placement(row, column, float(x[row, column]), top, left, contribution))
    output = canvas[padding : padding + out_h, padding : padding + out_w]
    return TransposedConvolution(tuple(placements), canvas, output, padding)


def conv_transpose2d_reference(
    x: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: int = 0, output_padding: int = 0
) -> np.ndarray:
    """PyTorch's ``F.conv_transpose2d`` on a matrix and a filter: the library result the
    step-by-step ``transposed_convolution`` is checked against."""
    weight = torch.tensor(np.array(kernel, dtype=float))[None, None]  # (1, 1, f, f)
    with torch.inference_mode():
        out = F.conv_transpose2d(
            torch.tensor(np.array(x, dtype=float))[None, None],
            weight,
            stride=stride,
            padding=padding,
            output_padding=output_padding,
        )
    return out[0, 0].numpy()
