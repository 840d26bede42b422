"""A synthetic segmentation set the project makes itself: shapes with per-pixel labels.

Course week 3, "Semantic segmentation with U-Net": every pixel gets a class. Each image
has a background (flat, gradient or striped, with noise) and two to five shapes — circles,
squares and triangles of random size, rotation, colour and texture — that may overlap;
the later shape covers the earlier one in the image and in the label map alike. Samples
are a pure function of (seed, index), so a set is reproducible from its seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from core.runtime.errors import UserError

CLASSES = ("background", "circle", "square", "triangle")
COLORS = ((30, 30, 30), (230, 25, 75), (60, 180, 75), (0, 130, 200))  # legend colour per class (RGB)


@dataclass(frozen=True)
class Shape:
    """One drawn shape: its class (1 circle, 2 square, 3 triangle), outline and fill colour."""

    label: int
    polygon: tuple[tuple[float, float], ...]  # vertices; a circle is drawn as its 64-gon
    color: tuple[int, int, int]


def _polygon(label: int, cx: float, cy: float, radius: float, angle: float) -> tuple[tuple[float, float], ...]:
    corners = {1: 64, 2: 4, 3: 3}[label]
    return tuple(
        (
            cx + radius * math.cos(angle + 2 * math.pi * k / corners),
            cy + radius * math.sin(angle + 2 * math.pi * k / corners),
        )
        for k in range(corners)
    )


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """(size, size, 3) float32: flat, a linear gradient, or stripes, in random colours."""
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    kind = rng.integers(3)
    if kind == 0:
        weight = np.zeros((size, size), np.float32)
    elif kind == 1:
        direction = rng.uniform(0, 2 * math.pi)
        weight = (x * math.cos(direction) + y * math.sin(direction) + 1.5) / 3
    else:
        period, direction = rng.uniform(0.08, 0.25), rng.uniform(0, math.pi)
        weight = 0.5 + 0.5 * np.sin(2 * math.pi * (x * math.cos(direction) + y * math.sin(direction)) / period)
    return (a * (1 - weight[..., None]) + b * weight[..., None]).astype(np.float32)


def make_sample(
    seed: int, index: int, size: int = 64, noise: bool = True
) -> tuple[np.ndarray, np.ndarray, list[Shape]]:
    """Sample ``index`` of the set ``seed``: (size, size, 3) uint8 image, (size, size) uint8
    labels in 0…3, and the shapes in drawing order. ``noise=False`` leaves shapes flat."""
    if size < 16:
        raise UserError(f"Synthetic images must be at least 16×16 pixels; {size} is too small.")
    rng = np.random.default_rng([seed, index])
    canvas = _background(rng, size)
    labels = Image.new("L", (size, size), 0)
    fill = Image.new("L", (size, size), 0)
    shapes = []
    for _ in range(rng.integers(2, 6)):
        label = int(rng.integers(1, 4))
        radius = rng.uniform(0.1, 0.28) * size
        cx, cy = rng.uniform(radius * 0.5, size - radius * 0.5, 2)
        polygon = _polygon(label, cx, cy, radius, rng.uniform(0, 2 * math.pi))
        color = rng.uniform(0, 255, 3)
        if np.abs(color - canvas[int(cy), int(cx)]).sum() < 150:  # keep every shape visible
            color = 255 - color
        shapes.append(Shape(label, polygon, tuple(int(c) for c in color)))
        fill.paste(0, (0, 0, size, size))
        ImageDraw.Draw(fill).polygon(polygon, fill=255)
        ImageDraw.Draw(labels).polygon(polygon, fill=label)
        inside = np.asarray(fill) > 0
        shade = 1.0
        if noise and rng.random() < 0.5:  # a striped texture on some shapes
            y, x = np.nonzero(inside)
            shade = 0.75 + 0.25 * np.sin((x + y) * rng.uniform(0.5, 1.5))[:, None]
        canvas[inside] = color * shade
    if noise:
        canvas += rng.normal(0, rng.uniform(0, 20), canvas.shape)
    return np.clip(canvas, 0, 255).astype(np.uint8), np.asarray(labels, dtype=np.uint8), shapes


def make_set(seed: int, count: int, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """``count`` samples: (N, size, size, 3) uint8 images and (N, size, size) uint8 labels."""
    images, labels = zip(*(make_sample(seed, index, size)[:2] for index in range(count)))
    return np.stack(images), np.stack(labels)


def colorize(labels: np.ndarray) -> np.ndarray:
    """(H, W) class labels -> (H, W, 3) uint8 picture in the legend colours."""
    return np.asarray(COLORS, dtype=np.uint8)[labels]


def overlay(image: np.ndarray, labels: np.ndarray, alpha: float) -> np.ndarray:
    """``image`` with the legend colours blended in at opacity ``alpha`` wherever the label
    is not background; background pixels are left as they are."""
    if not 0.0 <= alpha <= 1.0:
        raise UserError(f"The opacity must be between 0 and 1, not {alpha}.")
    blend = np.where((labels > 0)[..., None], (1 - alpha) * image + alpha * colorize(labels).astype(np.float32), image)
    return blend.round().astype(np.uint8)


def class_shares(labels: np.ndarray) -> dict[str, float]:
    """The share of pixels of each class in a label map."""
    counts = np.bincount(labels.ravel(), minlength=len(CLASSES))
    return dict(zip(CLASSES, (counts / labels.size).tolist()))
