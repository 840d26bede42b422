"""The app shell with streamlit.testing: home, sidebar, Models & weights page."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from core.runtime import weights
from core.runtime.device import device_badge
from tests.app import elements
from tests.app.elements import metrics, texts
from tests.conftest import ROOT
from ui.catalog import PAGES, titles_of

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture()
def app(tmp_path, monkeypatch) -> AppTest:
    from ultralytics.utils import SETTINGS

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setitem(SETTINGS, "weights_dir", str(tmp_path / "ultralytics"))
    return AppTest.from_file(APP, default_timeout=60)


def test_home_shows_a_card_per_page_and_the_device(app):
    app.run()
    assert not app.exception
    assert app.title[0].value == "CNN Lab"
    links = {link.label for link in app.get("page_link")}
    assert links == {page.title for page in PAGES}
    sidebar = " ".join(str(badge.proto) for badge in app.sidebar.get("markdown"))
    assert f"Computing on {device_badge()}" in sidebar and "Ray cluster" not in sidebar


def test_the_sidebar_names_the_cluster_that_runs_the_long_jobs(app, monkeypatch):
    monkeypatch.setenv("CNNLAB_RAY_ADDRESS", "ray://head.example.org:10001")
    app.run()
    sidebar = " ".join(str(badge.proto) for badge in app.sidebar.get("markdown"))
    assert "Long jobs on the Ray cluster at ray://head.example.org:10001" in sidebar and not app.exception


def test_home_page_imports_neither_torch_nor_ultralytics():
    script = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({APP!r}, default_timeout=30).run()\n"
        "assert not at.exception, at.exception\n"
        "print('torch' in sys.modules, 'ultralytics' in sys.modules)\n"
    )
    env = {**os.environ, "CNNLAB_DEVICE": ""}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_weights_page_lists_the_registry_once_with_status_and_a_summary(app):
    app.switch_page("app_pages/weights.py").run()
    assert not app.exception
    table = app.table[0].value
    assert list(table.index) == [entry.title for entry in weights.REGISTRY.values()]
    assert list(table["File"]) == [entry.file_name for entry in weights.REGISTRY.values()]
    status = dict(zip(table.index, table["Status"]))
    assert status["MTCNN face detector (P-, R-, O-Net)"] == "bundled" and status["VGG19 (ImageNet)"] == "not cached"
    here = sum(entry.is_cached() for entry in weights.REGISTRY.values())
    assert metrics(app)["Here"] == f"{here} of {len(weights.REGISTRY)}"
    missing = [entry for entry in weights.REGISTRY.values() if not entry.is_cached() and not entry.bundled]
    assert len(app.selectbox(key="weights-missing").options) == len(missing)
    assert [button.label for button in app.button] == [f"Download ({missing[0].size_mb:,.0f} MB)"]


def test_home_and_sidebar_say_which_pages_work_offline(app):
    app.run()
    badges = " ".join(str(element.proto) for element in app.get("markdown"))
    assert badges.count("Works offline") == 2  # the conv calculator and the MobileNet estimator need no weights
    assert badges.count("Some parts need downloaded weights") == len(PAGES) - 3  # and Models & weights has none
    offline = "Without downloads: fast style, on images, videos and the live camera;"
    assert any(c.startswith(offline) for c in texts(app, "caption"))
    sidebar = " ".join(element.value for element in app.sidebar.caption)
    assert "Some parts need downloaded weights: Model comparisons, Transfer learning" in sidebar
    assert "Conv calculator" not in sidebar
    app.switch_page("app_pages/faces.py").run()
    notice = next(i for i in texts(app, "info") if "pretrained weights this page uses" in i)
    assert notice.startswith("1 of the 3 pretrained weights") and "face detection, landmarks" in notice


def test_the_catalog_marks_exactly_the_pages_that_run_downloaded_weights():
    for page in PAGES:
        downloaded = [e.name for e in weights.REGISTRY.values() if page.topic in e.topics and not e.bundled]
        assert (page.without_downloads is not None) == bool(downloaded), page.title


def test_with_downloads_turned_off_no_visitor_can_start_one(app, monkeypatch):
    monkeypatch.setenv("CNNLAB_ALLOW_DOWNLOADS", "0")
    app.switch_page("app_pages/weights.py").run()
    assert not app.exception and len(app.button) == 0
    assert "CNNLAB_ALLOW_DOWNLOADS=0" in app.info[0].value and "make weights" in app.info[0].value
    app.switch_page("app_pages/style_transfer.py").run()
    assert not app.exception and len([button for button in app.button if "Download" in button.label]) == 0
    assert any("turned off on this server" in info.value for info in app.info)


def test_failed_download_shows_how_to_get_the_file(app, monkeypatch):
    entry = dataclasses.replace(weights.REGISTRY["vgg19"], url="http://127.0.0.1:9/vgg19-dcbb9e9d.pth")
    monkeypatch.setitem(weights.REGISTRY, "vgg19", entry)
    app.switch_page("app_pages/weights.py").run()
    app.selectbox(key="weights-missing").set_value(entry).run()
    app.button(key="download-vgg19").click().run()
    assert not app.exception
    message = app.error[0].value
    assert "this server cannot reach 127.0.0.1" in message and str(entry.cache_path()) in message
    assert len(app.error) == 1
    assert app.title[0].value == "Models & weights"  # the page is still there


def test_every_weight_names_topics_that_have_a_page():
    for entry in weights.REGISTRY.values():
        assert len(titles_of(entry.topics)) == len(entry.topics) > 0, entry.name


def test_one_memory_release_thread_however_often_the_app_starts_afresh():
    import threading

    for _ in range(3):
        elements.open_page("app_pages/home.py")  # clears Streamlit's resource cache each time
    releasers = [thread for thread in threading.enumerate() if thread.name == "cnnlab-release-memory"]
    assert len(releasers) == 1
