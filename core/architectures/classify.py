"""Classifying an image with ImageNet networks (course week 2, "Using Open-Source
Implementation", "Transfer Learning" and the test-time tricks of "State of Computer
Vision": ensembling and multi-crop at test time), and LeNet-5 on handwritten digits, which
CNN Lab trains itself on scikit-learn's bundled set so that classification works offline.

Each torchvision network is fed with its weights' own preprocessing (resize, centre crop,
normalization; Inception v3 at 299 px). 10-crop takes the four corners and the centre at
the crop size, and their mirror images, and averages the ten softmaxes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.architectures.digits import digit_split, digits
from core.architectures.registry import LeNet5
from core.runtime.device import device_lock
from core.runtime.errors import UserError
from core.runtime.inference import ModelTask, any_shape

TOP = 5


@dataclass(frozen=True)
class Prediction:
    """One network's answer: the ``TOP`` classes with their probabilities, all 1000
    probabilities (to ensemble), the crops averaged, and the seconds the forward pass took."""

    top: tuple[tuple[str, float], ...]
    probabilities: torch.Tensor  # (classes,)
    crops: int
    seconds: float


def _top(probabilities: torch.Tensor, categories: Sequence[str], count: int = TOP) -> tuple[tuple[str, float], ...]:
    values, indices = probabilities.topk(min(count, len(categories)))
    return tuple((categories[int(index)], float(value)) for value, index in zip(values, indices))


def classify(
    model: nn.Module, weights_tag: str, image: np.ndarray, device: torch.device | str, ten_crop: bool = False
) -> Prediction:
    """Top-5 of ``model`` (eval mode, on ``device``) for an (H, W, 3) uint8 photo, with one
    centre crop or ten crops averaged."""
    return IMAGENET_CLASSIFICATION(model, image, torch.device(device), weights_tag=weights_tag, ten_crop=ten_crop)


def classify_batch(
    model: nn.Module, images: Sequence[np.ndarray], device: torch.device, options: Mapping[str, Any]
) -> list[Prediction]:
    """``classify`` for several photos in one forward pass: each photo's crops (one, or ten
    with ``options["ten_crop"]``) at the weights' crop size, all stacked."""
    from torchvision.models import get_weight

    weights = get_weight(options["weights_tag"])
    batches = [_crops(image, weights.transforms(), options.get("ten_crop", False)) for image in images]
    with device_lock(device), torch.inference_mode():
        started = time.perf_counter()
        probabilities = model(torch.cat(batches).to(device)).softmax(dim=1).float().cpu()  # (crops, classes)
        seconds = time.perf_counter() - started
    answers = []
    for part in probabilities.split([len(batch) for batch in batches]):
        mean = part.mean(dim=0)  # own storage: no prediction carries another photo's
        answers.append(Prediction(_top(mean, weights.meta["categories"]), mean, len(part), seconds))
    return answers


def _crops(image: np.ndarray, preprocess: Any, ten_crop: bool) -> torch.Tensor:
    """The network's input for one photo: (1, 3, h, w) centre crop, or (10, 3, h, w)."""
    from torchvision.transforms import v2

    pixels = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)  # (3, H, W)
    if not ten_crop:
        return preprocess(pixels)[None]
    resized = v2.functional.resize(pixels, preprocess.resize_size, antialias=True)
    crops = torch.stack(v2.functional.ten_crop(resized, preprocess.crop_size))  # (10, 3, h, w)
    return v2.functional.normalize(crops.float() / 255, preprocess.mean, preprocess.std)


IMAGENET_CLASSIFICATION = ModelTask("imagenet-classification", classify_batch, batch_key=any_shape)


def ensemble(predictions: Sequence[Prediction], categories: Sequence[str]) -> tuple[tuple[str, float], ...]:
    """The ensemble's top-5: the mean of the networks' probabilities."""
    if not predictions:
        raise UserError("Choose at least one network to ensemble.")
    return _top(torch.stack([prediction.probabilities for prediction in predictions]).mean(dim=0), categories)


def imagenet_categories(weights_tag: str) -> list[str]:
    """The 1,000 class names of a torchvision ImageNet weights enum value, from its metadata."""
    from torchvision.models import get_weight

    return get_weight(weights_tag).meta["categories"]


def ensemble_cost(names: Sequence[str], crops: int = 1) -> float:
    """What an ensemble of ``names`` on ``crops`` crops costs, in MACs, as a multiple of the
    first network on one crop (the course: ensembles and multi-crop cost compute at test time)."""
    from core.architectures.registry import architecture_stats

    return sum(architecture_stats(name).macs for name in names) * crops / architecture_stats(names[0]).macs


# -- LeNet-5 on handwritten digits ----------------------------------------------------------------------------

DIGIT_SIDE = 32  # LeNet-5's input; scikit-learn's 8×8 digits are scaled up to it


def to_lenet_input(images: torch.Tensor) -> torch.Tensor:
    """(N, 1, 8, 8) digits in [0, 1] -> (N, 1, 32, 32), bilinearly scaled."""
    return F.interpolate(images, size=(DIGIT_SIDE, DIGIT_SIDE), mode="bilinear", align_corners=False)


