"""core.runtime.device: the device choice, its override, autocast dtype, locks and the badge."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch

from core.runtime.device import (
    DeviceError,
    autocast_dtype,
    describe_device,
    device_badge,
    device_lock,
    pick_device,
)
from tests.conftest import ROOT


def test_without_override_the_best_available_device_is_chosen(monkeypatch):
    monkeypatch.delenv("CNNLAB_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device() == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device() == torch.device("cuda")


@pytest.mark.parametrize("value", ["cpu", " CPU ", "Cpu"])
def test_override_selects_the_cpu(monkeypatch, value):
    monkeypatch.setenv("CNNLAB_DEVICE", value)
    assert pick_device() == torch.device("cpu")


@pytest.mark.parametrize("value", ["tpu", "banana", "cuda:x", "meta"])
def test_invalid_override_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("CNNLAB_DEVICE", value)
    with pytest.raises(DeviceError, match="CNNLAB_DEVICE"):
        pick_device()


def test_cuda_override_without_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("CNNLAB_DEVICE", "cuda")
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        pick_device()


def test_cuda_index_beyond_the_gpus_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setenv("CNNLAB_DEVICE", "cuda:3")
    with pytest.raises(DeviceError, match="only 1 CUDA GPU"):
        pick_device()


def test_mps_override_where_there_is_none(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setenv("CNNLAB_DEVICE", "mps")
    with pytest.raises(DeviceError, match="MPS"):
        pick_device()


def test_cpu_runs_in_float32():
    assert autocast_dtype(torch.device("cpu")) is None
    assert autocast_dtype(torch.device("mps")) is None


def test_cuda_autocast_dtype_follows_bf16_support(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert autocast_dtype(torch.device("cuda")) is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert autocast_dtype(torch.device("cuda")) is torch.float16


def test_one_lock_per_device():
    cpu = device_lock(torch.device("cpu"))
    assert device_lock(torch.device("cpu")) is cpu
    assert device_lock(torch.device("cuda")) is device_lock(torch.device("cuda:0"))
    assert device_lock(torch.device("cuda:1")) is not device_lock(torch.device("cuda:0"))
    assert device_lock(torch.device("cuda:0")) is not cpu
    with cpu:
        assert not cpu.acquire(blocking=False)


def test_cpu_description_names_the_core_count():
    assert describe_device(torch.device("cpu")) == f"CPU ({os.cpu_count()} cores)"


def test_badge_with_torch_loaded_describes_the_picked_device(monkeypatch):
    monkeypatch.setenv("CNNLAB_DEVICE", "cpu")
    assert device_badge() == f"CPU ({os.cpu_count()} cores)"


def test_badge_does_not_import_torch():
    script = (
        "import sys; from core.runtime.device import device_badge; print(device_badge()); print('torch' in sys.modules)"
    )
    env = {**os.environ, "CNNLAB_DEVICE": "cpu"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    badge, torch_loaded = result.stdout.strip().splitlines()
    assert badge == f"CPU ({os.cpu_count()} cores)"
    assert torch_loaded == "False"


@pytest.mark.gpu
def test_gpu_is_picked_and_named_when_present(monkeypatch):
    monkeypatch.delenv("CNNLAB_DEVICE", raising=False)
    device = pick_device()
    assert device.type == "cuda"
    assert describe_device(device) == torch.cuda.get_device_name(0)
    assert autocast_dtype(device) in (torch.bfloat16, torch.float16)


def test_heavy_jobs_take_turns_and_waiters_see_their_place():
    import threading

    import torch

    from core.runtime.device import job_queue

    queue = job_queue(torch.device("cpu"))
    first_running, release = threading.Event(), threading.Event()
    seen: list[int] = []
    order: list[str] = []

    def first() -> None:
        with queue.turn():
            order.append("first")
            first_running.set()
            release.wait(5)

    worker = threading.Thread(target=first)
    worker.start()
    first_running.wait(5)

    def waiting(ahead: int) -> None:
        seen.append(ahead)
        release.set()  # the first job finishes once the second has seen its place

    with queue.turn(on_wait=waiting):
        order.append("second")
    worker.join(5)
    assert order == ["first", "second"] and seen and set(seen) == {1}
    assert queue is job_queue(torch.device("cpu:0"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim and /proc")
def test_freed_memory_goes_back_to_the_system_after_release():
    """Many mid-sized arrays freed leave glibc's heap pages resident until they are trimmed."""
    code = (
        "import numpy as np\n"
        "from core.runtime.budget import _status_kib\n"
        "from core.runtime.device import release_memory\n"
        "rss = lambda: _status_kib('VmRSS:') * 1024\n"
        "before = rss()\n"
        "chunks = [np.ones(10_000) for _ in range(20_000)]\n"  # 1.6 GB in 80 KB arrays, below mmap's threshold
        "kept = [np.ones(10) for _ in range(100)]\n"
        "del chunks\n"
        "freed = rss()\n"
        "release_memory()\n"
        "print(before, freed, rss())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    before, freed, released = map(int, done.stdout.split())
    assert freed - before > 300_000_000  # glibc kept what was freed
    assert released - before < 100_000_000


def test_the_memory_releaser_runs_in_the_background_until_stopped():
    from core.runtime.device import keep_releasing_memory

    calls = []
    stop = keep_releasing_memory(interval_s=0.02, release=lambda: calls.append(time.monotonic()))
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    time.sleep(0.1)
    count = len(calls)
    time.sleep(0.1)
    assert count >= 3 and len(calls) == count


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt and /proc")
def test_kept_pages_are_reused_without_page_faults_and_released_on_demand():
    """A loop that frees and reallocates 8 MB blocks: glibc's default trims the heap's top
    and faults fresh pages in every round; with the pages kept it reuses them, and
    ``release_memory`` still gives them back."""
    code = (
        "import resource, sys, numpy as np\n"
        "from core.runtime.budget import _status_kib\n"
        "from core.runtime.device import keep_freed_pages, release_memory\n"
        "if sys.argv[1] == 'kept': assert keep_freed_pages()\n"
        "def round_():\n"
        "    blocks = [np.ones(1 << 20) for _ in range(8)]\n"  # 8 × 8 MB from the heap, all freed
        "    del blocks\n"
        "round_()\n"
        "faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(20): round_()\n"
        "faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults\n"
        "held = _status_kib('VmRSS:') * 1024\n"
        "release_memory()\n"
        "print(faults, held - _status_kib('VmRSS:') * 1024)\n"
    )
    runs = {}
    for mode in ("default", "kept"):
        done = subprocess.run(
            [sys.executable, "-c", code, mode], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
        )
        runs[mode] = tuple(map(int, done.stdout.split()))
    (default_faults, _), (kept_faults, released) = runs["default"], runs["kept"]
    assert default_faults > 20 * 2_000  # at least 8 MB of 4 KB pages faulted in again every round
    assert kept_faults < default_faults / 20
    assert released > 50_000_000  # the kept pages went back to the system
