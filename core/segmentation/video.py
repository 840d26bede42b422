"""Semantic segmentation on a video, one frame at a time (``core.media.video.FrameWork``s):
the shipped U-Net's classes or a torchvision segmenter's (DeepLabV3) blended over every
frame, and the share of the frame each class covers.

Course week 3, "Semantic segmentation with U-Net": a video is segmented as a sequence of
images; nothing links one frame's labels to the next.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from core.media.video import SourceFrame, VideoFrame, VideoPlan
from core.runtime.tables import csv_text
from core.segmentation import shapes
from core.segmentation.pretrained import segment_with_torchvision
from core.segmentation.unet import predict_labels

Shares = dict[str, float]  # class -> fraction of the frame's pixels, background left out
# peak bytes measured on the CPU: per pixel of the U-Net's input square, and per pixel of a
# frame for DeepLabV3, whose class scores are scaled up to the frame before the argmax
UNET_BYTES_PER_INPUT_PIXEL, DEEPLAB_BYTES_PER_FRAME_PIXEL = 400, 200
FRAME_TENSOR_BYTES_PER_PIXEL = 24  # a frame as float tensors, in and out


@dataclass(frozen=True)
class UNetVideo:
    """The U-Net ``load`` gives (trained at ``side`` px) on every frame, its classes blended in
    at ``alpha``."""

    weights_name: str
    load: Callable[[], Any] = field(repr=False, compare=False)
    side: int = 64
    alpha: float = 0.6

    @property
    def title(self) -> str:
        return f"The U-Net ({self.weights_name})"

    def memory_parts(self, plan: VideoPlan) -> dict[str, int]:
        return {
            "the size": FRAME_TENSOR_BYTES_PER_PIXEL * plan.width * plan.height,
            "the network's input size": UNET_BYTES_PER_INPUT_PIXEL * self.side**2,
        }

    def start(self, device: torch.device) -> Callable[[SourceFrame], tuple[np.ndarray, Shares]]:
        model = self.load()

        def step(frame: SourceFrame) -> tuple[np.ndarray, Shares]:
            rgb = frame.rgb()
            labels = predict_labels(model, rgb, device, self.side)
            drawn = shapes.overlay(rgb, labels, self.alpha)
            shares = {name: share for name, share in shapes.class_shares(labels).items() if name != "background"}
            return drawn[..., ::-1], shares

        return step


@dataclass(frozen=True)
class TorchvisionVideo:
    """A torchvision segmenter (``weights_tag``: its weights enum) on every frame, its masks
    drawn by torchvision."""

    weights_name: str
    load: Callable[[], torch.nn.Module] = field(repr=False, compare=False)
    weights_tag: str = ""

    @property
    def title(self) -> str:
        return self.weights_name

    def memory_parts(self, plan: VideoPlan) -> dict[str, int]:
        return {"the size": (FRAME_TENSOR_BYTES_PER_PIXEL + DEEPLAB_BYTES_PER_FRAME_PIXEL) * plan.width * plan.height}

    def start(self, device: torch.device) -> Callable[[SourceFrame], tuple[np.ndarray, Shares]]:
        model = self.load()

        def step(frame: SourceFrame) -> tuple[np.ndarray, Shares]:
            result = segment_with_torchvision(model, self.weights_tag, frame.rgb(), device)
            return result.overlay[..., ::-1], result.shares

        return step


def share_rows(frames: Sequence[VideoFrame[Shares]]) -> list[dict[str, Any]]:
    """One row per processed frame: its index, time, and each class's share of its pixels
    (every class found in any frame, 0 where absent)."""
    names = sorted({name for frame in frames for name in frame.found})
    return [
        {
            "frame": frame.index,
            "time s": round(frame.time_s, 3),
            **{name: round(frame.found.get(name, 0.0), 4) for name in names},
        }
        for frame in frames
    ]


def shares_csv(frames: Sequence[VideoFrame[Shares]]) -> str:
    return csv_text(share_rows(frames), ["frame", "time s"])
