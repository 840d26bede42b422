"""The face recognition page in a real browser: detection and landmarks without any download,
the honest status of the encoder, and enrolling the astronaut then recognizing her in an
upload — with an untrained encoder only the plumbing (a lossless copy has distance 0),
with the real VGGFace2 weights her identity in a changed photo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from app_pages.faces import SECTIONS
from core.runtime.examples import example_image
from core.runtime.weights import get_weights, torch_home
from tests.e2e.conftest import (
    assert_no_exception,
    choose_example,
    open_page,
    open_tab,
    run_on_video,
    screenshot,
    settled,
    stream_the_camera,
    visit_every_tab,
)
from tests.e2e.harness import served_app
from tests.images import encode
from tests.models import save_untrained_facenet
from tests.videos import write_video

pytestmark = pytest.mark.e2e
PAGE = "app_pages/faces.py"

TABS = list(SECTIONS)  # the page's own tabs, in order


def enroll_astronaut(page, app_url: str) -> None:
    """Open the page and enroll the astronaut example as Eileen Collins."""
    open_page(page, app_url, PAGE)
    panel = open_tab(page, "Gallery")
    panel.get_by_label("Name").fill("Eileen Collins")
    panel.get_by_label("Name").press("Enter")
    settled(page)
    panel.get_by_role("button", name="Enroll").click()
    page.get_by_text("Enrolled Eileen Collins.").wait_for(timeout=60_000)
    settled(page)


def enroll_and_recognize(page, app_url: str, query: Path) -> str:
    """Enroll the astronaut example as Eileen Collins, upload ``query`` on the Recognize tab,
    and return that tab's text."""
    enroll_astronaut(page, app_url)
    panel = open_tab(page, "Recognize (1:K)")
    panel.get_by_role("radio", name="Upload").click()
    settled(page)
    panel.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(query))
    settled(page)
    assert_no_exception(page)
    return page.get_by_role("tabpanel").inner_text()


def test_every_tab_renders_without_the_encoder(page, app_url):
    open_page(page, app_url, PAGE)
    visit_every_tab(
        page,
        TABS,
        {
            "Detect & align": ("five landmarks", "faces_detect_astronaut"),
            "Verify (1:1)": ("is not on this machine", "faces_verify_without_weights"),
        },
    )
    assert page.locator(".js-plotly-plot").count() >= 1


