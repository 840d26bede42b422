"""The app shell in a real browser: home, navigation, sidebar, Models & weights."""

from __future__ import annotations

import re

import pytest

from core.runtime import weights
from tests.e2e.conftest import assert_no_exception, screenshot, settled
from ui.catalog import PAGES

pytestmark = pytest.mark.e2e


def test_home_lists_every_page_and_the_device(page, app_url):
    page.goto(app_url)
    settled(page)
    main = page.locator('[data-testid="stMain"]')
    assert main.get_by_role("heading", name="CNN Lab").is_visible()
    for info in PAGES:
        assert main.get_by_role("link", name=info.title).count() == 1, info.title
    assert "Computing on CPU" in page.locator('[data-testid="stSidebar"]').inner_text()
    assert_no_exception(page)
    screenshot(page, "home")


def test_weights_page_shows_the_registry_and_an_offline_download_error(page, app_url):
    page.goto(app_url)
    settled(page)
    page.locator('[data-testid="stMain"]').get_by_role("link", name="Models & weights").click()
    settled(page)
    assert page.get_by_role("heading", name="Models & weights").is_visible()
    table = page.locator('[data-testid="stTable"]')
    table.wait_for()
    text = table.inner_text()
    for entry in weights.REGISTRY.values():  # every row, with its file, is readable without scrolling the table
        assert entry.title in text and entry.file_name in text
    main = page.locator('[data-testid="stMain"]').bounding_box()
    box = table.bounding_box()
    assert box["x"] + box["width"] <= main["x"] + main["width"] + 1
    main_area = page.locator('[data-testid="stMain"]')
    assert re.search(r"Here\s+\d+ of \d+", main_area.inner_text())
    missing = main_area.get_by_role("combobox", name="Missing weights")
    missing.click()
    missing.fill("VGG19")  # the list is long: filter it
    page.get_by_role("option").filter(has_text="VGG19 (ImageNet) (548 MB").click()
    settled(page)
    page.get_by_role("button", name="Download (548 MB)").click()
    error = page.locator('[data-testid="stAlertContentError"]')
    error.wait_for(timeout=30_000)
    assert "cannot reach download.pytorch.org" in error.inner_text() and "Errno" not in error.inner_text()
    assert_no_exception(page)
    screenshot(page, "weights")
