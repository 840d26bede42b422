"""Where tensors run: device choice, the autocast dtype, one lock and one job queue per device.

``pick_device`` prefers CUDA, then Apple's MPS, then the CPU; the ``CNNLAB_DEVICE``
environment variable overrides the choice (``cpu``, ``cuda``, ``cuda:1``, ``mps``).
Models shared by every user of a hosted instance are called under ``device_lock`` so
that one request at a time uses them (ultralytics models are not thread-safe). Heavy
jobs wait for their turn in the device's ``job_queue`` and can tell the user their place.
"""

from __future__ import annotations

import os
import platform
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from core.runtime.errors import UserError

if TYPE_CHECKING:
    import torch

DEVICE_ENV_VAR = "CNNLAB_DEVICE"
RAY_ADDRESS_ENV = "CNNLAB_RAY_ADDRESS"  # set: long jobs run on that Ray cluster (core.cluster.jobs)
_DEVICE_TYPES = ("cpu", "cuda", "mps")


class DeviceError(UserError):
    """The requested device does not exist on this machine."""


def pick_device() -> torch.device:
    """The device models run on: ``CNNLAB_DEVICE`` if set, else cuda > mps > cpu."""
    import torch

    requested = os.environ.get(DEVICE_ENV_VAR, "").strip().lower()
    if requested:
        return _validated_device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _validated_device(name: str) -> torch.device:
    import torch

    hint = f"Set {DEVICE_ENV_VAR} to one of cpu, cuda, cuda:N or mps, or leave it unset."
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"{DEVICE_ENV_VAR}={name!r} is not a device name. {hint}") from None
    if device.type not in _DEVICE_TYPES:
        raise DeviceError(f"{DEVICE_ENV_VAR}={name!r} is not supported. {hint}")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"{DEVICE_ENV_VAR}={name!r} asks for CUDA, but no CUDA GPU is visible.")
        index = 0 if device.index is None else device.index
        if index >= torch.cuda.device_count():
            raise DeviceError(f"{DEVICE_ENV_VAR}={name!r}: there are only {torch.cuda.device_count()} CUDA GPU(s).")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"{DEVICE_ENV_VAR}={name!r} asks for Apple MPS, which is not available here.")
    return device


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The reduced precision for ``torch.autocast`` on ``device``, or None for plain float32.

    bfloat16 on CUDA GPUs that support it (Ampere and newer), float16 on older ones;
    float32 on the CPU and MPS, where autocast is rarely faster for convnets.
    """
    import torch

    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def device_lock(device: torch.device) -> threading.Lock:
    """The one lock serializing calls into shared models on ``device``."""
    key = f"{device.type}:{device.index or 0}"  # "cuda" and "cuda:0" share one lock
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


@contextmanager
def torch_threads_kept() -> Iterator[None]:
    """Puts torch's CPU thread count back after a library call that changes it for the whole
    process. ultralytics sets it to min(8, cores − 1) whenever it builds a predictor: on a
    2-core server one thread, for every user's style transfer and training from then on."""
    import torch

    threads = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def release_memory() -> None:
    """Give memory a finished job freed back to the system, so the server's resident set
    falls back: Python's reference cycles collected, the CUDA allocator's cached blocks
    released, and, with glibc, the free pages of its heaps returned (``malloc_trim``); glibc
    otherwise keeps them for the process."""
    import ctypes
    import gc

    gc.collect()
    torch = sys.modules.get("torch")  # nothing to release on a device no page has used
    if torch is not None and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # another C library (musl): nothing to trim
            pass


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
KEPT_FREE_BYTES = 1 << 30  # free heap top glibc keeps between two calls of release_memory
LARGEST_HEAP_BLOCK = 32 << 20  # larger blocks are mapped and unmapped one by one (glibc's own maximum)


def keep_freed_pages() -> bool:
    """Let glibc keep the pages that a running job frees, until ``release_memory`` returns
    them (after each job and every 30 s). By default glibc hands the top of its heap back to
    the kernel whenever enough of it is free, so a loop that frees and reallocates its
    activations every step gets fresh pages every step, each zeroed by the kernel when first
    touched: 13,000–27,000 minor page faults per style-transfer step at 256² on the CPU,
    where the PyTorch tutorial's loop, holding other blocks at the heap's top, has next to
    none. False where the C library is not glibc."""
    import ctypes

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(
            libc.mallopt(M_MMAP_THRESHOLD, LARGEST_HEAP_BLOCK) and libc.mallopt(M_TRIM_THRESHOLD, KEPT_FREE_BYTES)
        )
    except (OSError, AttributeError):  # another C library (musl)
        return False


