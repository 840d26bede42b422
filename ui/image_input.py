"""One widget for every page that takes a picture: upload, camera, or a bundled example.

Uploads are decoded by ``core.images.load_image``; a bad file shows its ``ImageError``
message with ``st.error`` and the page carries on with no image.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import streamlit as st

from core.examples import ALL_EXAMPLES, PHOTOS, ExamplePhoto, example_image
from core.images import ACCEPTED_EXTENSIONS, ImageError, load_image

_SOURCES = ("Example", "Upload", "Camera")


@st.cache_data(show_spinner=False, max_entries=32)
def _cached_example(name: str) -> np.ndarray:
    return example_image(name)


def image_input(
    key: str,
    label: str = "Image",
    examples: Sequence[ExamplePhoto] = PHOTOS,
    default_example: str | None = None,
) -> np.ndarray | None:
    """Let the user pick an image; returns it as (H, W, 3) uint8 RGB, or None.

    ``key`` keeps several inputs on one page apart.
    """
    source = st.segmented_control(
        label, _SOURCES, default=_SOURCES[0], key=f"{key}-source", selection_mode="single"
    )
    if source == "Upload":
        upload = st.file_uploader(
            "Upload an image", type=list(ACCEPTED_EXTENSIONS), key=f"{key}-upload",
            help="PNG, JPEG, WebP, BMP, GIF or TIFF, up to 20 MB.",
        )
        return _decoded(upload.getvalue()) if upload is not None else None
    if source == "Camera":
        shot = st.camera_input("Take a photo", key=f"{key}-camera")
        return _decoded(shot.getvalue()) if shot is not None else None
    if source is None:
        return None
    return _example_picker(key, examples, default_example)


def _decoded(data: bytes) -> np.ndarray | None:
    try:
        return load_image(data)
    except ImageError as error:
        st.error(str(error), icon=":material/broken_image:")
        return None


def _example_picker(key: str, examples: Sequence[ExamplePhoto], default: str | None) -> np.ndarray:
    names = [photo.name for photo in examples]
    chosen = st.pills(
        "Example photo",
        names,
        default=default if default in names else names[0],
        format_func=lambda name: ALL_EXAMPLES[name].caption,
        key=f"{key}-example",
        label_visibility="collapsed",
    )
    name = chosen or names[0]
    return _cached_example(name)
