"""The conv calculator in a real browser: an upload through the file chooser, Sobel edges,
bad uploads with a clear message, and every tab rendering without an exception."""

from __future__ import annotations

import pytest
from skimage import data

from app_pages.conv_calculator import SECTIONS
from tests.e2e.conftest import assert_no_exception, open_page, screenshot, settled
from tests.images import encode

pytestmark = pytest.mark.e2e
PAGE = "app_pages/conv_calculator.py"

TABS = list(SECTIONS)  # the page's own tabs, in order


def upload(page, tmp_path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    panel = page.get_by_role("tabpanel")
    panel.get_by_role("radio", name="Upload").first.click()
    settled(page)
    panel.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    settled(page)


def test_every_tab_renders(page, app_url):
    open_page(page, app_url, PAGE)
    for name in TABS:
        page.get_by_role("tab", name=name).click()
        settled(page)
        assert_no_exception(page)
    screenshot(page, "conv_nd")
    page.get_by_role("tab", name="Network table").click()
    settled(page)
    body = page.get_by_role("tabpanel").inner_text()
    assert "PyTorch agrees" in body and "nn.Linear(in_features=400, out_features=120" in body
    screenshot(page, "conv_network_table")
    page.get_by_role("tab", name="Step by step").click()
    settled(page)
    assert "= -5" in page.get_by_role("tabpanel").inner_text()
    screenshot(page, "conv_step_by_step")


def coffee_in_edge_detection(page, app_url, tmp_path):
    """The Edge detection tab with the coffee photo uploaded; its panel."""
    from PIL import Image

    open_page(page, app_url, PAGE)
    page.get_by_role("tab", name="Edge detection").click()
    settled(page)
    upload(page, tmp_path, "coffee.jpg", encode(Image.fromarray(data.coffee()), "JPEG", quality=92))
    return page.get_by_role("tabpanel")


def test_sobel_edges_of_an_uploaded_photo(page, app_url, tmp_path):
    panel = coffee_in_edge_detection(page, app_url, tmp_path)
    edge_image = panel.locator('[data-testid="stImage"] img').nth(1)
    before = edge_image.get_attribute("src")
    panel.locator('[data-testid="stSelectbox"]').filter(has_text="Filter").click()
    page.get_by_role("option", name="Sobel").click()
    settled(page)
    chosen = panel.locator('[data-testid="stSelectbox"]').filter(has_text="Filter").locator("input")
    assert chosen.input_value() == "Sobel"
    assert "Edge map 598×398" in panel.inner_text()
    assert edge_image.get_attribute("src") != before  # a new edge map was computed and sent
    assert_no_exception(page)
    screenshot(page, "conv_sobel_edges")


@pytest.mark.parametrize(
    "name,content,phrase",
    [
        ("notes.png", b"this is not a picture", "not an image"),
        ("cut.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "damaged"),
    ],
)
def test_bad_upload_shows_a_message_and_the_page_stays_usable(page, app_url, tmp_path, name, content, phrase):
    open_page(page, app_url, PAGE)
    page.get_by_role("tab", name="Edge detection").click()
    settled(page)
    upload(page, tmp_path, name, content)
    panel = page.get_by_role("tabpanel")
    assert phrase in panel.locator('[data-testid="stAlertContentError"]').inner_text()
    assert_no_exception(page)
    screenshot(page, f"conv_bad_upload_{name.split('.')[0]}")
    panel.get_by_role("radio", name="Example").first.click()
    settled(page)
    assert "Edge map" in panel.inner_text()


def test_a_file_over_the_upload_limit_leaves_the_last_one_named_in_use(page, app_url, tmp_path):
    from ui.image_input import UPLOAD_LIMIT_MB

    panel = coffee_in_edge_detection(page, app_url, tmp_path)
    assert "In use: coffee.jpg" in panel.inner_text()
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (UPLOAD_LIMIT_MB + 1) * 1024 * 1024)  # the browser refuses it before sending a byte
    panel.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(big))
    settled(page)
    text = panel.inner_text()
    assert "big.png" in text and "In use: coffee.jpg" in text and f"A file over {UPLOAD_LIMIT_MB} MB" in text
    assert "Edge map 598×398" in text
    assert_no_exception(page)
    screenshot(page, "conv_upload_over_limit")
