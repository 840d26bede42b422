"""core.architectures.classify: the shipped LeNet-5 on held-out digits and on photos of digits, and the
ImageNet classification plumbing (one crop, ten crops, an ensemble) with an untrained
network in the cache: shapes and arithmetic, never predictions."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from PIL import Image

from core.architectures import classify
from core.architectures.digits import digit_split, digits
from core.runtime.errors import UserError
from core.runtime.weights import get_weights, load_pretrained
from tests.models import save_untrained_torchvision


def test_the_shipped_lenet_reaches_97_percent_on_digits_it_never_saw():
    entry = get_weights("lenet5_digits")
    manifest = json.loads(entry.cache_path().with_suffix(".json").read_text())
    assert hashlib.sha256(entry.cache_path().read_bytes()).hexdigest() == manifest["sha256"]
    assert entry.cache_path().stat().st_size < 1_000_000 and manifest["parameters"] == 61_706
    model = load_pretrained("lenet5_digits")
    accuracy = classify.held_out_accuracy(model)
    assert accuracy >= 0.97 and accuracy == pytest.approx(manifest["held_out_accuracy"], abs=1e-4)
    train, held_out = digit_split()
    assert not set(train.tolist()) & set(held_out.tolist()) and len(held_out) == 359


def photo_of(digit: torch.Tensor, side: int = 240) -> np.ndarray:
    """A held-out 8×8 digit as a photo: dark ink on light paper, large, off centre."""
    ink = (digit[0].numpy() * 255).astype(np.uint8)
    big = np.asarray(Image.fromarray(ink).resize((side // 2, side // 2), Image.Resampling.BILINEAR))
    page = np.zeros((side, side), np.uint8)
    page[20 : 20 + side // 2, 60 : 60 + side // 2] = big
    return np.repeat((255 - page)[:, :, None], 3, axis=2)


def test_photos_of_held_out_digits_are_read_like_the_digits_themselves():
    model = load_pretrained("lenet5_digits")
    images, labels = digits()
    _, held_out = digit_split()
    chosen = held_out[:40]
    read = [classify.classify_digit(model, classify.digit_from_photo(photo_of(images[i])))[0][0] for i in chosen]
    correct = [answer == str(int(labels[i])) for answer, i in zip(read, chosen)]
    assert sum(correct) >= 36  # 90 %: the photo is cut, scaled and inverted back to the digits' form


def test_a_blank_photo_holds_no_digit():
    with pytest.raises(UserError, match="No digit found"):
        classify.digit_from_photo(np.full((50, 50, 3), 200, np.uint8))


def test_imagenet_plumbing_one_crop_ten_crops_and_an_ensemble(caches):
    from core.runtime.examples import example_image

    torch.manual_seed(0)
    save_untrained_torchvision("mobilenet_v3_small")
    entry = get_weights("mobilenet_v3_small")
    model = load_pretrained(entry.name)
    image = example_image("chelsea")
    one = classify.classify(model, entry.pretrained_tag, image, "cpu")
    ten = classify.classify(model, entry.pretrained_tag, image, "cpu", ten_crop=True)
    assert (one.crops, ten.crops) == (1, 10) and one.probabilities.shape == (1000,)
    assert one.probabilities.sum().item() == pytest.approx(1.0, abs=1e-4)
    assert [probability for _, probability in one.top] == sorted((p for _, p in one.top), reverse=True)
    assert one.top[0][1] == pytest.approx(one.probabilities.max().item())
    categories = [name for name, _ in one.top]
    from torchvision.models import get_weight

    names = get_weight(entry.pretrained_tag).meta["categories"]
    assert all(name in names for name in categories)
    mixed = classify.ensemble([one, ten], names)
    expected = (one.probabilities + ten.probabilities) / 2
    assert mixed[0][1] == pytest.approx(expected.max().item())
    with pytest.raises(UserError, match="at least one network"):
        classify.ensemble([], names)


def test_an_ensemble_costs_the_sum_of_its_networks_times_the_crops_in_units_of_the_first():
    from core.architectures import registry as arch

    resnet, mobilenet = (arch.architecture_stats(name).macs for name in ("resnet18", "mobilenet_v3_large"))
    assert classify.ensemble_cost(["resnet18"]) == 1.0
    assert classify.ensemble_cost(["resnet18", "mobilenet_v3_large"], 10) == pytest.approx(
        10 * (resnet + mobilenet) / resnet
    )


def test_imagenet_categories_come_from_the_weights_metadata():
    categories = classify.imagenet_categories("ResNet18_Weights.IMAGENET1K_V1")
    assert len(categories) == 1000 and categories[0] == "tench"