def train_lenet(epochs: int = 40, learning_rate: float = 2e-3, seed: int = 0) -> LeNet5:
    """LeNet-5 trained with Adam on the training digits (small random shifts each epoch)."""
    images, labels = digits()
    train, _ = digit_split()
    inputs = to_lenet_input(images[train])
    torch.manual_seed(seed)
    model = LeNet5()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    order = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(train), generator=order).split(64):
            shift = tuple(int(v) for v in torch.randint(-2, 3, (2,), generator=order))
            loss = F.cross_entropy(model(torch.roll(inputs[batch], shift, dims=(2, 3))), labels[train][batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return model.eval()


def held_out_accuracy(model: nn.Module) -> float:
    """Accuracy on the held-out fifth of the digits, which training never sees."""
    images, labels = digits()
    _, held_out = digit_split()
    with torch.inference_mode():
        predicted = model(to_lenet_input(images[held_out])).argmax(1)
    return float((predicted == labels[held_out]).float().mean())


def save_lenet(model: LeNet5, path: Path, manifest: dict) -> None:
    """The weights (state dict) and, beside them, the manifest with the file's SHA-256."""
    torch.save(model.state_dict(), path)
    manifest = {**manifest, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "size_bytes": path.stat().st_size}
    path.with_suffix(".json").write_text(json.dumps(manifest, indent=2) + "\n")


def lenet_manifest(path: Path) -> dict:
    """The manifest saved beside the checkpoint at ``path`` (``save_lenet``)."""
    return json.loads(path.with_suffix(".json").read_text())


def load_lenet(path: Path) -> LeNet5:
    model = LeNet5()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def digit_from_photo(image: np.ndarray) -> torch.Tensor:
    """A photo of one handwritten digit -> LeNet-5's (1, 1, 32, 32) input (``digit_8x8``, then up)."""
    return to_lenet_input(digit_8x8(image)[None, None])


def digit_8x8(image: np.ndarray) -> torch.Tensor:
    """A photo of one handwritten digit -> (8, 8) in [0, 1], made to look like the training
    digits: gray, bright strokes on black (inverted when the paper is light), cut to the
    ink's bounding box, centred in a square as tall as the ink (every training digit spans
    all eight rows), scaled to 8×8."""
    gray = torch.from_numpy(np.asarray(image, dtype=np.float32).mean(axis=2) / 255.0)  # (H, W)
    if gray.mean() > 0.5:
        gray = 1.0 - gray
    ink = gray > max(0.25, float(gray.max()) * 0.5)
    if not bool(ink.any()):
        raise UserError("No digit found: the photo has no strokes darker or lighter than its background.")
    rows, columns = torch.nonzero(ink, as_tuple=True)
    crop = gray[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    side = max(crop.shape)
    square = torch.zeros(side, side)
    top, left = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
    square[top : top + crop.shape[0], left : left + crop.shape[1]] = crop
    small = F.interpolate(square[None, None], size=(8, 8), mode="area")[0, 0]
    return small / small.max().clamp_min(1e-6)


MIN_DIGIT_SIDE = 8  # the training digits are 8×8 averages of 32×32 scans
MAX_CHROMA = 0.1  # mean (max − min of R, G, B) of ink on paper, as a share of 255
UNSURE_BELOW = 0.5  # a top probability under this is LeNet-5 hesitating


def digit_photo_doubts(image: np.ndarray, probabilities: Sequence[float]) -> list[str]:
    """Why LeNet-5's answer for ``image`` is no reading of a digit, one sentence a reason;
    empty when the photo looks like the digits it learned. Checked: the photo's size, its
    colour, how far its 8×8 version is from every training digit (against the held-out
    digits' own distances), and the spread of the probabilities."""
    doubts = []
    height, width = image.shape[:2]
    if min(height, width) < MIN_DIGIT_SIDE:
        doubts.append(
            f"The photo is {width}×{height} pixels; the training digits are 8×8 averages of 32×32 scans, "
            "so this input is mostly made up by scaling."
        )
    pixels = np.asarray(image, dtype=np.float32)
    chroma = float((pixels.max(axis=2) - pixels.min(axis=2)).mean() / 255.0)
    if chroma > MAX_CHROMA:
        doubts.append(f"The photo is in colour (mean chroma {chroma:.0%}); the digits were dark ink on light paper.")
    distance, typical = nearest_digit_distance(digit_8x8(image)), held_out_digit_distance()
    if distance > typical:
        doubts.append(
            f"Its 8×8 version is farther from every training digit ({distance:.2f}) than 99 % of the "
            f"held-out digits are ({typical:.2f}): it does not look like a digit LeNet-5 has seen."
        )
    top = max(probabilities)
    if top < UNSURE_BELOW:
        doubts.append(f"LeNet-5 is unsure: its most likely digit has a probability of only {top:.0%}.")
    return doubts


def nearest_digit_distance(small: torch.Tensor) -> float:
    """The Euclidean distance from an (8, 8) digit to the nearest training digit."""
    images, _ = digits()
    train, _ = digit_split()
    return float((images[train].flatten(1) - small.flatten()).norm(dim=1).min())


@functools.cache
def held_out_digit_distance(quantile: float = 0.99) -> float:
    """How far from their nearest training digit the held-out digits lie: this quantile."""
    images, _ = digits()
    train, held_out = digit_split()
    distances = torch.cdist(images[held_out].flatten(1), images[train].flatten(1)).min(dim=1).values
    return float(distances.quantile(quantile))


def classify_digit(model: nn.Module, digit: torch.Tensor) -> tuple[tuple[str, float], ...]:
    """The top 3 digits for a (1, 1, 32, 32) input."""
    with torch.inference_mode():
        probabilities = model(digit).softmax(dim=1)[0]
    return _top(probabilities, [str(d) for d in range(10)], 3)
