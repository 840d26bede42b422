"""Long work as jobs (DESIGN rule 8): training, style transfer, timing many networks.

A job is an object with its settings and inputs, a ``title`` that names it in messages,
an ``estimate()`` of its peak memory (checked against the budget before it is queued) and
a ``run(device, cancel)`` generator that yields a ``Step`` after each unit of work. A
backend runs jobs and reports, through a ``JobHandle``, their place in the queue, their
steps, and how they ended. ``InProcessBackend`` is the default: every job in a thread of
this server, one heavy job per device at a time in arrival order (``core.runtime.device``'s
queue), memory given back after each. Callers hold the handle only; they never learn which
backend runs the job.

A job that raises ``UserError`` ends "failed" with the error's sentence. Any other exception
is a bug: its traceback goes to the server's log under a short error id, and the handle's
message names only the id.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from core.runtime.budget import MemoryEstimate, check_fits
from core.runtime.device import job_queue, pick_device, ray_address
from core.runtime.errors import UserError

if TYPE_CHECKING:
    import torch

LOG = logging.getLogger("cnnlab.jobs")

Record = TypeVar("Record")
Phase = Literal["waiting", "running", "done", "stopped", "failed"]


class CancelToken:
    """Set by Stop; a job checks ``cancelled`` between its steps and inside long ones."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True)
class Step(Generic[Record]):
    """One unit of a job's work done: ``done`` of ``total`` units, a short description of
    where the job is ("epoch 2 of 8"), and the job's own typed progress record."""

    done: int
    total: int
    text: str
    record: Record

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 1.0


class Job(Protocol[Record]):
    """What a backend can run."""

    @property
    def title(self) -> str:
        """The job in a few words, as the memory refusal names it ("Training on 300 photos")."""
        ...

    def estimate(self) -> MemoryEstimate: ...

    def run(self, device: torch.device, cancel: CancelToken) -> Iterator[Step[Record]]: ...


class JobHandle(Generic[Record]):
    """A submitted job as its submitter sees it: phase, queue place, steps so far, how it ended.

    Written by the backend's thread, read by the page; every field is replaced whole, so a
    reader never sees half an update."""

    def __init__(self, job: Job[Record], device_name: str) -> None:
        self.job, self.device_name = job, device_name
        self.phase: Phase = "waiting"
        self.ahead = 0
        self.steps: list[Step[Record]] = []
        self.message: str | None = None
        self.error_id: str | None = None
        self._started: float | None = None
        self._ended: float | None = None
        self._cancel = CancelToken()
        self._finished = threading.Event()

    @property
    def active(self) -> bool:
        return self.phase in ("waiting", "running")

    @property
    def last(self) -> Step[Record] | None:
        return self.steps[-1] if self.steps else None

    @property
    def records(self) -> list[Record]:
        return [step.record for step in self.steps]

    @property
    def elapsed_s(self) -> float:
        if self._started is None:
            return 0.0
        return (self._ended or time.monotonic()) - self._started

    @property
    def remaining_s(self) -> float | None:
        """What is left at the pace so far, once a step is done."""
        last = self.last
        if last is None or last.done == 0 or not self.active:
            return None
        return self.elapsed_s / last.done * max(0, last.total - last.done)

    def cancel(self) -> None:
        self._cancel.cancel()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the job has ended; True if it did within ``timeout_s``."""
        return self._finished.wait(timeout_s)

    def _run(self, device: torch.device) -> None:
        """The job's whole life on this thread: queue, steps, the way it ends."""
        with self._ending():
            with job_queue(device).turn(on_wait=self._waiting, give_up=lambda: self._cancel.cancelled):
                if not self._cancel.cancelled:
                    self._began()
                    # closed on Stop, so the job's own clean-up (a video file's end) runs at once
                    with closing(self.job.run(device, self._cancel)) as steps:
                        for step in steps:
                            self._stepped(step)
                            if self._cancel.cancelled:
                                break

    @contextmanager
    def _ending(self) -> Iterator[None]:
        """How the job ends, whichever backend ran the block: done or stopped; failed with a
        ``UserError``'s sentence; or, for any other exception, a bug under an error id."""
        try:
            yield
            self.phase = "stopped" if self._cancel.cancelled else "done"
        except UserError as error:
            self.message, self.phase = str(error), "failed"
        except Exception:
            self.error_id = uuid.uuid4().hex[:8]
            LOG.exception("Job %r failed with error id %s", self.job.title, self.error_id)
            self.message = f"The job failed through a fault of this server (error id {self.error_id})."
            self.phase = "failed"
        finally:
            self._ended = time.monotonic()
            self._finished.set()

    def _began(self) -> None:
        self._started, self.phase = time.monotonic(), "running"

    def _stepped(self, step: Step[Record]) -> None:
        self.steps = [*self.steps, step]

    def _waiting(self, ahead: int) -> None:
        self.ahead = ahead


class Backend(Protocol):
    def submit(self, job: Job[Any]) -> JobHandle[Any]:
        """Check the job's memory against the budget (raising ``TooLarge``), queue it, and
        return at once."""
        ...


class InProcessBackend:
    """Jobs in threads of this server process, one at a time per device."""

    def submit(self, job: Job[Record]) -> JobHandle[Record]:
        device = pick_device()
        estimate = job.estimate()
        check_fits(estimate.total, job.title, estimate.largest, device)
        handle = JobHandle(job, str(device))
        threading.Thread(target=handle._run, args=(device,), name="cnnlab-job", daemon=True).start()
        return handle


_backends: dict[str, Backend] = {}
_backends_guard = threading.Lock()


def backend() -> Backend:
    """The backend jobs run on: the Ray cluster at ``CNNLAB_RAY_ADDRESS`` when it is set
    (``core.cluster.jobs``), else this process."""
    address = ray_address()
    if address is None:
        return _backends.setdefault("inprocess", InProcessBackend())
    from core.cluster import jobs as cluster  # imports Ray, only when the address is set

    with _backends_guard:
        if address not in _backends:
            _backends[address] = cluster.RayBackend(address)
        return _backends[address]
