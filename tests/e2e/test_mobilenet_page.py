"""The MobileNet cost estimator in a real browser: every tab renders with its numbers, and
the two layers are timed on the server."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app_pages.mobilenet import SECTIONS
from tests.e2e.conftest import (
    assert_no_exception,
    fill_number,
    open_page,
    open_tab,
    screenshot,
    settled,
    visit_every_tab,
)

pytestmark = pytest.mark.e2e
PAGE = "app_pages/mobilenet.py"


def test_every_tab_renders_with_its_numbers(page, app_url):
    open_page(page, app_url, PAGE)
    visit_every_tab(
        page,
        list(SECTIONS),
        {
            "Depthwise-separable": ("PyTorch agrees", "mobilenet_separable"),
            "MobileNet v1": ("569 M", "mobilenet_v1"),
            "MobileNetV2 bottleneck": ("3,504,872 parameters", "mobilenet_v2"),
            "EfficientNet scaling": ("Scale B0 yourself", "mobilenet_efficientnet"),
            "Best on this device": ("ImageNet top-1 accuracy", "mobilenet_best"),
        },
    )


def test_a_bad_filter_is_explained_and_the_layers_are_timed(page, app_url):
    open_page(page, app_url, PAGE)
    panel = open_tab(page, "Depthwise-separable")
    fill_number(page, panel, "f (filter side)", "9")
    expect(panel).to_contain_text("does not fit the padded input")
    fill_number(page, panel, "f (filter side)", "3")
    panel = open_tab(page, "Measured time")
    panel.get_by_role("button", name="Time both layers").click()
    expect(panel).to_contain_text("the time ratio stays above the MACs ratio", timeout=90_000)
    settled(page)
    assert_no_exception(page)
    screenshot(page, "mobilenet_timed")
