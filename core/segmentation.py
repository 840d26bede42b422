"""Semantic segmentation with U-Net (course week 3): the network, its shape table, the
transposed convolution step by step, per-pixel metrics, and training as a generator.

Paper: Ronneberger, Fischer & Brox 2015, "U-Net: Convolutional Networks for Biomedical
Image Segmentation". The contracting path repeats two 3×3 convolutions and a 2×2 max
pool, doubling the channels; the expanding path upsamples (a 2×2 transposed convolution
halving the channels, or bilinear upsampling and a 1×1 convolution), concatenates the skip
connection from the same level (cropped to size with "valid" padding), and applies two 3×3
convolutions; a 1×1 convolution maps to the classes. Batch normalization follows each
3×3 convolution (not in the paper; it lets the small networks here train in seconds).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import UserError

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
    fit raises ValueError naming the limit."""
    check_input_size(height, width, config.get("depth", 4), config.get("padding", "same"))
    table: list[Stage] = []
    with torch.device("meta"):
        UNet(**config)._run(torch.empty(1, config["in_channels"], height, width), table)
    return table


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
    from core.conv import transposed_output_size

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


# -- metrics -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentationScores:
    """Per-pixel scores against a ground truth; per-class values are NaN for a class that
    appears in neither the prediction nor the truth."""

    pixel_accuracy: float
    iou: np.ndarray  # (C,)
    dice: np.ndarray  # (C,)

    @property
    def mean_iou(self) -> float:
        return float(np.nanmean(self.iou)) if not np.isnan(self.iou).all() else float("nan")


