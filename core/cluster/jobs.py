"""Jobs on a Ray cluster: the second backend behind ``core.runtime.jobs``.

With ``CNNLAB_RAY_ADDRESS`` set (``local`` starts a cluster inside this process for a
one-machine try; ``auto`` or ``ray://host:10001`` joins a running one), every long job
runs as a Ray task instead of in this server's threads. Ray schedules it by what the job
asks for: ``JOB_GPU_SHARE`` of a GPU where the cluster has GPUs (more than half, so one
heavy job per GPU at a time, as the in-process queue does per device; the rest is for the
model server's replicas, ``serve.yaml``), else one CPU, and the job's ``MemoryEstimate`` as its
``memory``. The task is a streaming generator: each ``Step`` comes back as it is done, as
plain data (the jobs' records are NumPy arrays, numbers and dataclasses). Stop cancels a
waiting task; a running job is asked, through the ledger, to end after its step, as in this
process, and then sends back what it made (``Outcome``: a trained model). A job's models
travel by name (``core.runtime.weights.SharedModel``) and the worker loads them; only the
project's own code runs there, never an upload's.

The queue place a user sees is read from the cluster: a detached actor, the ledger, keeps
the jobs that wait for each resource in the order they were submitted, for every app
replica connected to the cluster. A job that cannot be sent to a worker (a video job: its
output file is in the session's private folder on this machine) runs in this process.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.runtime.budget import check_fits
from core.runtime.device import RAY_ADDRESS_ENV, pick_device, release_memory
from core.runtime.errors import UserError
from core.runtime.jobs import CancelToken, InProcessBackend, Job, JobHandle, Record, Step

LOG = logging.getLogger("cnnlab.cluster")
NAMESPACE = "cnnlab"
LEDGER_NAME = "cnnlab-job-ledger"
TASK_NAME = "cnnlab-job"
JOB_GPU_SHARE = 0.6  # two jobs would need 1.2 GPUs: one per GPU; 0.4 of each is left for model replicas
PROJECT_ROOT = Path(__file__).resolve().parents[2]
LEDGER_POLL_S = 0.5
PROBE_TIMEOUT_S = 3.0


class ClusterUnavailable(UserError):
    """The Ray cluster cannot be joined."""


class WorkerLost(UserError):
    """The worker running a job died (killed, out of memory, its node gone)."""


_connect_guard = threading.Lock()


def connect(address: str) -> None:
    """Join the cluster at ``address`` (``local``: start one here), once per process. The
    workers import this project from where this process has it."""
    import ray

    with _connect_guard:
        if ray.is_initialized():
            return
        config = ray.job_config.JobConfig(code_search_path=[str(PROJECT_ROOT)])
        options: dict[str, Any] = {"namespace": NAMESPACE, "job_config": config, "log_to_driver": False}
        if not _answers(address):
            raise _unavailable(address, "nothing answers there")
        try:
            if address == "local":
                ray.init(address="local", include_dashboard=False, **options)  # a new one, whatever runs here
            else:
                ray.init(address=address, **options)
        except (ConnectionError, RuntimeError, ValueError, SystemExit) as error:  # Ray exits when it gives up
            raise _unavailable(address, repr(error)) from None


def _unavailable(address: str, reason: str) -> ClusterUnavailable:
    LOG.error("The Ray cluster at %s cannot be joined: %s", address, reason)
    return ClusterUnavailable(
        f"The job cluster at {address} ({RAY_ADDRESS_ENV}) cannot be reached, so no job can start now. "
        "Try again in a minute; if it stays so, the operator should check that the cluster is up."
    )


def _answers(address: str) -> bool:
    """Whether something listens at a ``host:port`` or ``ray://host:port`` address, within
    ``PROBE_TIMEOUT_S`` (Ray itself retries for minutes); ``local`` and ``auto`` are Ray's to find."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return True
    try:
        with socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


