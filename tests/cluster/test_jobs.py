"""core.cluster.jobs: jobs as Ray tasks on a local cluster of 2 CPUs and a declared GPU
(no GPU is needed: Ray schedules the resource, and the worker computes on what it has).
The same jobs run on both backends with the same results; Stop, a job's own error, a
killed worker, and the queue place read from the cluster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import torch

from core.architectures.mobilenet import SeparableTimingJob
from core.cluster import jobs as cluster
from core.runtime import jobs
from core.runtime.budget import MemoryEstimate
from core.runtime.jobs import CancelToken, InProcessBackend, Step
from tests.unit.test_jobs import Counting, ended

pytestmark = pytest.mark.cluster


@dataclass
class ReportingPid:
    """Yields its worker's process id, then waits ``pause_s`` per step for ``steps`` steps."""

    steps: int = 200
    pause_s: float = 0.05
    title: str = "Reporting its process"

    def estimate(self) -> MemoryEstimate:
        return MemoryEstimate({"the number of steps": 1_000})

    def run(self, device: torch.device, cancel: CancelToken) -> Iterator[Step[int]]:
        for done in range(1, self.steps + 1):
            yield Step(done, self.steps, f"step {done}", os.getpid())
            time.sleep(self.pause_s)


def test_an_unreachable_cluster_is_a_message_and_no_job_starts(monkeypatch):
    import ray

    assert not ray.is_initialized()  # the first test of the session's cluster tests: no cluster joined yet
    monkeypatch.setattr(cluster, "_connect_guard", __import__("threading").Lock())
    with pytest.raises(cluster.ClusterUnavailable, match=r"127\.0\.0\.1:9 \(CNNLAB_RAY_ADDRESS\) cannot be reached"):
        cluster.connect("127.0.0.1:9")
    assert not ray.is_initialized()


@pytest.fixture(scope="module")
def ray_backend(ray_cluster) -> Iterator[cluster.RayBackend]:
    try:
        yield cluster.RayBackend("local")
    finally:
        jobs._backends.clear()  # they belong to this module's tests


@pytest.fixture(params=["in-process", "ray"])
def either_backend(request) -> jobs.Backend:
    return InProcessBackend() if request.param == "in-process" else request.getfixturevalue("ray_backend")


def test_a_job_gives_the_same_steps_on_either_backend(either_backend):
    handle = ended(either_backend.submit(Counting()))
    assert handle.phase == "done" and handle.records == [10, 20, 30, 40, 50]
    assert handle.last.text == "count 5 of 5"


def test_a_real_job_returns_its_records_as_plain_data_on_either_backend(either_backend):
    sizes = (("small", (16, 4, 3, 8)), ("wider", (16, 8, 3, 16)))
    handle = ended(either_backend.submit(SeparableTimingJob(sizes)))
    assert handle.phase == "done" and [label for label, _ in handle.records] == ["small", "wider"]
    assert all(timing.normal_s > 0 and timing.separable_s > 0 for _, timing in handle.records)


def test_on_the_cluster_the_job_runs_in_a_worker_that_asked_for_the_gpu(ray_backend):
    handle = ended(ray_backend.submit(ReportingPid(steps=2, pause_s=0.0)))
    assert handle.phase == "done" and handle.device_name == "the cluster's GPUs"
    assert handle.records[0] != os.getpid()  # another process: a Ray worker


def test_a_users_error_on_the_worker_ends_the_job_with_its_sentence(either_backend):
    handle = ended(either_backend.submit(Counting(fail_at=3)))
    assert handle.phase == "failed" and handle.message == "Step 3 cannot be done."
    assert handle.records == [10, 20] and handle.error_id is None


def test_stop_cancels_the_task_on_its_worker_within_2_s_and_keeps_what_was_done(ray_backend):
    handle = ray_backend.submit(Counting(steps=1_000, pause_s=0.05))
    deadline = time.monotonic() + 30
    while len(handle.steps) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    clicked = time.monotonic()
    handle.cancel()
    assert handle.wait(10)
    assert time.monotonic() - clicked < 2.0
    assert handle.phase == "stopped" and 3 <= len(handle.steps) < 1_000


