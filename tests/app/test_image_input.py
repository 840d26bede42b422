"""ui.image_input: examples, uploads good and bad, and a page that stays usable."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.images import encode, gradient_rgb, png_header_only

JPEG = encode(gradient_rgb(200, 100), "JPEG")


def _script() -> None:
    import streamlit as st

    from ui.image_input import image_input

    image = image_input("probe")
    st.text("no image" if image is None else f"image {image.shape} {image.dtype}")
    st.button("still here")


@pytest.fixture()
def app() -> AppTest:
    return AppTest.from_function(_script, default_timeout=30).run()


def test_an_example_is_shown_by_default_and_can_be_changed(app):
    assert app.text[0].value == "image (512, 512, 3) uint8"
    app.selectbox[0].set_value("chelsea").run()
    assert app.text[0].value == "image (300, 451, 3) uint8"


def test_a_good_upload_is_decoded(app):
    app.segmented_control[0].set_value("Upload").run()
    assert app.text[0].value == "no image"
    app.file_uploader[0].upload("photo.png", encode(gradient_rgb(40, 30), "PNG"), "image/png").run()
    assert not app.error
    assert app.text[0].value == "image (30, 40, 3) uint8"


@pytest.mark.parametrize(
    "name,data,phrase",
    [
        ("notes.png", b"plain text, not pixels", "not an image"),
        ("empty.png", b"", "empty"),
        ("cut.jpg", JPEG[: len(JPEG) * 2 // 3], "truncated or corrupt"),
        ("huge.png", png_header_only(9000, 9000), "too large"),
        ("flat.png", png_header_only(0, 10), "zero"),
    ],
)
def test_a_bad_upload_shows_a_message_and_the_page_stays_usable(app, name, data, phrase):
    app.segmented_control[0].set_value("Upload").run()
    app.file_uploader[0].upload(name, data, "image/png").run()
    assert not app.exception
    assert phrase in app.error[0].value
    assert app.text[0].value == "no image"
    app.button[0].click().run()
    assert not app.exception and app.button[0].label == "still here"


def test_the_upload_in_use_is_named_with_the_limit_the_server_sets(app):
    import tomllib

    from tests.conftest import ROOT
    from ui.image_input import UPLOAD_LIMIT_MB

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert UPLOAD_LIMIT_MB == config["server"]["maxUploadSize"]
    app.segmented_control[0].set_value("Upload").run()
    app.file_uploader[0].upload("photo.png", encode(gradient_rgb(40, 30), "PNG"), "image/png").run()
    caption = app.caption[0].value
    assert caption.startswith("In use: **photo.png** (") and "40×30" in caption
    assert f"A file over {UPLOAD_LIMIT_MB} MB is refused by the browser" in caption
