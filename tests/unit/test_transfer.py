"""core.transfer.regimes and core.transfer.augment: the regimes on an untrained backbone (plumbing: what is
frozen gets no gradient, regime (a) runs the backbone once), the user's photo set and its
refusals, the exported model, the offline digit experiment (behaviour), and the PCA colour
shift written out."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch

from core.runtime.errors import UserError
from core.runtime.examples import example_image
from core.runtime.images import fit_within
from core.runtime.weights import load_pretrained
from core.transfer import augment
from core.transfer import regimes as transfer
from tests.images import encode


def photo_set(classes: int = 2, each: int = 6) -> transfer.PhotoSet:
    names = ["cat", "coffee", "rocket"][:classes]
    photos = transfer.PhotoSet()
    for name in names:
        transfer.PhotoSet.add_class(photos, name)
        base = fit_within(example_image({"cat": "chelsea"}.get(name, name)), 96)
        photos.add_photos(name, [np.roll(base, shift, axis=1) for shift in range(each)])
    return photos


@pytest.fixture(scope="module")
def untrained_resnet():
    from torchvision.models import resnet18

    torch.manual_seed(0)
    return resnet18().eval()


def test_each_regime_freezes_what_it_says(untrained_resnet):
    backbone = transfer.BACKBONES["resnet18"]
    network = transfer.transfer_net(backbone, untrained_resnet, num_classes=2)
    assert len(network.blocks) == 5 and network.head.in_features == 512
    for frozen in (5, 3, 0):
        network.freeze(frozen)
        network.zero_grad(set_to_none=True)
        network.train()
        torch.nn.functional.cross_entropy(network(torch.randn(2, 3, 64, 64)), torch.tensor([0, 1])).backward()
        for index, block in enumerate(network.blocks):
            grads = [p.grad for p in block.parameters()]
            assert all(g is None for g in grads) if index < frozen else all(g is not None for g in grads)
            assert block.training == (index >= frozen)  # frozen blocks keep their batch-norm statistics
        assert network.head.weight.grad is not None
    assert all(p.grad is None for p in untrained_resnet.parameters())  # the shared model is a copy's source only


def test_regime_a_runs_the_frozen_backbone_once(untrained_resnet, monkeypatch):
    photos = photo_set()
    training, validation = transfer.split(photos)
    calls = []
    real = transfer.TransferNet.features
    monkeypatch.setattr(transfer.TransferNet, "features", lambda self, x: calls.append(len(x)) or real(self, x))
    settings = transfer.TrainingSettings(regimes=("head",), epochs=4)
    reports = [
        p
        for p, _ in transfer.train_regimes(
            transfer.BACKBONES["resnet18"], untrained_resnet, training, validation, 2, settings
        )
    ]
    assert [r.epoch for r in reports] == [1, 2, 3, 4] and calls == [len(training), len(validation)]
    assert reports[-1].confusion.sum() == len(validation) and reports[0].confusion is None


def test_every_regime_trains_and_reports(untrained_resnet):
    photos = photo_set()
    training, validation = transfer.split(photos)
    settings = transfer.TrainingSettings(epochs=1, frozen_blocks=3)
    seen = [
        p.regime
        for p, _ in transfer.train_regimes(
            transfer.BACKBONES["resnet18"], untrained_resnet, training, validation, 2, settings
        )
    ]
    assert seen == list(transfer.REGIMES)
    with pytest.raises(UserError, match="k must lie between 0 and 5"):
        next(
            transfer.train_regimes(
                transfer.BACKBONES["resnet18"],
                untrained_resnet,
                training,
                validation,
                2,
                transfer.TrainingSettings(regimes=("partial",), frozen_blocks=9),
            )
        )
    with pytest.raises(UserError, match="only \\(d\\) can run"):
        next(transfer.train_regimes(transfer.BACKBONES["resnet18"], None, training, validation, 2, settings))


def test_augmentation_draws_new_training_inputs_every_epoch_except_for_cached_features(untrained_resnet, monkeypatch):
    photos = photo_set()
    training, validation = transfer.split(photos)
    seen = []

    def mirror(pixels: torch.Tensor) -> torch.Tensor:  # (3, side, side) uint8, as the page's augmenter gets them
        seen.append(pixels.clone())
        return pixels.flip(-1)

    inputs = []
    real = transfer.TransferNet.forward
    monkeypatch.setattr(transfer.TransferNet, "forward", lambda self, x: inputs.append(x) or real(self, x))
    settings = transfer.TrainingSettings(regimes=("head", "scratch"), epochs=2, batch_size=64)
    list(
        transfer.train_regimes(
            transfer.BACKBONES["resnet18"], untrained_resnet, training, validation, 2, settings, augment=mirror
        )
    )
    assert len(seen) == 2 * len(training)  # (d) only: each training photo, every epoch; (a) trains on cached features
    assert all(pixels.dtype == torch.uint8 and pixels.shape == (3, 224, 224) for pixels in seen)
    plain = transfer.to_batch([image for image, _ in training], transfer.BACKBONES["resnet18"])
    trained_on = next(x for x in inputs if len(x) == len(training))  # the first training batch of (d)
    torch.testing.assert_close(trained_on.sort(0).values, plain.flip(-1).sort(0).values, atol=0.05, rtol=0)


def test_the_exported_model_loads_with_weights_only(untrained_resnet):
    network = transfer.transfer_net(transfer.BACKBONES["resnet18"], untrained_resnet, 2)
    data = transfer.export_model(network, ["cat", "coffee"], transfer.BACKBONES["resnet18"], "head")
    loaded = torch.load(io.BytesIO(data), weights_only=True)
    assert loaded["classes"] == ["cat", "coffee"] and loaded["transforms"]["resize"] == [224, 224]
    again = transfer.transfer_net(transfer.BACKBONES["resnet18"], None, 2)
    again.load_state_dict(loaded["state_dict"])
    image = torch.randn(1, 3, 64, 64)
    torch.testing.assert_close(again.eval()(image), network.eval()(image))


def test_the_photo_set_refuses_what_cannot_be_trained():
    photos = transfer.PhotoSet()
    with pytest.raises(UserError, match="Give the class a name"):
        photos.add_class("  ")
    photos.add_class("Tigger")
    with pytest.raises(UserError, match="already a class named 'tigger'"):
        photos.add_class(" tigger ")
    with pytest.raises(UserError, match="at least two classes"):
        photos.check_trainable()
    photos.add_class("Misty")
    photos.add_photos("Tigger", [np.zeros((8, 8, 3), np.uint8)] * 5)
    photos.add_photos("Misty", [np.zeros((8, 8, 3), np.uint8)])
    with pytest.raises(UserError, match="Class 'Misty' has 1 photo; give every class at least 5"):
        transfer.split(photos)
    assert photos.add_photos("Misty", [np.zeros((8, 8, 3), np.uint8)] * 80) == 49  # 50 a class
    with pytest.raises(UserError, match="at most 50 photos"):
        photos.add_photos("Misty", [np.zeros((8, 8, 3), np.uint8)])


def test_export_and_import_of_a_photo_set_skip_files_that_are_not_images():
    photos = photo_set(each=5)
    data = photos.export()
    again, skipped = transfer.PhotoSet.from_export(data)
    assert again.classes == ["cat", "coffee"] and skipped == []
    assert all(np.array_equal(a, b) for a, b in zip(again.photos["cat"], photos.photos["cat"]))
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("0_cat/notes.txt", b"not a picture")
    again, skipped = transfer.PhotoSet.from_export(buffer.getvalue())
    assert len(again.photos["cat"]) == 5 and len(skipped) == 1 and skipped[0].startswith("0_cat/notes.txt:")
    with pytest.raises(UserError, match="not a zip"):
        transfer.PhotoSet.from_export(encode(__import__("PIL.Image", fromlist=["Image"]).new("RGB", (4, 4)), "PNG"))
    buffer = io.BytesIO(data)  # 30 MB of zeros in a few kilobytes, and a class that differs only in case
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("0_cat/bomb.png", bytes(30 * 2**20))
        archive.writestr("2_CAT/000.png", encode(__import__("PIL.Image", fromlist=["Image"]).new("RGB", (8, 8)), "PNG"))
    assert len(buffer.getvalue()) < 200_000
    again, skipped = transfer.PhotoSet.from_export(buffer.getvalue())
    assert again.classes == ["cat", "coffee"] and len(again.photos["cat"]) == 5
    assert skipped == [
        "0_cat/bomb.png: it unpacks to more than 20 MB",
        "2_CAT/000.png: There is already a class named 'CAT'; pick another name.",
    ]


def test_the_pretrained_digit_backbone_transfers_to_unseen_digits_by_a_clear_margin():
    result = transfer.offline_experiment(load_pretrained("digits_0to4"), shots=5, seed=0)
    assert result.tested == 871
    assert result.pretrained_accuracy >= 0.65 and result.pretrained_accuracy > result.untrained_accuracy + 0.12


def test_the_pca_colour_shift_is_alexnets():
    image = example_image("chelsea")
    shift = augment.pca_shift(image, sigma=0.1, generator=np.random.default_rng(0))
    pixels = image.reshape(-1, 3) / 255.0
    covariance = np.cov(pixels, rowvar=False)
    np.testing.assert_allclose(covariance @ shift.eigenvectors, shift.eigenvectors * shift.eigenvalues, atol=1e-10)
    assert (np.diff(shift.eigenvalues) <= 0).all()  # the principal component first
    # the shift's coordinates along the principal components are exactly α_i √λ_i, √λ_i the pixels' spread
    np.testing.assert_allclose(shift.eigenvectors.T @ shift.shift, shift.alphas * shift.spreads, atol=1e-12)
    projected = (pixels - pixels.mean(0)) @ shift.eigenvectors
    np.testing.assert_allclose(projected.std(0, ddof=1), shift.spreads, rtol=1e-9)
    alphas = np.array([augment.pca_shift(image, 0.1, np.random.default_rng(seed)).alphas for seed in range(400)])
    assert alphas.std() == pytest.approx(0.1, rel=0.1) and abs(alphas.mean()) < 0.02
    shifted = augment.apply_shift(image, shift.shift)
    assert np.abs(shifted.astype(int) - image.astype(int)).max() <= np.abs(shift.shift).max() * 255 + 1


def test_the_gallery_is_seeded_and_leaves_the_global_generator_alone():
    image = fit_within(example_image("chelsea"), 120)
    state = torch.random.get_rng_state()
    first = augment.gallery(image, augment.AugmentSettings(), seed=3, count=4, size=64)
    assert torch.equal(torch.random.get_rng_state(), state)
    second = augment.gallery(image, augment.AugmentSettings(), seed=3, count=4, size=64)
    assert len(first) == 4 and first[0].shape == (64, 64, 3)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not np.array_equal(first[0], first[1])
    still = augment.AugmentSettings(
        mirror=False, crop_scale=1.0, rotation=0, shear=0, rgb_offset=0, jitter=0, pca_sigma=0
    )
    plain = augment.gallery(image, still, count=2, size=64)
    assert np.array_equal(plain[0], plain[1])  # nothing random left: every copy is the same resize
    with pytest.raises(UserError, match="5 % and 100 %"):
        augment.AugmentSettings(crop_scale=0.0)


@pytest.mark.parametrize("name", list(transfer.BACKBONES))
def test_each_backbone_states_its_blocks_and_features(name):
    from torchvision.models import get_model

    backbone = transfer.BACKBONES[name]
    model = get_model(name, weights=None).eval()
    network = transfer.TransferNet(backbone.blocks(model), backbone.features, 3)
    assert len(network.blocks) == backbone.block_count
    assert network.features(torch.randn(1, 3, 64, 64)).shape == (1, backbone.features)


def test_large_photos_are_kept_small_and_keep_their_shape():
    photos = transfer.PhotoSet()
    photos.add_class("wide")
    photos.add_photos("wide", [np.zeros((1200, 3000, 3), np.uint8), np.zeros((40, 60, 3), np.uint8)])
    assert [image.shape for image in photos.photos["wide"]] == [(102, 256, 3), (40, 60, 3)]


def test_a_one_pixel_image_has_no_colour_spread_and_no_shift():
    shift = augment.pca_shift(np.full((1, 1, 3), 90, np.uint8), sigma=0.5, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(shift.eigenvalues, 0)
    np.testing.assert_array_equal(shift.shift, 0)
    assert len(augment.gallery(np.full((1, 1, 3), 90, np.uint8), augment.AugmentSettings(), count=2)) == 2


def test_the_held_out_verdict_is_the_one_sided_binomial_test():
    coin = transfer.held_out_verdict(1.0, 2, 2)  # 2 of 2 right: a guesser does that a quarter of the time
    assert (coin.correct, coin.total, coin.chance) == (2, 2, 0.5)
    assert coin.p_value == pytest.approx(0.25) and not coin.better_than_chance
    clear = transfer.held_out_verdict(0.9, 20, 2)  # 18 of 20: P(X ≥ 18) = 211 / 2^20
    assert clear.p_value == pytest.approx(211 / 2**20) and clear.better_than_chance
    assert not transfer.held_out_verdict(0.0, 0, 3).better_than_chance


def test_photos_are_removed_by_their_place_and_the_rest_keep_their_order():
    photos = photo_set(each=6)
    name = photos.classes[0]
    kept = [photos.photos[name][i] for i in (0, 2, 3, 5)]
    assert photos.remove_photos(name, [1, 4, 4, 99]) == 2  # a repeated or missing place counts once or not at all
    assert all(a is b for a, b in zip(photos.photos[name], kept)) and len(photos.photos[name]) == 4
    assert photos.remove_photos(name, range(4)) == 4 and photos.photos[name] == [] and name in photos.classes
