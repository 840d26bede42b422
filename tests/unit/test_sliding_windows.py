"""core.detection.sliding_windows: the convolutional twin equals the classifier run on every crop."""

from __future__ import annotations

import pytest
import torch

from core.detection import sliding_windows as sw
from core.runtime.errors import UserError


@pytest.fixture(scope="module")
def classifier() -> sw.WindowClassifier:
    torch.manual_seed(0)
    return sw.WindowClassifier().eval()


@pytest.mark.parametrize(("side", "grid"), [(14, (1, 1)), (16, (2, 2)), (28, (8, 8))])
def test_twin_equals_every_window(classifier, side, grid):
    comparison = sw.compare(classifier, side, side)
    assert comparison.grid == grid
    assert comparison.max_abs_difference <= 1e-5


def test_twin_shares_the_classifier_tensors(classifier):
    twin = sw.ConvolutionalTwin(classifier)
    assert {id(p) for p in twin.parameters()} == {id(p) for p in classifier.parameters()}
    with torch.no_grad():
        classifier.fc3.bias[0] += 1.0  # a change to the classifier changes the twin
        image = torch.rand(1, 3, 14, 14)
        torch.testing.assert_close(twin(image)[0, :, 0, 0], classifier(image)[0])
        classifier.fc3.bias[0] -= 1.0


def test_one_crop_of_the_grid_is_the_classifier_on_that_crop(classifier):
    image = torch.rand(3, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        grid = sw.ConvolutionalTwin(classifier)(image[None])[0]  # (4, 8, 8)
        crop = image[:, 2 * 3 : 2 * 3 + 14, 2 * 5 : 2 * 5 + 14]  # window at row 3, column 5
        torch.testing.assert_close(grid[:, 3, 5], classifier(crop[None])[0], atol=1e-6, rtol=1e-5)


def test_macs_of_both_ways(classifier):
    comparison = sw.compare(classifier, 16, 16)
    per_window = 10 * 10 * 16 * 5 * 5 * 3 + 400 * 400 + 400 * 400 + 400 * 4
    assert comparison.window_macs == 4 * per_window
    conv = 12 * 12 * 16 * 5 * 5 * 3 + 4 * (400 * 400 + 400 * 400 + 400 * 4)
    assert comparison.convolutional_macs == conv < comparison.window_macs


def test_sizes_that_do_not_tile_are_refused():
    with pytest.raises(UserError, match="14 \\+ 2k"):
        sw.window_grid(15, 16)
    with pytest.raises(UserError, match="at least 14×14"):
        sw.window_grid(12, 12)