def keep_releasing_memory(interval_s: float = 30.0, release: Callable[[], None] = release_memory) -> threading.Event:
    """A daemon thread that calls ``release`` every ``interval_s`` seconds until the returned
    event is set: what a job leaves behind when its page's run ends, and what Streamlit frees
    when it drops a closed session's state (``server.disconnectedSessionTTL``), goes back to
    the system within that."""
    stop = threading.Event()

    def release_until_stopped() -> None:
        while not stop.wait(interval_s):
            release()

    threading.Thread(target=release_until_stopped, name="cnnlab-release-memory", daemon=True).start()
    return stop


_server_release: threading.Event | None = None
_server_release_guard = threading.Lock()


def server_memory_release() -> threading.Event:
    """``keep_freed_pages`` and one ``keep_releasing_memory`` thread for this process, however
    often it is called: Streamlit may clear its resource cache, and a test process runs many
    apps (every further thread would collect and trim the whole heap every 30 s as well)."""
    global _server_release
    with _server_release_guard:
        if _server_release is None:
            keep_freed_pages()
            _server_release = keep_releasing_memory()
        return _server_release


class JobQueue:
    """Heavy jobs (training, style transfer) on one device run one at a time, in arrival order."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._tickets: list[object] = []

    def place(self, ticket: object) -> int:
        """0 while ``ticket`` runs, else how many jobs are ahead of it."""
        with self._changed:
            return self._tickets.index(ticket)

    @contextmanager
    def turn(
        self, on_wait: Callable[[int], None] = lambda ahead: None, give_up: Callable[[], bool] = lambda: False
    ) -> Iterator[None]:
        """Wait for this job's turn, calling ``on_wait(jobs ahead)`` while waiting, or until
        ``give_up()`` (then the block runs at once and should do nothing); leave the queue on
        exit, also when the caller is interrupted, and give the memory the job freed back to
        the system (``release_memory``)."""
        ticket = object()
        with self._changed:
            self._tickets.append(ticket)
        try:
            while (ahead := self.place(ticket)) > 0 and not give_up():
                on_wait(ahead)
                with self._changed:
                    self._changed.wait(timeout=0.5)
            yield
        finally:
            with self._changed:
                self._tickets.remove(ticket)
                self._changed.notify_all()
            release_memory()


_queues: dict[str, JobQueue] = {}


def job_queue(device: torch.device) -> JobQueue:
    """The one queue of heavy jobs on ``device``."""
    key = f"{device.type}:{device.index or 0}"
    with _locks_guard:
        return _queues.setdefault(key, JobQueue())


def describe_device(device: torch.device) -> str:
    """A short human name: the GPU's model, "Apple MPS", or the CPU with its core count."""
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({os.cpu_count()} cores)"


def ray_address() -> str | None:
    """``CNNLAB_RAY_ADDRESS``, or None: long jobs run in this process."""
    return os.environ.get(RAY_ADDRESS_ENV, "").strip() or None


def device_badge() -> str:
    """The sidebar's one-line device description, cheap enough for the home page.

    Once torch is loaded in this process the answer is ``describe_device(pick_device())``.
    Before that (the home page never imports torch) the same facts are read from the
    operating system: the NVIDIA driver's GPU list, or an Apple Silicon Mac for MPS.
    """
    if "torch" in sys.modules:
        return describe_device(pick_device())
    requested = os.environ.get(DEVICE_ENV_VAR, "").strip().lower()
    cpu = f"CPU ({os.cpu_count()} cores)"
    if requested == "cpu":
        return cpu
    if requested.startswith("mps") or (not requested and _is_apple_silicon()):
        return "Apple MPS"
    gpu_names = _nvidia_gpu_names()
    if gpu_names:
        index = int(requested.split(":")[1]) if requested.startswith("cuda:") else 0
        return gpu_names[min(index, len(gpu_names) - 1)]
    return cpu


def _is_apple_silicon() -> bool:
    return platform.system() == "Darwin" and platform.machine() == "arm64"


def _nvidia_gpu_names() -> list[str]:
    """GPU models from the NVIDIA driver's ``/proc`` files (Linux), in bus order."""
    names = []
    for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information")):
        for line in info.read_text(errors="replace").splitlines():
            if line.startswith("Model:"):
                names.append(line.split(":", 1)[1].strip())
    return names
