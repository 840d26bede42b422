"""ui.jobs through streamlit.testing: one view for every long job, with one wording."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.elements import finish_job, job_of, texts


def counting_page() -> None:
    """A page with one job: counting to the number typed, a pause per step, maybe failing."""
    import time
    from dataclasses import dataclass

    import streamlit as st

    from core.runtime.budget import MemoryEstimate
    from core.runtime.jobs import Step
    from ui.jobs import JobView, run_job

    @dataclass(frozen=True)
    class Counting:
        steps: int
        pause_s: float
        failure: str

        title = "Counting"

        def estimate(self) -> MemoryEstimate:
            return MemoryEstimate({"the count": 1_000 * self.steps})

        def run(self, device, cancel):
            for done in range(1, self.steps + 1):
                if self.failure == "bug" and done == 2:
                    raise KeyError("a bug")
                time.sleep(self.pause_s)
                yield Step(done, self.steps, f"count {done} of {self.steps}", done)

    def shown(handle) -> None:
        st.markdown(f"Counted: {handle.records}")

    steps = st.number_input("Steps", value=3, key="steps")
    failure = st.radio("Failure", ["none", "bug"], key="failure")
    view = JobView(key="count", start="Count", kept="what was counted is kept", result=shown, live=shown)
    run_job(view, Counting(int(steps), st.session_state.get("pause", 0.0), failure))


@pytest.fixture()
def app() -> AppTest:
    return AppTest.from_function(counting_page, default_timeout=30).run()


def test_a_finished_job_says_done_and_keeps_its_result_across_reruns(app):
    app.button(key="count-start").click().run()
    finish_job(app, "count")
    assert texts(app, "success") == [texts(app, "success")[0]] and texts(app, "success")[0].startswith(
        "Done: count 3 of 3 ("
    )
    assert "Counted: [1, 2, 3]" in texts(app, "markdown")
    app.number_input(key="steps").set_value(5).run()  # another widget: the result stays
    assert "Counted: [1, 2, 3]" in texts(app, "markdown")


def test_a_running_job_shows_progress_and_stop_ends_it_keeping_what_was_done(app):
    app.session_state["pause"] = 0.2
    app.number_input(key="steps").set_value(500)
    app.button(key="count-start").click().run()
    handle = job_of(app, "count")
    assert handle.active and app.button(key="count-start").disabled
    app.button(key="count-stop").click().run()
    finish_job(app, "count", timeout_s=2)
    (stopped,) = texts(app, "info")
    assert stopped.startswith("Stopped at count ") and stopped.endswith("; what was counted is kept.")
    assert handle.phase == "stopped" and len(handle.records) < 500


def test_a_bug_in_a_job_shows_an_error_id_and_no_traceback(app):
    app.radio(key="failure").set_value("bug").run()
    app.button(key="count-start").click().run()
    finish_job(app, "count")
    handle = job_of(app, "count")
    assert texts(app, "error") == [f"The job failed through a fault of this server (error id {handle.error_id})."]
    assert not app.exception and "Counted: [1]" in texts(app, "markdown")  # the step before the bug is kept


def test_a_job_over_the_budget_shows_the_refusal_instead_of_start(app, monkeypatch):
    monkeypatch.setenv("CNNLAB_JOB_MEMORY_MB", "1")
    app.number_input(key="steps").set_value(2_000).run()
    assert texts(app, "error") == [
        "Counting would need about 2 MB of memory; one job may use 1 MB on this server (CNNLAB_JOB_MEMORY_MB). "
        "Lower the count."
    ]
    assert "count-start" not in [button.key for button in app.button]


def test_a_job_stops_when_its_session_is_dropped():
    import gc

    app = AppTest.from_function(counting_page, default_timeout=30).run()
    app.session_state["pause"] = 0.2
    app.number_input(key="steps").set_value(500)
    app.button(key="count-start").click().run()
    handle = job_of(app, "count")
    assert handle.active
    del app  # the session and its state go, as Streamlit drops a closed tab's session
    gc.collect()
    assert handle.wait(2) and handle.phase == "stopped" and len(handle.records) < 500
