"""Real example photos for every page, from the images scikit-image ships.

These need no network: they are installed with scikit-image. Grayscale ones are
returned as RGB, like every upload after ``core.runtime.images.load_image``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ExamplePhoto:
    """One bundled photo: its key, a caption, and how scikit-image loads it."""

    name: str
    caption: str
    load_raw: Callable[[], np.ndarray]


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from skimage import data

        return getattr(data, name)()

    return load


def _stereo_motorcycle_left() -> np.ndarray:
    from skimage import data

    return data.stereo_motorcycle()[0]


PHOTOS: tuple[ExamplePhoto, ...] = (
    ExamplePhoto("astronaut", "Astronaut Eileen Collins (one face)", _skimage("astronaut")),
    ExamplePhoto("chelsea", "Chelsea the cat", _skimage("chelsea")),
    ExamplePhoto("coffee", "A cup of coffee", _skimage("coffee")),
    ExamplePhoto("rocket", "A rocket on the launch pad", _skimage("rocket")),
    ExamplePhoto("motorcycle", "A motorcycle (left stereo image)", _stereo_motorcycle_left),
    ExamplePhoto("camera", "Cameraman (grayscale)", _skimage("camera")),
)
STYLES: tuple[ExamplePhoto, ...] = (
    ExamplePhoto("hubble_deep_field", "Hubble deep field", _skimage("hubble_deep_field")),
    ExamplePhoto("immunohistochemistry", "Immunohistochemistry stain", _skimage("immunohistochemistry")),
    ExamplePhoto("retina", "Human retina", _skimage("retina")),
    ExamplePhoto("brick", "Brick wall texture (grayscale)", _skimage("brick")),
    ExamplePhoto("grass", "Grass texture (grayscale)", _skimage("grass")),
    ExamplePhoto("gravel", "Gravel texture (grayscale)", _skimage("gravel")),
)
ALL_EXAMPLES: dict[str, ExamplePhoto] = {photo.name: photo for photo in PHOTOS + STYLES}


def example_image(name: str) -> np.ndarray:
    """The example photo ``name`` as an (H, W, 3) uint8 RGB array."""
    try:
        photo = ALL_EXAMPLES[name]
    except KeyError:
        raise KeyError(f"No example photo named {name!r}; choose from {sorted(ALL_EXAMPLES)}.") from None
    raw = photo.load_raw()  # (H, W) gray or (H, W, 3) RGB, uint8
    rgb = np.repeat(raw[:, :, None], 3, axis=2) if raw.ndim == 2 else raw[:, :, :3]
    return np.ascontiguousarray(rgb, dtype=np.uint8)
