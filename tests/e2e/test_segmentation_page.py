"""The U-Net segmentation page in a real browser: every tab, the shipped U-Net's overlay on
an example photo and on a synthetic sample, a short training run, and a video of shapes
segmented frame by frame."""

from __future__ import annotations

import re

import pytest

from app_pages.segmentation import SECTIONS
from tests.e2e.conftest import (
    assert_no_exception,
    fill_number,
    open_page,
    open_tab,
    run_on_video,
    screenshot,
    settled,
    visit_every_tab,
)
from tests.unit.test_segmentation_video import shapes_video

pytestmark = pytest.mark.e2e
PAGE = "app_pages/segmentation.py"

TABS = list(SECTIONS)  # the page's own tabs, in order


def test_every_tab_renders(page, app_url):
    open_page(page, app_url, PAGE)
    visit_every_tab(
        page,
        TABS,
        {
            "U-Net": ("31,036,546", "segmentation_unet_table"),
            "Transposed convolution": ("PyTorch agrees", "segmentation_transposed_convolution"),
        },
    )


def test_the_shipped_unet_on_a_sample_and_on_a_photo(page, app_url):
    open_page(page, app_url, PAGE)
    panel = open_tab(page, "Segment an image")
    assert "Mean IoU" in panel.inner_text() and "Pixels per class:" in panel.inner_text()
    screenshot(page, "segmentation_synthetic_sample")
    panel.locator("label").filter(has_text="Your image").click()
    settled(page)
    panel = page.get_by_role("tabpanel")
    assert "Overlay, 600×400" in panel.inner_text()  # the coffee photo
    assert_no_exception(page)
    screenshot(page, "segmentation_overlay_on_a_photo")


def test_a_short_training_run(page, app_url):
    open_page(page, app_url, PAGE)
    panel = open_tab(page, "Train")
    fill_number(page, panel, "Epochs", "2")
    fill_number(page, panel, "Training images", "64")
    panel.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Done: epoch 2 of 2, step 8 of 8").wait_for(timeout=120_000)
    settled(page)
    text = page.get_by_role("tabpanel").inner_text()
    assert "Epoch 2: validation mean IoU" in text and "validation images | true labels" in text
    assert_no_exception(page)
    screenshot(page, "segmentation_training_run")


def test_stopping_a_training_run_keeps_the_model(page, app_url):
    open_page(page, app_url, PAGE)
    panel = open_tab(page, "Train")
    fill_number(page, panel, "Epochs", "100")
    panel.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Epoch 1: validation mean IoU").wait_for(timeout=180_000)  # a loaded CI machine is slow
    panel.get_by_role("button", name="Stop").click()
    stopped = page.get_by_text("Stopped at epoch")
    stopped.wait_for(timeout=60_000)
    assert "the model so far is kept for “Segment an image”" in stopped.inner_text()
    steps = int(re.search(r"step (\d+) of 3800", stopped.inner_text()).group(1))
    assert 0 < steps < 3800 // 4  # long before the end (how soon after the click depends on the machine's load)
    settled(page)
    assert_no_exception(page)
    screenshot(page, "segmentation_training_stopped")
    panel = open_tab(page, "Segment an image")
    panel.locator("label").filter(has_text="Trained in this session").click()
    settled(page)
    text = page.get_by_role("tabpanel").inner_text()
    kept = re.search(r"The U-Net trained in this session: (\d+) steps on 48×48 images\.", text)
    assert "Mean IoU" in text and kept and steps <= int(kept.group(1)) < 3800 // 4  # the stopped model, not the shipped
    assert_no_exception(page)


def test_a_video_of_shapes_is_segmented_frame_by_frame_and_plays_back(page, app_url, tmp_path):
    open_page(page, app_url, PAGE)
    panel = open_tab(page, "Video")
    shapes_video(tmp_path / "shapes.mp4", frames=10, side=128)
    panel = run_on_video(page, panel, tmp_path / "shapes.mp4", "Segment the video", 10)
    assert "128×128, 10 frames at 5 frames/s" in panel.inner_text()
    assert panel.locator(".js-plotly-plot").count() == 1  # each class's share of every frame
    assert panel.get_by_role("button", name="Class shares CSV").count() == 1
    assert_no_exception(page)
    screenshot(page, "segmentation_video")
