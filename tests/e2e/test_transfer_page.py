"""The transfer-learning page in a real browser: every tab without ImageNet weights, then,
with an untrained ResNet-18 in the server's cache, two classes built from multi-file uploads
(one file not an image), the four regimes trained, and a long training stopped; and with
Chromium's fake camera, two classes recorded from the stream, a model trained from scratch,
classifying the stream, exported as ONNX and read back here (plumbing: an untrained
backbone's accuracy means nothing)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from PIL import Image
from playwright.sync_api import expect

from app_pages.transfer import SECTIONS
from core.runtime.examples import example_image
from core.runtime.images import fit_within
from tests.e2e.conftest import (
    assert_no_exception,
    fill_number,
    open_page,
    open_tab,
    screenshot,
    settled,
    stream_the_camera,
    visit_every_tab,
)
from tests.e2e.harness import served_app
from tests.models import save_untrained_torchvision

pytestmark = pytest.mark.e2e
PAGE = "app_pages/transfer.py"


def test_every_tab_renders_without_imagenet_weights(page, app_url):
    open_page(page, app_url, PAGE)
    visit_every_tab(
        page,
        list(SECTIONS),
        {
            "Your classes": ("5 classes at most", "transfer_classes_empty"),
            "Train": ("Make at least two classes.", "transfer_train_empty"),
            "Offline": ("Pretrained on 0–4", "transfer_offline"),
            "Augmentation": ("PCA colour augmentation", "transfer_augmentation"),
        },
    )


@pytest.fixture(scope="module")
def untrained_resnet_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("streamlit-transfer")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCH_HOME", str(workdir / "torch"))
        save_untrained_torchvision("resnet18")
    with served_app(workdir) as url:
        yield url


def photos(folder: Path, example: str, count: int) -> list[str]:
    base = fit_within(example_image(example), 96)
    paths = []
    for index in range(count):
        path = folder / f"{example}{index}.png"
        Image.fromarray(np.roll(base, 4 * index, axis=1)).save(path)
        paths.append(str(path))
    return paths


def add_class(page, panel, name: str, files: list[str]) -> None:
    panel.get_by_label("New class").fill(name)
    panel.get_by_role("button", name="Add class").click()
    settled(page)
    panel.get_by_label(f"Add photos to {name}").locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files
    )
    settled(page)


def test_two_classes_from_uploads_then_the_regimes(page, untrained_resnet_url, tmp_path):
    open_page(page, untrained_resnet_url, PAGE)
    panel = page.get_by_role("tabpanel")
    notes = tmp_path / "notes.png"
    notes.write_bytes(b"not an image")
    add_class(page, panel, "cat", [*photos(tmp_path, "chelsea", 6), str(notes)])
    assert "Skipped notes.png" in panel.inner_text()
    add_class(page, panel, "coffee", photos(tmp_path, "coffee", 6))
    text = panel.inner_text()
    assert "cat · 6 photos" in text and "coffee · 6 photos" in text
    assert_no_exception(page)
    screenshot(page, "transfer_two_classes")
    panel = open_tab(page, "Train")
    text = panel.inner_text()  # before any click in this tab: the classes just added are seen
    assert "10 photos to train on, 2 held out" in text and "Make at least two classes" not in text
    panel.get_by_text("ResNet-18", exact=True).click()
    settled(page)
    fill_number(page, panel, "Epochs", "3")
    assert "10 photos to train on, 2 held out" in panel.inner_text()
    panel.get_by_role("button", name="Train").click()
    page.get_by_text("so its epochs take a fraction of the others'").wait_for(timeout=240_000)
    settled(page)
    text = panel.inner_text()
    assert all(f"Download ({regime})" in text for regime in ("head", "partial", "all", "scratch"))
    assert_no_exception(page)
    screenshot(page, "transfer_trained")
    panel = open_tab(page, "Classify")
    text = panel.inner_text()  # 2 held-out photos cannot show a model beats guessing
    assert "of its 2 held-out photos right" in text and "no finding" in text and "Most likely" not in text
    assert_no_exception(page)
    screenshot(page, "transfer_classify")
    panel = open_tab(page, "Train")
    fill_number(page, panel, "Epochs", "50")
    panel.get_by_role("button", name="Train").click()
    page.get_by_text(re.compile(r"epoch 2 of 50")).wait_for(timeout=120_000)
    panel.get_by_role("button", name="Stop").click()
    page.get_by_text("Earlier trainings in this session").wait_for(timeout=60_000)
    settled(page)
    assert_no_exception(page)
    text = page.get_by_role("tabpanel").inner_text()
    assert re.search(r"Stopped at \(.\) .*: epoch \d+ of 50, .*; what was trained is kept\.", text)
    assert re.search(r"\(.\) .* stopped after epoch \d+ of 50\.", text)
    assert "Download (head)" in text  # what was trained before Stop is kept
    screenshot(page, "transfer_stopped")


def test_classes_recorded_from_the_camera_trained_from_scratch_classified_live_and_exported(camera_page, app_url):
    """Teachable Machine's loop: record two classes from the live camera, train (d) from
    scratch (no ImageNet weights here), classify the stream, export ONNX and read it back."""
    page = camera_page
    open_page(page, app_url, PAGE)
    panel = page.get_by_role("tabpanel")
    for name in ("left", "right"):
        panel.get_by_label("New class").fill(name)
        panel.get_by_role("button", name="Add class").click()
        settled(page)
    panel.get_by_text("Record from the live camera", exact=True).click()
    settled(page)
    panel.get_by_role("button", name="Open the live camera").click()
    settled(page)
    page.frame_locator("iframe").get_by_role("button", name="Start").click()
    expect(panel).to_contain_text("frames answered", timeout=30_000)
    for name in ("left", "right"):
        if name == "right":
            panel.get_by_role("combobox", name="Record into").click()
            page.get_by_role("option", name="right", exact=True).click()
            settled(page)
        panel.get_by_text("Recording", exact=True).click()  # on
        expect(panel).to_contain_text(re.compile(rf"{name}: ([5-9]|\d\d+) photos"), timeout=30_000)
        panel.get_by_text("Recording", exact=True).click()  # off: it stops at once
        # the class list is drawn again by the rerun the switch starts, which a loaded machine may begin late
        expect(panel).to_contain_text(re.compile(rf"{name} · ([5-9]|\d\d+) photos"), timeout=30_000)
        settled(page)
    text = panel.inner_text()
    counts = {name: int(re.search(rf"{name} · (\d+) photos", text).group(1)) for name in ("left", "right")}
    assert all(count >= 5 for count in counts.values()), counts
    assert_no_exception(page)
    screenshot(page, "transfer_recorded_classes")
    page.frame_locator("iframe").get_by_role("button", name="Stop").click()
    panel.get_by_text("Record from the live camera", exact=True).click()  # off: the recorder's camera goes
    settled(page)
    panel = open_tab(page, "Train")
    fill_number(page, panel, "Epochs", "1")
    panel.get_by_role("button", name="Train").click()
    expect(panel).to_contain_text("Done:", timeout=180_000)
    settled(page)
    panel = open_tab(page, "Classify")
    panel.get_by_text("The live camera", exact=True).click()
    settled(page)
    stream_the_camera(page, page.get_by_role("tabpanel"), "transfer_live_camera")
    panel = page.get_by_role("tabpanel")
    panel.get_by_role("button", name="Make the ONNX file").click()
    expect(panel).to_contain_text("Checked: onnxruntime's logits", timeout=120_000)
    with page.expect_download() as download:
        panel.get_by_role("button", name="Download ONNX").click()
    session = onnxruntime.InferenceSession(Path(download.value.path()).read_bytes(), providers=["CPUExecutionProvider"])
    assert json.loads(session.get_modelmeta().custom_metadata_map["classes"]) == ["left", "right"]
    logits = session.run(None, {"image": np.zeros((3, 3, 224, 224), np.float32)})[0]
    assert logits.shape == (3, 2)
    assert_no_exception(page)
    screenshot(page, "transfer_exported")
