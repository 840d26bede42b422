"""core.runtime.jobs: the in-process backend queues, runs, stops and reports jobs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import torch

from core.runtime.budget import MemoryEstimate, TooLarge
from core.runtime.errors import UserError
from core.runtime.jobs import CancelToken, InProcessBackend, JobHandle, Step, backend


@dataclass
class Counting:
    """Counts to ``steps``, a ``pause_s`` per step; may fail at a step; may hold the queue
    until ``release`` is set."""

    steps: int = 5
    pause_s: float = 0.0
    fail_at: int | None = None
    failure: Exception = field(default_factory=lambda: UserError("Step 3 cannot be done."))
    release: threading.Event | None = None
    peak_bytes: int = 1_000
    title: str = "Counting"

    def estimate(self) -> MemoryEstimate:
        return MemoryEstimate({"the number of steps": self.peak_bytes})

    def run(self, device: torch.device, cancel: CancelToken) -> Iterator[Step[int]]:
        if self.release is not None:
            self.release.wait(10)
        for done in range(1, self.steps + 1):
            if done == self.fail_at:
                raise self.failure
            time.sleep(self.pause_s)
            yield Step(done, self.steps, f"count {done} of {self.steps}", done * 10)


def ended(handle: JobHandle) -> JobHandle:
    assert handle.wait(10), "the job did not end"
    return handle


def test_a_job_runs_to_the_end_and_keeps_every_step():
    handle = ended(InProcessBackend().submit(Counting()))
    assert handle.phase == "done" and not handle.active
    assert handle.records == [10, 20, 30, 40, 50] and handle.last.text == "count 5 of 5"
    assert handle.last.fraction == 1.0 and handle.remaining_s is None and handle.elapsed_s >= 0


def test_stop_ends_a_running_job_within_one_step_and_keeps_what_was_done():
    handle = InProcessBackend().submit(Counting(steps=1_000, pause_s=0.05))
    while len(handle.steps) < 3:
        time.sleep(0.01)
    assert handle.phase == "running" and handle.remaining_s > 0
    clicked = time.monotonic()
    handle.cancel()
    ended(handle)
    assert time.monotonic() - clicked < 1.0
    assert handle.phase == "stopped" and 3 <= len(handle.steps) < 1_000


def test_jobs_on_one_device_wait_in_arrival_order_and_see_their_place():
    release = threading.Event()
    first = InProcessBackend().submit(Counting(release=release))
    while first.phase != "running":
        time.sleep(0.01)
    second = InProcessBackend().submit(Counting())
    third = InProcessBackend().submit(Counting())
    time.sleep(0.7)  # the queue reports places every 0.5 s
    assert (second.phase, second.ahead, third.phase, third.ahead) == ("waiting", 1, "waiting", 2)
    third.cancel()  # Stop while waiting leaves the queue without running
    ended(third)
    assert third.phase == "stopped" and third.steps == []
    release.set()
    assert ended(first).phase == "done" and ended(second).phase == "done"


def test_a_user_error_ends_the_job_with_its_sentence():
    handle = ended(InProcessBackend().submit(Counting(fail_at=3)))
    assert handle.phase == "failed" and handle.message == "Step 3 cannot be done."
    assert handle.records == [10, 20] and handle.error_id is None


def test_a_bug_is_logged_with_an_error_id_and_the_user_sees_only_the_id(caplog):
    with caplog.at_level(logging.ERROR, logger="cnnlab.jobs"):
        handle = ended(InProcessBackend().submit(Counting(fail_at=2, failure=KeyError("internal"))))
    assert handle.phase == "failed" and len(handle.error_id) == 8
    assert handle.message == f"The job failed through a fault of this server (error id {handle.error_id})."
    assert "KeyError" not in handle.message
    logged = [record for record in caplog.records if handle.error_id in record.getMessage()]
    assert logged and logged[0].exc_info[0] is KeyError  # the traceback is in the server's log


def test_a_job_over_the_memory_budget_is_refused_before_it_is_queued(monkeypatch):
    monkeypatch.setenv("CNNLAB_JOB_MEMORY_MB", "1")
    with pytest.raises(TooLarge, match=r"^Counting would need about 2 MB .* Lower the number of steps\.$"):
        InProcessBackend().submit(Counting(peak_bytes=2_000_000))


def test_the_backend_is_the_in_process_one_unless_a_cluster_is_configured(monkeypatch):
    monkeypatch.delenv("CNNLAB_RAY_ADDRESS", raising=False)
    assert isinstance(backend(), InProcessBackend) and backend() is backend()