@pytest.fixture(scope="module")
def untrained_encoder_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose torch cache holds an untrained VGGFace2 encoder: plumbing only."""
    workdir = tmp_path_factory.mktemp("streamlit-faces")
    save_untrained_facenet("facenet_vggface2", directory=workdir / "torch")
    with served_app(workdir) as url:
        yield url


def test_enroll_then_recognize_her_in_an_upload(page, untrained_encoder_url, tmp_path):
    query = tmp_path / "astronaut.png"
    query.write_bytes(encode(Image.fromarray(example_image("astronaut")), "PNG"))  # lossless: the same pixels
    text = enroll_and_recognize(page, untrained_encoder_url, query)
    assert "Face 1: Eileen Collins" in text and "1:K search over 1 identities" in text
    screenshot(page, "faces_recognize_plumbing")
    panel = open_tab(page, "Gallery")
    assert "Gallery: 1 person, 1 photo" in panel.inner_text()
    screenshot(page, "faces_gallery")
    assert panel.get_by_role("textbox", name="Name", exact=True).input_value() == ""  # ready for the next person
    panel.get_by_role("textbox", name="Name", exact=True).fill("Cameraman")
    panel.get_by_role("textbox", name="Name", exact=True).press("Enter")
    settled(page)
    choose_example(page, panel, "Cameraman (grayscale)")
    page.get_by_role("tabpanel").get_by_role("button", name="Enroll").click()
    page.get_by_text("Enrolled Cameraman.").wait_for(timeout=60_000)
    settled(page)
    panel = page.get_by_role("tabpanel")
    panel.get_by_role("textbox", name="Name", exact=True).fill("Eileen Collins")  # a second photo of her
    panel.get_by_role("textbox", name="Name", exact=True).press("Enter")
    settled(page)
    choose_example(page, panel, "Astronaut Eileen Collins (one face)")
    assert "“Eileen Collins” is already in the gallery." in panel.inner_text()
    panel.get_by_role("button", name="Enroll").click()
    page.get_by_text("Enrolled Eileen Collins (photo 2).").wait_for(timeout=60_000)
    settled(page)
    panel = open_tab(page, "Labs")
    expect(panel).to_contain_text("on 3 pairs of your gallery, 1 of them the same person")
    text = panel.inner_text()
    assert "Distance matrix of the gallery" in text and "ŷ for this pair" in text and "This triplet is" in text
    assert_no_exception(page)
    screenshot(page, "faces_labs_plumbing")


def test_faces_in_a_video_are_found_on_every_frame_and_tabled(page, untrained_encoder_url, tmp_path):
    enroll_astronaut(page, untrained_encoder_url)
    panel = open_tab(page, "Video")
    write_video(tmp_path / "walk.mp4", frames=6, width=400, height=300, fps=6)
    panel = run_on_video(page, panel, tmp_path / "walk.mp4", "Recognize faces in the video", 6)
    assert "Eileen Collins" in panel.locator(".js-plotly-plot").inner_text()  # a row of the timeline (SVG text)
    table = panel.locator('[data-testid="stDataFrame"]')
    assert table.count() == 1 and panel.get_by_role("button", name="Appearances CSV").count() == 1
    assert panel.locator(".js-plotly-plot").count() == 1  # who appears when
    assert_no_exception(page)
    screenshot(page, "faces_video_plumbing")


def test_the_live_camera_recognizes_the_gallery_frame_by_frame(camera_page, untrained_encoder_url):
    enroll_astronaut(camera_page, untrained_encoder_url)
    stream_the_camera(camera_page, open_tab(camera_page, "Live camera"), "faces_live_camera_plumbing")


@pytest.mark.weights
@pytest.mark.skipif(
    not get_weights("facenet_vggface2").is_cached(),
    reason="needs the real VGGFace2 weights (python -m core.runtime.weights download facenet_vggface2)",
)
def test_with_real_weights_she_is_recognized_in_a_changed_photo(page, tmp_path):
    astronaut = example_image("astronaut")
    changed = Image.fromarray(np.ascontiguousarray(astronaut[:, ::-1])).resize((400, 400))  # mirrored, smaller
    query = tmp_path / "astronaut-mirrored.jpg"
    query.write_bytes(encode(changed, "JPEG", quality=80))
    with served_app(tmp_path / "server", torch_home=torch_home()) as url:
        text = enroll_and_recognize(page, url, query)
    assert "Face 1: Eileen Collins" in text


def enroll_the_example(tab, url: str, name: str) -> None:
    """Open the faces page in ``tab`` and enroll the example photo's face as ``name``."""
    open_page(tab, url, PAGE)
    panel = open_tab(tab, "Gallery")
    panel.get_by_label("Name").fill(name)
    panel.get_by_label("Name").press("Enter")
    settled(tab)
    panel.get_by_role("button", name="Enroll").click()
    tab.get_by_text(f"Enrolled {name}.").wait_for(timeout=60_000)
    settled(tab)


def assert_never_seen(tab, url: str, name: str) -> None:
    """In ``tab``'s session, ``name`` is on none of the faces page's tabs and the gallery is empty."""
    open_page(tab, url, PAGE)
    for section in ("Gallery", "Recognize (1:K)", "Labs"):
        assert name not in open_tab(tab, section).inner_text()
    assert "Gallery: 0 people, 0 photos" in open_tab(tab, "Gallery").inner_text()
    assert_no_exception(tab)


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def isolation_url(request, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with an untrained encoder, galleries in the sessions or in a SQLite file."""
    workdir = tmp_path_factory.mktemp(f"streamlit-faces-{request.param}")
    save_untrained_facenet("facenet_vggface2", directory=workdir / "torch")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CNNLAB_FACE_DB_SHARED", raising=False)
        if request.param == "sqlite":
            patch.setenv("CNNLAB_FACE_DB", str(workdir / "faces.sqlite"))
        else:
            patch.delenv("CNNLAB_FACE_DB", raising=False)
        with served_app(workdir) as url:
            yield url


def test_a_face_enrolled_in_one_session_never_appears_in_another(browser, isolation_url, request):
    first, second = (browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2))
    try:
        mine, theirs = first.new_page(), second.new_page()
        enroll_the_example(mine, isolation_url, "Only In The First Session")
        assert_never_seen(theirs, isolation_url, "Only In The First Session")
        screenshot(theirs, f"faces_isolation_{request.node.callspec.params['isolation_url']}")
        assert "Gallery: 1 person, 1 photo" in open_tab(mine, "Gallery").inner_text()
    finally:
        first.close()
        second.close()
