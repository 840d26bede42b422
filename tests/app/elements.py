"""Opening a page in AppTest, and reading what it shows."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.runtime.jobs import JobHandle
from tests.conftest import ROOT
from ui.jobs import job_state_key


def open_page(script: str, timeout: float = 180) -> AppTest:
    """A fresh session on the page ``script`` (e.g. "app_pages/faces.py"), run once without
    an exception. Cached models and stores are cleared first: an earlier test loaded them
    from other temporary caches."""
    st.cache_resource.clear()
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=timeout)
    app.switch_page(script).run()
    assert not app.exception, app.exception
    return app


def texts(app: AppTest, kind: str) -> list[str]:
    """The values of every element of one kind: "error", "warning", "markdown", "latex", …"""
    return [element.value for element in getattr(app, kind)]


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def frame(app: AppTest, column: str) -> pd.DataFrame:
    """The first table (data frame or editor) with a column named ``column``."""
    return next(element.value for element in app.dataframe if column in element.value.columns)


def captions(app: AppTest) -> list[str]:
    return [caption for image in app.image for caption in image.captions]


def finish_job(app: AppTest, key: str, timeout_s: float = 240) -> AppTest:
    """Wait for the job the view ``key`` started (it runs in a backend thread, not in the
    script run) and rerun the page, which then shows how the job ended."""
    handle = job_of(app, key)
    assert handle.wait(timeout_s), f"the {key!r} job did not end within {timeout_s} s"
    return app.run()


def job_of(app: AppTest, key: str) -> JobHandle:
    """The handle of the job the view ``key`` started in this session."""
    return app.session_state[job_state_key(key)].handle
