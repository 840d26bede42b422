"""The object detection page in a real browser: the honest status without weights, an upload
through the file chooser feeding the labs, the NMS steps, every tab rendering, and a video
tracked and played back."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import expect
from skimage import data

from app_pages.object_detection import SECTIONS
from core.runtime.examples import example_image
from core.runtime.images import fit_within
from tests.e2e.conftest import (
    assert_no_exception,
    open_page,
    open_tab,
    run_on_video,
    screenshot,
    settled,
    stream_the_camera,
    visit_every_tab,
)
from tests.e2e.harness import served_app, yolo_weights_dir
from tests.images import encode
from tests.models import save_untrained_yolo
from tests.videos import write_video

pytestmark = pytest.mark.e2e
PAGE = "app_pages/object_detection.py"

TABS = list(SECTIONS)  # the page's own tabs, in order


def test_every_tab_renders_and_yolo_says_how_to_get_its_weights(page, app_url):
    open_page(page, app_url, PAGE)
    panel = page.get_by_role("tabpanel")
    assert "YOLO11n detection" in panel.inner_text() and "make weights" in panel.inner_text()
    screenshot(page, "detection_yolo_without_weights")
    visit_every_tab(
        page,
        TABS,
        {
            "Grid & anchors": ("3 × 3 × 2 × 8", "detection_grid_anchors"),
            "Sliding windows": ("several times faster", "detection_sliding_windows"),
        },
    )


def test_nms_steps_in_the_browser(page, app_url):
    open_page(page, app_url, PAGE)
    panel = open_tab(page, "Non-max suppression")
    expect(panel).to_contain_text("Step 3:")  # waits: the metric can paint a moment after the run ends
    expect(panel).to_contain_text("3 of 19")
    expect(panel.locator(".js-plotly-plot")).to_have_count(1)
    step = panel.get_by_role("slider").last  # the step slider
    step.focus()
    step.press("Home")
    settled(page)
    expect(page.get_by_role("tabpanel")).to_contain_text("Step 1:")
    assert_no_exception(page)
    screenshot(page, "detection_nms_step_1")


def test_an_uploaded_photo_feeds_the_iou_lab(page, app_url, tmp_path):
    open_page(page, app_url, PAGE)
    path = tmp_path / "motorcycle.jpg"
    path.write_bytes(encode(Image.fromarray(data.stereo_motorcycle()[0]), "JPEG", quality=90))
    page.get_by_role("radio", name="Upload").first.click()
    settled(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    settled(page)
    panel = open_tab(page, "IoU")
    text = panel.inner_text()
    # the default boxes are fractions of the 741×500 upload, not of the 512² example, in whole pixels:
    # A = (148, 100, 445, 350), B = (259, 150, 593, 400), so 186 × 200 in common
    assert "37,200" in text and "120,550" in text and "26,112" not in text
    assert_no_exception(page)
    screenshot(page, "detection_iou_upload")


@pytest.fixture(scope="module")
def untrained_yolo_app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second server whose ultralytics cache holds an untrained yolo11n and yolo11n-pose with
    raised class biases, so the detection path renders boxes: a test of the plumbing, not of
    detection."""
    workdir = tmp_path_factory.mktemp("streamlit-yolo")
    for name in ("yolo11n", "yolo11n-pose"):
        save_untrained_yolo(name, class_logit=2.0, directory=yolo_weights_dir(workdir))
    with served_app(workdir) as url:
        yield url


def test_the_detection_path_renders_with_weights_in_the_cache(page, untrained_yolo_app_url):
    open_page(page, untrained_yolo_app_url, PAGE)
    panel = page.get_by_role("tabpanel")
    text = panel.inner_text()
    assert "not on this machine" not in text
    assert "Per class:" in text and "Inference" in text and "yolo11n at 640 px on cpu" in text
    assert panel.locator('[data-testid="stImage"] img').count() == 2  # original and annotated
    assert panel.get_by_role("button", name="Boxes CSV").count() == 1
    assert_no_exception(page)
    screenshot(page, "detection_plumbing_untrained_yolo")
    assert "candidates on your image before suppression" in open_tab(page, "Non-max suppression").inner_text()
    assert_no_exception(page)


def test_a_video_is_tracked_and_comes_back_annotated_with_its_tracks(page, untrained_yolo_app_url, tmp_path):
    open_page(page, untrained_yolo_app_url, PAGE)
    panel = open_tab(page, "Video")
    write_video(tmp_path / "walk.mp4", frames=16, width=320, height=240)
    panel = run_on_video(page, panel, tmp_path / "walk.mp4", "Track objects", 16)
    assert "320×240, 16 frames at 10 frames/s" in panel.inner_text()
    assert re.search(r"\d+ tracks — each object keeps its id", panel.inner_text())
    assert panel.get_by_role("button", name="Tracks CSV").count() == 1
    assert panel.locator(".js-plotly-plot").count() == 1  # objects per frame
    assert_no_exception(page)
    screenshot(page, "detection_video_tracked")


def test_a_pose_model_lists_the_landmarks_of_one_person(page, untrained_yolo_app_url):
    open_page(page, untrained_yolo_app_url, PAGE)
    panel = page.get_by_role("tabpanel")
    panel.get_by_role("combobox", name="Output").click()
    page.get_by_role("option", name="Keypoints (-pose)").click()
    settled(page)
    expect(panel).to_contain_text("(l1x, l1y, …, l17x, l17y) = (", timeout=60_000)
    assert "the course's output for landmark detection" in panel.inner_text()
    assert_no_exception(page)
    screenshot(page, "detection_pose_plumbing")


def test_several_images_come_back_in_one_table_and_a_zip(page, untrained_yolo_app_url, tmp_path):
    open_page(page, untrained_yolo_app_url, PAGE)
    panel = open_tab(page, "Several images")
    files = []
    for name in ("chelsea", "coffee", "rocket"):
        path = tmp_path / f"{name}.png"
        Image.fromarray(fit_within(example_image(name), 320)).save(path)
        files.append(str(path))
    panel.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(files)
    settled(page)
    panel.get_by_role("button", name="Detect on every image").click()
    expect(panel).to_contain_text("Done: image 3 of 3", timeout=120_000)
    settled(page)
    panel = page.get_by_role("tabpanel")
    assert re.search(r"\d+ boxes in 3 images", panel.inner_text())
    assert panel.get_by_role("button", name="Drawings (.zip)").count() == 1
    assert_no_exception(page)
    screenshot(page, "detection_several_images")


def test_the_live_camera_streams_frames_through_yolo_and_back_until_stopped(camera_page, untrained_yolo_app_url):
    open_page(camera_page, untrained_yolo_app_url, PAGE)
    stream_the_camera(camera_page, open_tab(camera_page, "Live camera"), "detection_live_camera")
