"""The U-Net (Ronneberger, Fischer & Brox 2015, "U-Net: Convolutional Networks for
Biomedical Image Segmentation"; course week 3): the network, its shape table, the input
sizes it accepts, inference on a photo, and its checkpoint files.

The contracting path repeats two 3×3 convolutions and a 2×2 max pool, doubling the
channels; the expanding path upsamples (a 2×2 transposed convolution halving the
channels, or bilinear upsampling and a 1×1 convolution), concatenates the skip connection
from the same level (cropped to size with "valid" padding), and applies two 3×3
convolutions; a 1×1 convolution maps to the classes. Batch normalization follows each
3×3 convolution (not in the paper; it lets the small networks here train in seconds).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.runtime.errors import UserError
from core.runtime.inference import ModelTask

Padding = Literal["same", "valid"]


# -- the network ---------------------------------------------------------------------------------


class DoubleConv(nn.Sequential):
    """Two 3×3 convolutions, each with batch norm and ReLU: (B, C_in, H, W) -> (B, C_out, H', W')."""

    def __init__(self, in_channels: int, out_channels: int, padding: Padding) -> None:
        pad = 1 if padding == "same" else 0
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=pad, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=pad, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class Up(nn.Module):
    """Upsample ×2 to half the channels, concatenate the skip, then two 3×3 convolutions."""

    def __init__(self, in_channels: int, out_channels: int, padding: Padding, bilinear: bool) -> None:
        super().__init__()
        if bilinear:
            self.upsample = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(in_channels, out_channels, 1),
            )
        else:
            self.upsample = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
        self.conv = DoubleConv(2 * out_channels, out_channels, padding)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.upsample(x)  # (B, C/2, 2H, 2W)
        return self.conv(torch.cat([center_crop(skip, x.shape[-2:]), x], dim=1))  # (B, C/2, ...)


def center_crop(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """The middle ``size`` of a (B, C, H, W) tensor: the paper's crop of the skip connection."""
    top, left = (x.shape[-2] - size[0]) // 2, (x.shape[-1] - size[1]) // 2
    return x[..., top : top + size[0], left : left + size[1]]


@dataclass(frozen=True)
class Stage:
    """One row of the U-Net shape table."""

    name: str
    path: str  # "contracting", "bottleneck", "expanding", "output"
    output_shape: tuple[int, ...]  # (C, H, W)
    params: int
    skip_shape: tuple[int, ...] | None = None  # the concatenated skip, for expanding stages


