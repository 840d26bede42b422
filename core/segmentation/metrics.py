"""Per-pixel scores of a segmentation against a ground truth: pixel accuracy, IoU and Dice
per class from one confusion matrix, and ground-truth masks read from files (class
numbers, or the legend's colours).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.runtime.errors import UserError

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
    from core.segmentation.shapes import CLASSES

    return list(CLASSES) if num_classes == len(CLASSES) else [f"class {i}" for i in range(num_classes)]


def load_mask(data: bytes, num_classes: int, colors: tuple[tuple[int, int, int], ...] | None = None) -> np.ndarray:
    """A ground-truth mask file -> (H, W) uint8 labels.

    A gray or palette PNG holds the class number per pixel; an RGB one uses the legend
    ``colors``. Anything else raises ValueError with what is expected.
    """
    import io
    import warnings

    from PIL import Image, UnidentifiedImageError

    from core.runtime.images import MAX_PIXELS_ENV_VAR, max_pixels

    expected = (
        f"Expected a PNG with one class number (0…{num_classes - 1}) per pixel, or an RGB PNG in the legend colours."
    )
    if not data:
        raise UserError("The mask file is empty. " + expected)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked below
            picture = Image.open(io.BytesIO(data), formats=["PNG"])
        with picture:
            width, height = picture.size  # from the header: a huge mask is refused before decoding
            if width * height > max_pixels():
                raise UserError(
                    f"The mask is {width}×{height} pixels; masks, like images, are read up to "
                    f"{max_pixels() / 1e6:,.0f} megapixels ({MAX_PIXELS_ENV_VAR})."
                )
            picture.load()
            if picture.mode in ("L", "P"):  # class numbers (palette indices for "P")
                return np.array(picture, dtype=np.uint8)
            if picture.mode in ("I", "I;16"):
                return np.asarray(picture).clip(0, 255).astype(np.uint8)
            rgb = np.asarray(picture.convert("RGB"))
    except Image.DecompressionBombError:
        raise UserError(
            f"The mask has more than {max_pixels() / 1e6:,.0f} megapixels, the most read ({MAX_PIXELS_ENV_VAR})."
        ) from None
    except (UnidentifiedImageError, OSError) as error:
        raise UserError("The mask is not a readable image. " + expected) from error
    labels = np.full(rgb.shape[:2], 255, np.uint8)
    for index, color in enumerate(colors or ()):
        labels[(rgb == color).all(axis=2)] = index
    if (labels == 255).any():
        unknown = tuple(int(channel) for channel in rgb[labels == 255][0])
        raise UserError(f"The mask has the colour {unknown}, which is not in the legend. " + expected)
    return labels