class RayBackend:
    """Jobs as Ray tasks on the cluster at ``address``."""

    def __init__(self, address: str) -> None:
        connect(address)
        self.ledger, self.here = _ledger(), InProcessBackend()

    def submit(self, job: Job[Record]) -> JobHandle[Record]:
        import ray

        estimate = job.estimate()
        check_fits(estimate.total, job.title, estimate.largest, pick_device())
        sent = _sent(job)
        if sent is None:
            return self.here.submit(job)
        resource = "GPU" if ray.cluster_resources().get("GPU", 0) >= 1 else "CPU"
        handle = ClusterJobHandle(job, sent, f"the cluster's {resource}s", self.ledger, resource, estimate.total)
        threading.Thread(target=handle._run_on_cluster, name="cnnlab-cluster-job", daemon=True).start()
        return handle


def _sent(job: Job[Any]) -> Any:
    """``job`` in the cluster's object store (serialized once, for its task), or None when it
    cannot be sent to a worker: a video job's output file is in the session's private folder
    on this machine, so it runs here."""
    import ray

    try:
        return ray.put(job)
    except Exception:
        LOG.info("Job %r runs in this process: it cannot be sent to the cluster", job.title)
        return None


class ClusterJobHandle(JobHandle[Record]):
    """A job on the cluster: its steps stream back to this thread."""

    def __init__(self, job: Job[Record], sent: Any, device_name: str, ledger: Any, resource: str, memory: int) -> None:
        super().__init__(job, device_name)
        self.sent, self.ledger, self.resource, self.memory = sent, ledger, resource, memory
        self.ticket = uuid.uuid4().hex
        self._task: Any = None

    def cancel(self) -> None:
        """Stop: a waiting task is cancelled; a running job is asked, through the ledger, to
        end after its current step, as in this process, so that it keeps what it made."""
        import ray

        super().cancel()
        if self._task is None or not self.active or not ray.is_initialized():
            return
        try:
            if self.phase == "waiting":
                ray.cancel(self._task)
            else:
                self.ledger.stop.remote(self.ticket)
        except Exception:  # the task has just ended, or the cluster is gone: nothing left to stop
            LOG.info("The job's task could not be cancelled", exc_info=True)

    def _run_on_cluster(self) -> None:
        import ray

        demand = {"num_gpus": JOB_GPU_SHARE} if self.resource == "GPU" else {"num_cpus": 1}
        begun = threading.Event()
        with self._ending():
            ray.get(self.ledger.add.remote(self.resource, self.ticket))
            threading.Thread(target=self._watch_queue, args=(begun,), daemon=True).start()
            try:
                remote = ray.remote(num_returns="streaming")(run_job_on_worker)
                # a lost worker is reported, not retried: the user starts the job again, knowing
                self._task = remote.options(
                    name=TASK_NAME, memory=max(1, int(self.memory)), max_retries=0, **demand
                ).remote(self.sent, self.ledger, self.ticket)
                if self._cancel.cancelled:  # Stop came while the task was being submitted
                    ray.cancel(self._task)
                for item in _streamed(self._task):
                    if item is None:  # the worker has begun
                        begun.set()
                        self.ledger.began.remote(self.resource, self.ticket)
                        self._began()
                        if self._cancel.cancelled:  # Stop came while it was starting
                            self.ledger.stop.remote(self.ticket)
                    elif isinstance(item, Outcome):
                        self.job.take_outcome(item.value)
                    else:
                        self._stepped(item)
            except _Stopped:
                self._cancel.cancel()
            finally:
                begun.set()
                self.sent = None  # the store may drop the job's copy
                self.ledger.ended.remote(self.resource, self.ticket)

    def _watch_queue(self, begun: threading.Event) -> None:
        """The number of jobs ahead of this one, from the ledger, until it begins."""
        import ray

        while not begun.is_set():
            try:
                self._waiting(ray.get(self.ledger.ahead.remote(self.resource, self.ticket), timeout=5))
            except Exception:  # the ledger is unreachable for now: the place shown stays as it was
                LOG.warning("The job ledger did not answer", exc_info=True)
            begun.wait(LEDGER_POLL_S)