def confusion_matrix(predicted: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(C, C) counts: row = true class, column = predicted class."""
    index = target.reshape(-1).long() * num_classes + predicted.reshape(-1).long()
    return torch.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


def scores_from_confusion(confusion: torch.Tensor | np.ndarray) -> SegmentationScores:
    """Pixel accuracy, IoU = TP / (TP + FP + FN) and Dice = 2TP / (2TP + FP + FN) per class."""
    confusion = np.asarray(confusion, dtype=float)
    true_positive = np.diag(confusion)
    false_positive, false_negative = confusion.sum(0) - true_positive, confusion.sum(1) - true_positive
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = true_positive / (true_positive + false_positive + false_negative)
        dice = 2 * true_positive / (2 * true_positive + false_positive + false_negative)
    return SegmentationScores(float(true_positive.sum() / confusion.sum()), iou, dice)


def segmentation_scores(predicted: np.ndarray, target: np.ndarray, num_classes: int) -> SegmentationScores:
    """Scores of a predicted (H, W) label map against the true one; a ValueError explains a mismatch."""
    predicted, target = np.asarray(predicted), np.asarray(target)
    if predicted.shape != target.shape:
        raise UserError(
            f"The mask is {target.shape[1]}×{target.shape[0]} but the prediction is "
            f"{predicted.shape[1]}×{predicted.shape[0]}; they must be the same size."
        )
    unknown = sorted(set(np.unique(target).tolist()) - set(range(num_classes)))
    if unknown:
        raise UserError(
            f"The mask has label(s) {', '.join(map(str, unknown[:8]))} outside 0…{num_classes - 1}; "
            "use one value per pixel: "
            + ", ".join(f"{i} = {name}" for i, name in enumerate(_class_names(num_classes)))
            + "."
        )
    return scores_from_confusion(confusion_matrix(torch.tensor(predicted), torch.tensor(target), num_classes))


def _class_names(num_classes: int) -> list[str]:
    from core.shapes import CLASSES

    return list(CLASSES) if num_classes == len(CLASSES) else [f"class {i}" for i in range(num_classes)]


# -- inference ------------------------------------------------------------------------------------------


def predict_labels(model: UNet, image: np.ndarray, device: torch.device, side: int | None = None) -> np.ndarray:
    """(H, W, 3) uint8 image -> (H, W) uint8 class per pixel, for a 'same'-padding U-Net.

    With ``side`` the image is first resized so its longer side is ``side`` (the size the
    network was trained at, so shapes appear at the scale it learned) and the labels are
    scaled back (nearest). The input is padded (edge pixels repeated) up to a multiple of
    2^depth and the result cropped back.
    """
    height, width = image.shape[:2]
    pixels = torch.tensor(np.asarray(image, dtype=np.uint8)).to(device).permute(2, 0, 1).float().div(255)[None]
    if side is not None:
        scale = side / max(height, width)
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        pixels = F.interpolate(pixels, size=size, mode="bilinear", antialias=True, align_corners=False)
    step = 2**model.depth
    inner_height, inner_width = pixels.shape[-2:]
    padded = F.pad(pixels, (0, -inner_width % step, 0, -inner_height % step), mode="replicate")  # (1, 3, H↑, W↑)
    with torch.inference_mode():
        labels = model(padded)[:, :, :inner_height, :inner_width].argmax(1, keepdim=True)  # (1, 1, h, w)
        if side is not None:
            labels = F.interpolate(labels.float(), size=(height, width), mode="nearest")
    return labels[0, 0].to(torch.uint8).cpu().numpy()


# -- training --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingConfig:
    """What a training run uses; the defaults are the in-app quick training."""

    epochs: int = 12
    learning_rate: float = 5e-3
    batch_size: int = 16
    image_size: int = 48
    train_images: int = 600
    validation_images: int = 64
    base_channels: int = 16
    depth: int = 3
    data_seed: int = 0
    init_seed: int = 0


@dataclass(frozen=True)
class Progress:
    """One report from ``train``: after a step, or after an epoch with validation scores."""

    epoch: int  # 1-based
    step: int  # optimizer steps so far
    total_steps: int
    loss: float  # mean loss of the last step
    elapsed_s: float
    validation: SegmentationScores | None = None


@dataclass
class TrainingData:
    """Training and validation tensors made from ``core.shapes`` with a seed."""

    images: torch.Tensor  # (N, 3, S, S) float in [0, 1]
    labels: torch.Tensor  # (N, S, S) int64
    validation_images: torch.Tensor
    validation_labels: torch.Tensor

    @classmethod
    def make(cls, config: TrainingConfig) -> TrainingData:
        from core.shapes import make_set

        def tensors(seed: int, count: int) -> tuple[torch.Tensor, torch.Tensor]:
            images, labels = make_set(seed, count, config.image_size)
            return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255), torch.from_numpy(labels).long()

        # validation uses another seed: images the network never trains on
        return cls(
            *tensors(config.data_seed, config.train_images),
            *tensors(config.data_seed + 10_000, config.validation_images),
        )


def new_model(config: TrainingConfig, num_classes: int = 4) -> UNet:
    torch.manual_seed(config.init_seed)
    return UNet(3, num_classes, config.base_channels, config.depth)


def evaluate(
    model: UNet, images: torch.Tensor, labels: torch.Tensor, device: torch.device, batch_size: int = 32
) -> SegmentationScores:
    """Scores of ``model`` over a whole labelled set."""
    num_classes = model.config["num_classes"]
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            predicted = model(images[start : start + batch_size].to(device)).argmax(1).cpu()
            confusion += confusion_matrix(predicted, labels[start : start + batch_size], num_classes)
    model.train(was_training)
    return scores_from_confusion(confusion)


def segmentation_loss(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy plus soft Dice loss (1 − mean Dice over classes, Milletari et al. 2016,
    "V-Net"): the Dice term weighs every class alike, so small shapes are not drowned by
    the background. ``scores`` (B, C, H, W), ``labels`` (B, H, W)."""
    probabilities = scores.softmax(1)
    one_hot = F.one_hot(labels, scores.shape[1]).permute(0, 3, 1, 2).float()  # (B, C, H, W)
    overlap = (probabilities * one_hot).sum((0, 2, 3))
    dice = (2 * overlap + 1) / (probabilities.sum((0, 2, 3)) + one_hot.sum((0, 2, 3)) + 1)
    return F.cross_entropy(scores, labels) + 1 - dice.mean()


def train(
    model: UNet, data: TrainingData, config: TrainingConfig, device: torch.device, report_every: int = 5
) -> Iterator[Progress]:
    """Train ``model`` in place with Adam and a cosine learning-rate schedule, yielding
    progress every ``report_every`` steps and validation scores after each epoch. The
    caller may stop iterating at any time; the model keeps what it has learned so far."""
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    steps_per_epoch = -(-len(data.images) // config.batch_size)
    total = steps_per_epoch * config.epochs
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.learning_rate, total_steps=total)
    order = torch.Generator().manual_seed(config.data_seed)
    started, step = time.perf_counter(), 0
    for epoch in range(1, config.epochs + 1):
        for batch in torch.randperm(len(data.images), generator=order).split(config.batch_size):
            loss = segmentation_loss(model(data.images[batch].to(device)), data.labels[batch].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            if step % report_every == 0:
                yield Progress(epoch, step, total, loss.item(), time.perf_counter() - started)
        validation = evaluate(model, data.validation_images, data.validation_labels, device)
        yield Progress(epoch, step, total, loss.item(), time.perf_counter() - started, validation)
    model.eval()


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


def load_mask(data: bytes, num_classes: int, colors: tuple[tuple[int, int, int], ...] | None = None) -> np.ndarray:
    """A ground-truth mask file -> (H, W) uint8 labels.

    A gray or palette PNG holds the class number per pixel; an RGB one uses the legend
    ``colors``. Anything else raises ValueError with what is expected.
    """
    import io

    from PIL import Image, UnidentifiedImageError

    expected = (
        f"Expected a PNG with one class number (0…{num_classes - 1}) per pixel, or an RGB PNG in the legend colours."
    )
    if not data:
        raise UserError("The mask file is empty. " + expected)
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as picture:
            picture.load()
            if picture.mode in ("L", "P", "I", "I;16"):  # class numbers (palette indices for "P")
                return np.asarray(picture, dtype=np.int64).clip(0, 255).astype(np.uint8)
            rgb = np.asarray(picture.convert("RGB"))
    except (UnidentifiedImageError, OSError) as error:
        raise UserError("The mask is not a readable image. " + expected) from error
    labels = np.full(rgb.shape[:2], 255, np.uint8)
    for index, color in enumerate(colors or ()):
        labels[(rgb == color).all(axis=2)] = index
    if (labels == 255).any():
        unknown = tuple(int(channel) for channel in rgb[labels == 255][0])
        raise UserError(f"The mask has the colour {unknown}, which is not in the legend. " + expected)
    return labels


# -- pretrained semantic segmentation (torchvision) -------------------------------------------------------------


@dataclass(frozen=True)
class SemanticResult:
    """A torchvision segmenter's labels for one photo, and its drawing by torchvision."""

    labels: np.ndarray  # (H, W) category index
    categories: tuple[str, ...]
    overlay: np.ndarray  # (H, W, 3) uint8, masks drawn by draw_segmentation_masks

    @property
    def shares(self) -> dict[str, float]:
        """Fraction of the pixels per category found, largest first, background excluded."""
        counts = np.bincount(self.labels.ravel(), minlength=len(self.categories)) / self.labels.size
        return {self.categories[i]: float(counts[i]) for i in np.argsort(-counts) if counts[i] > 0 and i > 0}


def segment_with_torchvision(
    model: nn.Module, weights_tag: str, image: np.ndarray, device: torch.device
) -> SemanticResult:
    """Run a torchvision segmentation model (DeepLabV3, LRASPP; on ``device``, eval mode) on an
    (H, W, 3) uint8 photo with its weights' own preprocessing; labels at the photo's size."""
    from torchvision.models import get_weight
    from torchvision.utils import draw_segmentation_masks

    from core.device import device_lock

    chosen = get_weight(weights_tag)
    categories = tuple(chosen.meta["categories"])
    pixels = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)  # (3, H, W)
    with device_lock(device), torch.inference_mode():
        scores = model(chosen.transforms()(pixels)[None].to(device))["out"]  # (1, K, h, w)
        labels = F.interpolate(scores, size=image.shape[:2], mode="bilinear", align_corners=False).argmax(1)[0].cpu()
    masks = labels[None] == torch.arange(1, len(categories))[:, None, None]  # (K − 1, H, W), background left out
    overlay = draw_segmentation_masks(pixels, masks, alpha=0.5).permute(1, 2, 0).numpy()
    return SemanticResult(labels.numpy().astype(np.int64), categories, overlay)
