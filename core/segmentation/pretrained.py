"""Semantic segmentation of photos by a pretrained torchvision network (DeepLabV3 and its
kin), with the weights' own preprocessing and torchvision's drawing of the masks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.runtime.inference import ModelTask

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
    return SEMANTIC_SEGMENTATION(model, image, device, weights_tag=weights_tag)


def segment_batch(
    model: nn.Module, images: Sequence[np.ndarray], device: torch.device, options: Mapping[str, Any]
) -> list[SemanticResult]:
    """``segment_with_torchvision`` for photos of one shape in one forward pass."""
    from torchvision.models import get_weight
    from torchvision.utils import draw_segmentation_masks

    from core.runtime.device import device_lock

    chosen = get_weight(options["weights_tag"])
    categories = tuple(chosen.meta["categories"])
    pixels = [torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1) for image in images]  # (3, H, W)
    height, width = images[0].shape[:2]
    with device_lock(device), torch.inference_mode():
        batch = torch.stack([chosen.transforms()(photo) for photo in pixels]).to(device)  # (B, 3, h, w)
        scores = model(batch)["out"]  # (B, K, h, w)
        labels = F.interpolate(scores, size=(height, width), mode="bilinear", align_corners=False).argmax(1).cpu()
    results = []
    for photo, found in zip(pixels, labels):
        masks = found[None] == torch.arange(1, len(categories))[:, None, None]  # (K − 1, H, W), background left out
        overlay = draw_segmentation_masks(photo, masks, alpha=0.5).permute(1, 2, 0).numpy()
        results.append(SemanticResult(found.numpy().astype(np.int64), categories, overlay))
    return results


SEMANTIC_SEGMENTATION = ModelTask("semantic-segmentation", segment_batch)