def _streamed(task: Any) -> Iterator[Any]:
    """What the streaming task yields, as it comes, with the cluster's errors as the job's: a
    cancelled task as ``_Stopped``, a ``UserError`` raised on the worker as itself, a lost
    worker as ``WorkerLost``."""
    import ray
    from ray import exceptions

    references = iter(task)
    while True:
        try:
            reference = next(references, None)
            if reference is None:
                return
            item = ray.get(reference)
        except exceptions.TaskCancelledError:
            raise _Stopped from None
        except exceptions.RayTaskError as error:
            cause = error.cause
            if isinstance(cause, (exceptions.TaskCancelledError, KeyboardInterrupt)):
                raise _Stopped from None
            if isinstance(cause, UserError):
                raise type(cause)(*cause.args) from None
            raise
        except (exceptions.WorkerCrashedError, exceptions.OutOfMemoryError, exceptions.NodeDiedError) as error:
            LOG.warning("A cluster worker was lost: %s", error)
            raise WorkerLost(
                "The cluster worker running this job stopped before the job ended (it ran out of memory, was "
                "killed, or its machine left the cluster). What it had done is kept; start the job again."
            ) from None
        yield item


class _Stopped(Exception):
    """The task was cancelled: the job ends as stopped."""


@dataclass(frozen=True)
class Outcome:
    """What a job made beyond its steps (a trained model), sent back once it has ended: from
    its ``outcome()``, taken by the submitter's copy of the job with ``take_outcome``."""

    value: Any


class LedgerCancelToken(CancelToken):
    """A worker's cancel token: set once the ledger has been asked to stop ``ticket``, which it
    reads at most every ``LEDGER_POLL_S`` / 2."""

    def __init__(self, ledger: Any, ticket: str) -> None:
        super().__init__()
        self.ledger, self.ticket = ledger, ticket
        self._read_at = 0.0

    @property
    def cancelled(self) -> bool:
        import ray

        if not self._event.is_set() and time.monotonic() - self._read_at > LEDGER_POLL_S / 2:
            self._read_at = time.monotonic()
            if ray.get(self.ledger.stopped.remote(self.ticket)):
                self._event.set()
        return self._event.is_set()


def run_job_on_worker(job: Job[Any], ledger: Any, ticket: str) -> Iterator[Step[Any] | Outcome | None]:
    """The task: None once it has begun, then the job's steps on the worker's own device until
    it ends or is asked to stop, then its ``Outcome`` if it makes one. Memory is given back in
    any case."""
    cancel = LedgerCancelToken(ledger, ticket)
    try:
        yield None
        with closing(job.run(pick_device(), cancel)) as steps:
            for step in steps:
                yield step
                if cancel.cancelled:
                    break
        if hasattr(job, "outcome"):
            yield Outcome(job.outcome())
    finally:
        release_memory()


class JobLedger:
    """The actor that keeps, for each resource, the jobs running on it and those waiting for
    it in the order they were submitted."""

    def __init__(self) -> None:
        self.waiting: dict[str, list[str]] = {}
        self.running: dict[str, set[str]] = {}
        self.stopping: set[str] = set()

    def add(self, resource: str, ticket: str) -> None:
        self.waiting.setdefault(resource, []).append(ticket)

    def began(self, resource: str, ticket: str) -> None:
        self._leave_queue(resource, ticket)
        self.running.setdefault(resource, set()).add(ticket)

    def ended(self, resource: str, ticket: str) -> None:
        self._leave_queue(resource, ticket)
        self.running.get(resource, set()).discard(ticket)
        self.stopping.discard(ticket)

    def stop(self, ticket: str) -> None:
        self.stopping.add(ticket)

    def stopped(self, ticket: str) -> bool:
        return ticket in self.stopping

    def ahead(self, resource: str, ticket: str) -> int:
        """The jobs running on ``resource`` and those waiting before ``ticket``."""
        queue = self.waiting.get(resource, [])
        return len(self.running.get(resource, ())) + (queue.index(ticket) if ticket in queue else 0)

    def _leave_queue(self, resource: str, ticket: str) -> None:
        queue = self.waiting.get(resource, [])
        if ticket in queue:
            queue.remove(ticket)


def _ledger() -> Any:
    """The cluster's one ledger, made by the first replica that asks."""
    import ray

    actor = ray.remote(num_cpus=0)(JobLedger)
    return actor.options(name=LEDGER_NAME, get_if_exists=True, lifetime="detached").remote()
