"""core.runtime.examples: the bundled photos load offline as RGB arrays."""

from __future__ import annotations

import numpy as np
import pytest

from core.runtime.examples import ALL_EXAMPLES, PHOTOS, STYLES, example_image


@pytest.mark.parametrize("name", sorted(ALL_EXAMPLES))
def test_every_example_is_an_rgb_uint8_array(name):
    image = example_image(name)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert min(image.shape[:2]) >= 256


def test_grayscale_examples_repeat_the_gray_channel():
    camera = example_image("camera")
    np.testing.assert_array_equal(camera[:, :, 0], camera[:, :, 2])
    astronaut = example_image("astronaut")
    assert not np.array_equal(astronaut[:, :, 0], astronaut[:, :, 2])


def test_motorcycle_is_the_left_stereo_image():
    from skimage import data

    np.testing.assert_array_equal(example_image("motorcycle"), data.stereo_motorcycle()[0])


def test_photo_and_style_sets_are_the_documented_ones():
    assert [p.name for p in PHOTOS] == ["astronaut", "chelsea", "coffee", "rocket", "motorcycle", "camera"]
    assert [p.name for p in STYLES] == [
        "hubble_deep_field",
        "immunohistochemistry",
        "retina",
        "brick",
        "grass",
        "gravel",
    ]


def test_unknown_example_lists_the_names():
    with pytest.raises(KeyError, match="astronaut"):
        example_image("mona_lisa")
