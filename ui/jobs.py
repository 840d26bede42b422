"""The one view of a long job (DESIGN rule 8): Start, its place in the queue, progress with
the time spent and the time left, a live chart, Stop, and how it ended, in one wording for
every page. The job runs on ``core.runtime.jobs.backend()``; this view only reads its handle,
which stays in the session, so the result survives reruns, tab switches and other clicks.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from core.runtime.budget import check_fits
from core.runtime.device import pick_device
from core.runtime.jobs import Job, JobHandle, backend
from ui.errors import shown_user_errors

POLL_S = 0.5

Render = Callable[[JobHandle[Any]], None]


@dataclass(frozen=True)
class JobView:
    """How a page shows one kind of job. ``key`` keeps its handle in the session and names
    its widgets; ``live`` draws while it runs (a chart of the steps so far), ``result`` after
    it ended (also after Stop, with what was done); ``kept`` says what Stop keeps."""

    key: str
    start: str
    kept: str
    result: Render | None = None
    live: Render | None = None
    start_icon: str = ":material/play_arrow:"
    before_start: Render | None = None  # called with the last job's handle when a new one starts


class SessionJob:
    """What a session keeps of the last job a view started: its handle. When Streamlit drops
    the session (its tab closed, ``server.disconnectedSessionTTL`` later), this is collected
    and the job is stopped, so a closed tab does not hold the device's queue."""

    def __init__(self, handle: JobHandle[Any]) -> None:
        self.handle = handle
        weakref.finalize(self, handle.cancel)


def job_state_key(key: str) -> str:
    """Where the session keeps the ``SessionJob`` of the view ``key``."""
    return f"job:{key}"


def job_handle(key: str) -> JobHandle[Any] | None:
    """The handle of the job a view started in this session, if any."""
    kept: SessionJob | None = st.session_state.get(job_state_key(key))
    return None if kept is None else kept.handle


def run_job(view: JobView, job: Job[Any] | None) -> JobHandle[Any] | None:
    """Start button, then the running job or the last one's ending and result. ``job`` is
    built from the page's settings (None: nothing to start, the page said why); it is
    checked against the memory budget on every run, and a refusal shows instead of Start."""
    handle = job_handle(view.key)
    running = handle is not None and handle.active
    with shown_user_errors() as outcome:
        if job is not None and not running:
            estimate = job.estimate()
            check_fits(estimate.total, job.title, estimate.largest, pick_device())
    if job is not None and not outcome.failed:
        start = st.button(view.start, type="primary", icon=view.start_icon, key=f"{view.key}-start", disabled=running)
        if start and not running:
            with shown_user_errors():
                submitted = backend().submit(job)
                if handle is not None and view.before_start is not None:
                    view.before_start(handle)
                st.session_state[job_state_key(view.key)] = SessionJob(submitted)
                st.rerun()  # drawn again with Start disabled while the job runs
    if handle is None:
        return None
    if handle.active:
        # Stop stays outside the view that redraws itself, so the button is steady under the
        # pointer; its callback cancels before the page's rerun draws anything, and the job's
        # thread notices within one step
        st.button(
            "Stop",
            icon=":material/stop:",
            key=f"{view.key}-stop",
            help=f"Stop the job; {view.kept}.",
            on_click=handle.cancel,
        )
        _live_view(view, handle)
    else:
        show_ending(view, handle)
    return handle


def show_ending(view: JobView, handle: JobHandle[Any]) -> None:
    """How the job ended, in the one wording, and its result."""
    last, seconds = handle.last, f"{handle.elapsed_s:,.1f} s"
    if handle.phase == "failed":
        st.error(handle.message)
        if last is None:
            return
    elif handle.phase == "stopped":
        where = f"at {last.text}" if last else "before its first step"
        st.info(f"Stopped {where} ({seconds}); {view.kept}.", icon=":material/stop_circle:")
        if last is None:
            return
    else:
        st.success(f"Done: {last.text if last else 'nothing to do'} ({seconds}).", icon=":material/check_circle:")
    if view.result is not None:
        view.result(handle)


@st.fragment(run_every=POLL_S)
def _live_view(view: JobView, handle: JobHandle[Any]) -> None:
    """Redrawn every ``POLL_S`` while the job runs. When the job ends, the whole page reruns
    so every section sees its result."""
    if not handle.active:
        st.rerun(scope="app")
    if handle.phase == "waiting":
        ahead = handle.ahead
        st.info(f"Waiting: {ahead} job{'s' if ahead != 1 else ''} ahead on {handle.device_name}.")
        return
    last, remaining = handle.last, handle.remaining_s
    timing = f"{handle.elapsed_s:,.0f} s" + ("" if remaining is None else f", about {remaining:,.0f} s left")
    st.progress(last.fraction if last else 0.0, text=f"{last.text if last else 'Starting'} · {timing}")
    if view.live is not None and last is not None:
        view.live(handle)
