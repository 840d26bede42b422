"""The model comparisons page in a real browser: every tab, the zoo table, the degradation
curves, and LeNet-5 reading a held-out digit and an uploaded photo of one."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from app_pages.model_comparisons import SECTIONS
from core.architectures.digits import digit_split, digits
from tests.e2e.conftest import assert_no_exception, open_page, open_tab, screenshot, settled, visit_every_tab
from tests.images import encode

pytestmark = pytest.mark.e2e
PAGE = "app_pages/model_comparisons.py"


def test_every_tab_renders(page, app_url):
    open_page(page, app_url, PAGE)
    visit_every_tab(
        page,
        list(SECTIONS),
        {
            "Zoo": ("The case studies in numbers", "comparisons_zoo"),
            "Classic networks": ("Forward activations, one image", "comparisons_classic"),
            "ResNets": ("The deeper plain network ends with the higher error", "comparisons_resnets"),
            "Inception": ("PyTorch agrees", "comparisons_inception"),
        },
    )
    open_tab(page, "Zoo")
    assert page.locator(".js-plotly-plot").count() >= 1
    assert_no_exception(page)


def test_lenet_reads_a_held_out_digit_and_a_photo_of_one(page, app_url, tmp_path):
    open_page(page, app_url, PAGE)
    panel = open_tab(page, "Classify")
    expect(panel).to_contain_text("True label:")
    screenshot(page, "comparisons_lenet_held_out")
    images, labels = digits()
    _, held_out = digit_split()
    index = int(held_out[3])
    ink = (images[index, 0].numpy() * 255).astype(np.uint8)
    photo = 255 - np.asarray(Image.fromarray(ink).resize((160, 160), Image.Resampling.BILINEAR))
    path = tmp_path / "digit.png"
    path.write_bytes(encode(Image.fromarray(photo).convert("RGB"), "PNG"))
    panel.locator("label").filter(has_text="A photo of a digit").click()
    settled(page)
    panel = page.get_by_role("tabpanel")
    panel.get_by_text("Upload", exact=True).first.click()
    settled(page)
    panel.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    settled(page)
    expect(panel).to_contain_text("LeNet-5's 32×32 input")
    table = panel.locator('[data-testid="stDataFrame"]').first
    expect(table).to_contain_text(str(int(labels[index])))
    assert_no_exception(page)
    screenshot(page, "comparisons_lenet_photo")