def test_a_killed_worker_says_so_and_keeps_what_was_done(ray_backend):
    handle = ray_backend.submit(ReportingPid())
    deadline = time.monotonic() + 30
    while not handle.steps and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(handle.records[0], signal.SIGKILL)
    assert handle.wait(30)
    assert handle.phase == "failed" and "worker running this job stopped" in handle.message
    assert handle.steps and handle.error_id is None
    again = ended(ray_backend.submit(ReportingPid(steps=2, pause_s=0.0)))  # and it can be started again
    assert again.phase == "done"


def test_jobs_for_the_one_gpu_wait_in_order_beside_the_model_replicas_and_see_their_place(ray_backend, model_server):
    import ray

    held_by_replicas = 1 - ray.available_resources().get("GPU", 0)
    assert 0 < held_by_replicas <= 1 - cluster.JOB_GPU_SHARE  # the model server's shares leave room for one job
    first = ray_backend.submit(ReportingPid(steps=400, pause_s=0.02))
    deadline = time.monotonic() + 30
    while first.phase != "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    second, third = ray_backend.submit(Counting()), ray_backend.submit(Counting())
    deadline = time.monotonic() + 10
    while (second.ahead, third.ahead) != (1, 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (second.phase, second.ahead, third.phase, third.ahead) == ("waiting", 1, "waiting", 2)
    third.cancel()  # Stop while waiting: it never runs
    assert third.wait(10) and third.phase == "stopped" and third.steps == []
    first.cancel()
    assert ended(second).phase == "done" and ended(first).phase == "stopped"


def test_a_job_that_cannot_travel_runs_in_this_process(ray_backend):
    job = Counting()
    job.release = __import__("threading").Event()  # an Event cannot be pickled
    job.release.set()
    handle = ended(ray_backend.submit(job))
    assert handle.phase == "done" and not isinstance(handle, cluster.ClusterJobHandle)


def test_a_page_runs_its_job_on_the_cluster_when_the_address_is_set(ray_backend, monkeypatch):
    from tests.app.elements import finish_job, job_of, open_page
    from tests.app.test_mobilenet_page import frame_with

    monkeypatch.setenv(cluster.RAY_ADDRESS_ENV, "local")  # the cluster the fixture started
    app = open_page("app_pages/mobilenet.py")
    app.button(key="time-start").click().run()
    assert isinstance(job_of(app, "time"), cluster.ClusterJobHandle)
    finish_job(app, "time", timeout_s=120)
    timed = frame_with(app, "time ratio")
    assert timed["layer"].tolist() == ["yours: 6×6×3 → 5, 3×3", "MobileNet block: 112×112×64 → 128, 3×3"]
    assert (timed["normal ms"] > 0).all() and not app.exception


def test_without_an_address_the_server_neither_imports_nor_starts_ray():
    code = (
        "import sys; from core.runtime import jobs; "
        "assert isinstance(jobs.backend(), jobs.InProcessBackend); print('ray' in sys.modules)"
    )
    environment = {key: value for key, value in os.environ.items() if key != cluster.RAY_ADDRESS_ENV}
    output = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "False"


def test_a_stopped_training_run_on_the_cluster_sends_back_the_model_it_trained(ray_backend):
    from core.segmentation.training import TrainingConfig, TrainingJob, new_model

    config = TrainingConfig(epochs=50, train_images=32, validation_images=8, image_size=32, batch_size=8, depth=2)
    handle = ray_backend.submit(TrainingJob(config))
    deadline = time.monotonic() + 60
    while len(handle.steps) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    clicked = time.monotonic()
    handle.cancel()  # asked to end after its step: it keeps what it learned
    assert handle.wait(30) and time.monotonic() - clicked < 2.0
    assert handle.phase == "stopped" and 3 <= len(handle.steps) < 50 * 4
    trained, untrained = handle.job.model, new_model(config)
    assert trained is not None and not trained.training
    changed = [not torch.equal(a, b) for a, b in zip(trained.state_dict().values(), untrained.state_dict().values())]
    assert any(changed)  # trained on the worker, not a fresh model
    assert trained(torch.rand(1, 3, 32, 32)).shape == (1, 4, 32, 32)
