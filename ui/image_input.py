"""One widget for every page that takes a picture: upload, camera, or a bundled example.

Uploads are decoded by ``core.runtime.images.load_image`` once per file and kept in the user's
session only; a bad file shows its ``ImageError`` message with ``st.error`` and the page
carries on with no image.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import streamlit as st
from PIL import Image
from streamlit.runtime.uploaded_file_manager import UploadedFile

from core.runtime.errors import UserError
from core.runtime.examples import ALL_EXAMPLES, PHOTOS, ExamplePhoto, example_image
from core.runtime.images import ACCEPTED_EXTENSIONS, enlarged, fit_within, load_image
from ui.state import DISPLAY_JPEGS

DISPLAY_SIDE = 768  # pictures are shown at most this large; computing uses full resolution
UPLOAD_LIMIT_MB = 20  # server.maxUploadSize in .streamlit/config.toml

_SOURCES = ("Example", "Upload", "Camera")


@st.cache_resource(show_spinner=False)
def _cached_example(name: str) -> np.ndarray:
    """Bundled public photos, one read-only array per process shared by every session."""
    image = example_image(name)
    image.flags.writeable = False
    return image


def image_input(
    key: str,
    label: str = "Image",
    examples: Sequence[ExamplePhoto] = PHOTOS,
    default_example: str | None = None,
) -> np.ndarray | None:
    """Let the user pick an image; returns it as (H, W, 3) uint8 RGB, or None.

    ``key`` keeps several inputs on one page apart.
    """
    source = st.segmented_control(label, _SOURCES, default=_SOURCES[0], key=f"{key}-source", selection_mode="single")
    if source == "Upload":
        upload = st.file_uploader(
            "Upload an image",
            type=list(ACCEPTED_EXTENSIONS),
            key=f"{key}-upload",
            help=f"PNG, JPEG, WebP, BMP, GIF or TIFF, up to {UPLOAD_LIMIT_MB} MB.",
        )
        if upload is None:
            return None
        image = _decoded(key, upload)
        if image is not None:  # a file over the limit never reaches the server: say which file is in use
            size = f"{upload.size / 1e6:.1f} MB" if upload.size >= 1e6 else f"{upload.size / 1e3:.0f} kB"
            st.caption(
                f"In use: **{upload.name}** ({size}, {image.shape[1]}×{image.shape[0]}). "
                f"A file over {UPLOAD_LIMIT_MB} MB is refused by the browser (it shows in red) and this one stays."
            )
        return image
    if source == "Camera":
        shot = st.camera_input("Take a photo", key=f"{key}-camera")
        return _decoded(key, shot) if shot is not None else None
    if source is None:
        return None
    return _example_picker(key, examples, default_example)


def _decoded(key: str, upload: UploadedFile) -> np.ndarray | None:
    """Decode once per file: the result stays in this user's session for later reruns."""
    slot = f"{key}-decoded"
    cached = st.session_state.get(slot)
    if cached is None or cached[0] != upload.file_id:
        try:
            cached = (upload.file_id, load_image(upload.getvalue()), None)
        except UserError as error:
            cached = (upload.file_id, None, str(error))
        st.session_state[slot] = cached
    _, image, message = cached
    if message:
        st.error(message, icon=":material/broken_image:")
    return image


def _example_picker(key: str, examples: Sequence[ExamplePhoto], default: str | None) -> np.ndarray:
    """A drop-down rather than a row of pills: twelve captions never fit a half-width column."""
    names = [photo.name for photo in examples]
    chosen = st.selectbox(
        "Example photo",
        names,
        index=names.index(default) if default in names else 0,
        format_func=lambda name: ALL_EXAMPLES[name].caption,
        key=f"{key}-example",
    )
    return _cached_example(chosen)


def display_jpeg(image: np.ndarray) -> bytes:
    """A JPEG of ``image`` at display size, made once per image object and kept in this
    user's session, so reruns that change only the output do not re-encode the input."""

    def encoded() -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(fit_within(image, DISPLAY_SIDE)).save(buffer, "JPEG", quality=90)
        return buffer.getvalue()

    return DISPLAY_JPEGS.get(image, None, encoded)


def png_bytes(pixels: np.ndarray) -> bytes:
    """A PNG file of an (H, W) or (H, W, 3) uint8 array, for downloads."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def png_download(label: str, pixels: np.ndarray, file_name: str, key: str, where=st) -> None:
    """A download button for ``pixels`` as a PNG, encoded only when it is clicked."""
    where.download_button(
        label, lambda: png_bytes(pixels), file_name, "image/png", on_click="ignore", icon=":material/download:", key=key
    )


def for_display(pixels: np.ndarray) -> np.ndarray:
    """Small pictures enlarged with sharp pixels, large ones shrunk to the display size."""
    return enlarged(pixels, 384) if max(pixels.shape[:2]) < 256 else fit_within(pixels, DISPLAY_SIDE)
