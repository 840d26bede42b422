"""Browser tests: ``streamlit run`` on a free loopback port, driven by system Chromium.

Under ``CI=true`` a missing browser fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import CHROMIUM, CHROMIUM_ARGS, served_app, wait_for_app
from tests.videos import write_y4m
from ui.catalog import PAGES

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SETTLE_CHECKS = 120  # of the main area's text, 250 ms apart after each finished run


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with served_app(tmp_path_factory.mktemp("streamlit")) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium package (`.ci/run` does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser, app_url: str) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()


def settled(tab) -> None:
    """The page's script has finished and the main area's text has stopped changing: the
    browser may paint a run's last elements, or begin a follow-up run, just after a run ends."""
    previous = None
    for _ in range(SETTLE_CHECKS):
        wait_for_app(tab)
        text = tab.locator('[data-testid="stMain"]').inner_text()
        if text == previous:
            return
        previous = text
        tab.wait_for_timeout(250)
    raise AssertionError(f"The page kept changing for {SETTLE_CHECKS} checks.")


def screenshot(tab, name: str) -> Path:
    """Save the whole page: the viewport grows to the main area's scroll height first,
    because Streamlit scrolls an inner container that a full-page shot would clip."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    height = tab.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    width = tab.viewport_size["width"]
    tab.set_viewport_size({"width": width, "height": max(int(height), 800)})
    tab.wait_for_timeout(300)
    tab.screenshot(path=str(path))
    return path


def assert_no_exception(tab) -> None:
    exceptions = tab.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()


def open_tab(tab, name: str):
    """Click the page tab ``name``; returns its panel once the app has settled."""
    tab.get_by_role("tab", name=name).click()
    settled(tab)
    return tab.get_by_role("tabpanel")


def visit_every_tab(tab, names: list[str], expected: dict[str, tuple[str, str]]) -> None:
    """Open each tab in turn and check that none shows an exception; for a tab in
    ``expected`` (name -> (text, screenshot name)) its panel must show the text, and a
    screenshot is saved."""
    for name in names:
        panel = open_tab(tab, name)
        assert_no_exception(tab)
        if name in expected:
            text, shot = expected[name]
            assert text in panel.inner_text()
            screenshot(tab, shot)


def fill_number(tab, panel, label: str, value: str) -> None:
    """Type ``value`` into the number field ``label`` and let the app rerun."""
    field = panel.get_by_label(label)
    field.fill(value)
    field.press("Enter")
    settled(tab)


def choose_example(tab, panel, caption: str) -> None:
    """Pick the example photo ``caption`` in the first image input of ``panel``."""
    panel.get_by_role("combobox", name="Example photo").first.click()
    tab.get_by_role("option", name=caption, exact=True).click()
    settled(tab)


def open_page(tab, app_url: str, script: str) -> None:
    """Go to the page ``script`` (e.g. "app_pages/faces.py", as in ui.catalog) and wait until its
    heading, the catalog's title, is shown and the app has settled."""
    info = next(page for page in PAGES if page.script == script)
    tab.goto(f"{app_url}/{Path(script).stem}")
    tab.get_by_role("heading", name=info.title).wait_for(timeout=90_000)
    settled(tab)


def run_on_video(tab, panel, video: Path, start: str, frames: int):
    """Upload ``video`` into ``panel``'s uploader, press ``start`` and wait until the job has
    done all ``frames``; returns the tab's panel as it then stands, with the video playing."""
    from playwright.sync_api import expect

    panel.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(video))
    settled(tab)
    panel.get_by_role("button", name=start).click()
    expect(panel).to_contain_text(f"Done: frame {frames} of {frames}", timeout=120_000)
    settled(tab)
    panel = tab.get_by_role("tabpanel")
    assert panel.locator('[data-testid="stVideo"]').count() == 1
    assert panel.get_by_role("button", name="Annotated MP4").count() == 1
    return panel


@pytest.fixture(scope="module")
def camera_page(browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A tab of a Chromium whose camera is a fake one playing a panning video, its use
    allowed without asking."""
    clip = write_y4m(tmp_path_factory.mktemp("camera") / "camera.y4m")
    flags = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *flags, f"--use-file-for-fake-video-capture={clip}"]
    )
    try:
        tab = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        tab.set_default_timeout(60_000)
        yield tab
    finally:
        chromium.close()


def stream_the_camera(tab, panel, name: str) -> None:
    """In ``panel`` (a ``camera_page`` tab's): open the camera, Start, check that worked-on
    frames come back in the camera's shape, save screenshot ``name``, Stop."""
    from playwright.sync_api import expect

    assert panel.locator("iframe").count() == 0  # no WebRTC component until the camera is opened
    panel.get_by_role("button", name="Open the live camera").click()
    settled(tab)
    panel.frame_locator("iframe").get_by_role("button", name="Start").click()
    expect(panel).to_contain_text("frames answered", timeout=30_000)
    expect(panel).to_contain_text(re.compile(r"([5-9]|\d\d+) frames answered"), timeout=30_000)  # at least 5
    playing = panel.frame_locator("iframe").locator("video")
    # the answer streams back in the camera's 4:3 shape; WebRTC lowers the resolution when the machine is busy
    width, height = playing.evaluate("video => [video.videoWidth, video.videoHeight]")
    assert 0 < width <= 640 and width * 3 == height * 4
    assert_no_exception(tab)
    screenshot(tab, name)
    panel.frame_locator("iframe").get_by_role("button", name="Stop").click()
    expect(panel).not_to_contain_text("frames answered", timeout=15_000)
    expect(panel.frame_locator("iframe").get_by_role("button", name="Start")).to_be_visible()
    assert_no_exception(tab)
