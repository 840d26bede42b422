"""The style transfer page in a real browser: the honest status without VGG19; fast style
(real networks) on an image, in a trained style, on a video and Chromium's fake camera; and with an untrained VGG19
in the server's cache a short 64×64 run (plumbing: the images are not art)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import (
    assert_no_exception,
    fill_number,
    open_page,
    open_tab,
    run_on_video,
    screenshot,
    settled,
    stream_the_camera,
)
from tests.e2e.harness import served_app
from tests.models import save_untrained_torchvision
from tests.videos import write_video

pytestmark = pytest.mark.e2e
PAGE = "app_pages/style_transfer.py"


def test_without_vgg19_the_page_says_how_to_get_it(page, app_url):
    open_page(page, app_url, PAGE)
    assert "VGG19 (ImageNet)" in page.get_by_role("tabpanel").inner_text()
    assert_no_exception(page)
    screenshot(page, "style_without_weights")


def test_fast_style_on_an_image_then_a_video(page, app_url, tmp_path):
    open_page(page, app_url, PAGE)
    panel = open_tab(page, "Fast style")
    text = panel.inner_text()
    assert "Fast style G (512×512)" in text and "Reading the style:" in text and "Download G (PNG)" in text
    assert_no_exception(page)
    screenshot(page, "style_fast_image")
    panel.get_by_text("One of 26 trained styles", exact=True).click()
    settled(page)
    panel = page.get_by_role("tabpanel")
    text = panel.inner_text()
    assert "The 26 trained styles on this image" in text and "Trained style: style 1" in text
    assert "Fast style G (512×512)" in text
    assert_no_exception(page)
    screenshot(page, "style_fast_presets")
    panel.get_by_text("A video", exact=True).click()
    settled(page)
    write_video(tmp_path / "walk.mp4", frames=8, width=160, height=120)
    panel = run_on_video(page, page.get_by_role("tabpanel"), tmp_path / "walk.mp4", "Style the video", 8)
    assert re.search(r"8 frames styled, \d+ ms each", panel.inner_text())
    assert_no_exception(page)
    screenshot(page, "style_fast_video")


def test_fast_style_on_the_live_camera(camera_page, app_url):
    open_page(camera_page, app_url, PAGE)
    panel = open_tab(camera_page, "Fast style")
    panel.get_by_text("The live camera", exact=True).click()
    settled(camera_page)
    stream_the_camera(camera_page, camera_page.get_by_role("tabpanel"), "style_fast_live_camera")


@pytest.fixture(scope="module")
def untrained_vgg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("streamlit-style")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCH_HOME", str(workdir / "torch"))
        save_untrained_torchvision("vgg19")
    with served_app(workdir) as url:
        yield url


def start_a_64_pixel_run(page, app_url: str, iterations: int):
    """Open the page, choose 64 px and the number of iterations, press Run; returns the tab panel."""
    open_page(page, app_url, PAGE)
    panel = page.get_by_role("tabpanel")
    panel.get_by_role("combobox", name="Image size (longest side)").click()
    page.get_by_role("option", name="64", exact=True).click()
    settled(page)
    fill_number(page, panel, "Iterations", str(iterations))
    panel.get_by_role("button", name="Run style transfer").click()
    return panel


def test_a_short_run_at_64_pixels(page, untrained_vgg_url):
    start_a_64_pixel_run(page, untrained_vgg_url, iterations=30)
    page.get_by_text("Done: step 30 of 30").wait_for(timeout=120_000)
    settled(page)
    text = page.get_by_role("tabpanel").inner_text()
    assert "Generated G (64×64)" in text and "Download G (PNG)" in text
    assert_no_exception(page)
    screenshot(page, "style_short_run")
    panel = open_tab(page, "Gram matrices")
    assert page.locator(".js-plotly-plot").count() >= 2  # the image's and G's
    assert_no_exception(page)
    screenshot(page, "style_gram_matrices")
    panel = open_tab(page, "What ConvNets learn")
    assert "The nine patches where unit 0 of conv1_1 is largest" in panel.inner_text()
    screenshot(page, "style_what_convnets_learn")


def test_stop_keeps_the_best_image_so_far(page, untrained_vgg_url):
    panel = start_a_64_pixel_run(page, untrained_vgg_url, iterations=2000)
    page.get_by_text(re.compile(r"^G at step \d+$")).wait_for(timeout=60_000)  # a preview has been shown
    panel.get_by_role("button", name="Stop").click()
    stopped = page.get_by_text(re.compile(r"Stopped at step \d+ of 2000, .*; the best image so far is kept\."))
    stopped.wait_for(timeout=60_000)
    settled(page)
    assert "Generated G (64×64)" in page.get_by_role("tabpanel").inner_text()
    assert_no_exception(page)
    screenshot(page, "style_stopped_run")