class UNet(nn.Module):
    """U-Net: (B, in_channels, H, W) -> (B, num_classes, H', W') class scores per pixel.

    With "same" padding H' = H and W' = W (H and W divisible by 2^depth); with "valid"
    padding the output is smaller, as in the paper (572² in, 388² out).
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        base_channels: int = 64,
        depth: int = 4,
        padding: Padding = "same",
        bilinear: bool = False,
    ) -> None:
        super().__init__()
        if padding not in ("same", "valid"):
            raise UserError(f"Padding must be 'same' or 'valid', not {padding!r}.")
        if min(in_channels, num_classes, base_channels, depth) < 1:
            raise UserError("Input channels, classes, base channels and depth must all be at least 1.")
        self.depth, self.padding = depth, padding
        self.config = dict(
            in_channels=in_channels,
            num_classes=num_classes,
            base_channels=base_channels,
            depth=depth,
            padding=padding,
            bilinear=bilinear,
        )
        widths = [base_channels * 2**level for level in range(depth + 1)]  # 64, 128, 256, 512, 1024
        self.stem = DoubleConv(in_channels, widths[0], padding)
        self.down = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), DoubleConv(widths[level], widths[level + 1], padding))
            for level in range(depth)
        )
        self.up = nn.ModuleList(
            Up(widths[level + 1], widths[level], padding, bilinear) for level in reversed(range(depth))
        )
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, None)

    def stages(self, height: int, width: int) -> list[Stage]:
        """The shape table for an input of ``height`` × ``width`` (see ``shape_table``)."""
        return shape_table(height, width, **self.config)

    def _run(self, x: torch.Tensor, table: list[Stage] | None) -> torch.Tensor:
        def record(
            name: str, path: str, module: nn.Module, out: torch.Tensor, skip: torch.Tensor | None = None
        ) -> None:
            if table is not None:
                params = sum(p.numel() for p in module.parameters())
                table.append(
                    Stage(name, path, tuple(out.shape[1:]), params, tuple(skip.shape[1:]) if skip is not None else None)
                )

        skips = [self.stem(x)]  # (B, 64, H, W)
        record("input → conv 3×3 ×2", "contracting", self.stem, skips[0])
        for level, block in enumerate(self.down, start=1):
            skips.append(block(skips[-1]))  # (B, 64·2^level, H/2^level, W/2^level)
            last = level == self.depth
            record(
                "bottleneck" if last else f"down {level}: pool, conv 3×3 ×2",
                "bottleneck" if last else "contracting",
                block,
                skips[-1],
            )
        x = skips.pop()
        for level, block in enumerate(self.up, start=1):
            skip = skips.pop()
            x = block(x, skip)
            record(
                f"up {level}: upsample, concat skip, conv 3×3 ×2",
                "expanding",
                block,
                x,
                center_crop(skip, x.shape[-2:]),
            )
        out = self.head(x)  # (B, classes, H', W')
        record("1×1 conv → classes", "output", self.head, out)
        return out


def shape_table(height: int, width: int, **config) -> list[Stage]:
    """The shape table of ``UNet(**config)`` for an input of ``height`` × ``width``: the
    network is built and run on the meta device, so shapes and parameter counts are real
    and nothing is allocated, even for the paper's 31 M parameters. A size that does not
    fit raises a UserError naming the limit. Each table is built once (a page draws it on
    every rerun)."""
    check_input_size(height, width, config.get("depth", 4), config.get("padding", "same"))
    return list(_shape_table(height, width, tuple(sorted(config.items()))))


@functools.lru_cache(maxsize=64)
def _shape_table(height: int, width: int, config: tuple[tuple[str, Any], ...]) -> tuple[Stage, ...]:
    settings, table = dict(config), []
    with torch.device("meta"):
        UNet(**settings)._run(torch.empty(1, settings["in_channels"], height, width), table)
    return tuple(table)


def check_input_size(height: int, width: int, depth: int, padding: Padding) -> tuple[int, int]:
    """The output (H', W') for an input of height × width, or a ValueError naming the limit.

    "same": each side must be a multiple of 2^depth (every pooling halves it exactly).
    "valid": each 3×3 convolution takes 2 pixels off a side; the side must stay even
    before each pooling and at least 1 at the end.
    """
    return _output_side(height, depth, padding, "height"), _output_side(width, depth, padding, "width")


def _output_side(n: int, depth: int, padding: Padding, name: str) -> int:
    if padding == "same":
        step = 2**depth
        if n < step or n % step:
            raise UserError(
                f"With 'same' padding and depth {depth}, the image {name} must be a multiple of 2^{depth} = {step}; "
                f"{n} is not (try {max(step, round(n / step) * step)})."
            )
        return n
    side = _valid_output_side(n, depth)
    if side is None:
        raise UserError(
            f"With 'valid' padding and depth {depth}, an image {name} of {n} does not fit: every side must "
            "shrink to an even size before each pooling and stay at least 1. "
            f"The smallest that fits is {minimum_valid_input(depth)}."
        )
    return side


def _valid_output_side(n: int, depth: int) -> int | None:
    """The output side of a 'valid' U-Net for input side ``n``, or None if it does not fit."""
    for _ in range(depth):
        n -= 4  # two 3×3 convolutions
        if n < 2 or n % 2:
            return None
        n //= 2  # 2×2 max pool
    n -= 4  # bottleneck
    for _ in range(depth):
        if n < 1:
            return None
        n = 2 * n - 4  # 2×2 up-convolution, two 3×3 convolutions
    return n if n >= 1 else None


def minimum_valid_input(depth: int) -> int:
    """The smallest side a 'valid' U-Net of ``depth`` accepts."""
    return next(n for n in range(1, 10_000) if _valid_output_side(n, depth) is not None)


# -- inference ------------------------------------------------------------------------------------------


def u_levels(table: Sequence[Stage]) -> list[int]:
    """How far down the U each stage of a shape table sits: 0 at the top, one lower after
    each pooling, one higher after each upsampling (the output stays at the top)."""
    level, levels = 0, []
    for index, stage in enumerate(table):
        if stage.path in ("contracting", "bottleneck") and index > 0:
            level += 1
        elif stage.path == "expanding":
            level -= 1
        levels.append(level)
    return levels


def skip_connections(table: Sequence[Stage]) -> list[tuple[int, int]]:
    """(contracting stage, expanding stage) for every skip: the expanding stage takes the
    output of the contracting stage on its own level of the U."""
    levels = u_levels(table)
    return [
        (next(i for i, s in enumerate(table) if s.path == "contracting" and levels[i] == levels[index]), index)
        for index, stage in enumerate(table)
        if stage.skip_shape is not None
    ]


def predict_labels(model: UNet, image: np.ndarray, device: torch.device, side: int | None = None) -> np.ndarray:
    """(H, W, 3) uint8 image -> (H, W) uint8 class per pixel, for a 'same'-padding U-Net.

    With ``side`` the image is first resized so its longer side is ``side`` (the size the
    network was trained at, so shapes appear at the scale it learned) and the labels are
    scaled back (nearest). The input is padded (edge pixels repeated) up to a multiple of
    2^depth and the result cropped back.
    """
    return UNET_LABELS(model, image, device, side=side)


def predict_labels_batch(
    model: UNet, images: Sequence[np.ndarray], device: torch.device, options: Mapping[str, Any]
) -> list[np.ndarray]:
    """``predict_labels`` for images of one shape in one forward pass, ``options["side"]`` as its ``side``."""
    side = options.get("side")
    height, width = images[0].shape[:2]
    pixels = torch.from_numpy(np.stack([np.asarray(image, dtype=np.uint8) for image in images])).to(device)
    pixels = pixels.permute(0, 3, 1, 2).float().div(255)  # (B, 3, H, W)
    if side is not None:
        scale = side / max(height, width)
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        pixels = F.interpolate(pixels, size=size, mode="bilinear", antialias=True, align_corners=False)
    step = 2**model.depth
    inner_height, inner_width = pixels.shape[-2:]
    padded = F.pad(pixels, (0, -inner_width % step, 0, -inner_height % step), mode="replicate")  # (B, 3, H↑, W↑)
    with torch.inference_mode():
        labels = model(padded)[:, :, :inner_height, :inner_width].argmax(1, keepdim=True)  # (B, 1, h, w)
        if side is not None:
            labels = F.interpolate(labels.float(), size=(height, width), mode="nearest")
    return list(labels[:, 0].to(torch.uint8).cpu().numpy())


UNET_LABELS = ModelTask("unet-labels", predict_labels_batch)


# -- checkpoints -----------------------------------------------------------------------------------------


def save_checkpoint(model: UNet, path: Path) -> None:
    """The configuration and float16 weights (half the size; the scores are checked after loading)."""
    state = {key: value.half() if value.is_floating_point() else value for key, value in model.state_dict().items()}
    torch.save({"config": model.config, "state_dict": state}, path)


def checkpoint_manifest(path: Path) -> dict:
    """The manifest ``scripts/train_unet.py`` writes beside a checkpoint (command, seeds,
    configuration, scores on fresh images)."""
    import json

    return json.loads(Path(path).with_suffix(".json").read_text())


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> UNet:
    """A U-Net from ``save_checkpoint``'s file, in float32 and eval mode."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model = UNet(**checkpoint["config"])
    model.load_state_dict(
        {key: value.float() if value.is_floating_point() else value for key, value in checkpoint["state_dict"].items()}
    )
    return model.to(device).eval()
