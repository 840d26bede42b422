"""Memory budgets for jobs on a shared server: a job whose memory grows with what a user
chooses (batch size, image size, number of images) estimates its peak from its settings
before it starts and is refused, naming the setting to lower, when it would not fit.

The budget per job is ``CNNLAB_JOB_MEMORY_MB`` (default 6,000 MB: two such jobs, the loaded
models and the server fit in 24 GB); on CUDA also at most 80 % of the GPU's free memory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from core.runtime.errors import UserError

JOB_MEMORY_ENV = "CNNLAB_JOB_MEMORY_MB"
DEFAULT_JOB_MEMORY_MB = 6_000
MB = 1_000_000


class TooLarge(UserError):
    """A job that would take more memory than one job may; the message names the setting to lower."""


@dataclass(frozen=True)
class MemoryEstimate:
    """A job's estimated peak in bytes, split by the setting each part grows with (e.g.
    {"the batch size": …, "the number of training images": …}), so a refusal can name the
    setting that matters most."""

    parts: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    @property
    def largest(self) -> str:
        return max(self.parts, key=self.parts.__getitem__)


def job_budget_bytes(device: torch.device | str = "cpu") -> int:
    """The most memory one job may take on ``device``."""
    value = os.environ.get(JOB_MEMORY_ENV, "").strip()
    budget = (int(value) if value.isdigit() and int(value) > 0 else DEFAULT_JOB_MEMORY_MB) * MB
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        budget = min(budget, int(0.8 * free))
    return budget


def check_fits(estimate_bytes: int, what: str, lower: str, device: torch.device | str = "cpu") -> None:
    """Refuse a job whose estimated peak exceeds the budget: "``what`` would need about X MB
    of memory; one job may use Y MB on this server. Lower ``lower``."."""
    budget = job_budget_bytes(device)
    if estimate_bytes > budget:
        raise TooLarge(
            f"{what} would need about {estimate_bytes / MB:,.0f} MB of memory; one job may use "
            f"{budget / MB:,.0f} MB on this server ({JOB_MEMORY_ENV}). Lower {lower}."
        )


def activation_values(model: torch.nn.Module, input_shape: tuple[int, ...]) -> list[int]:
    """How many values each leaf module of ``model`` outputs, in call order, for one input
    of ``input_shape`` (batch 1), counted on the meta device: nothing is allocated. Build
    ``model`` there."""
    produced = []
    hooks = [
        module.register_forward_hook(lambda module, inputs, output: produced.append(output.numel()))
        for module in model.modules()
        if not any(module.children())
    ]
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape, device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
    return produced


class PeakMemory:
    """How far memory rises during a block: CUDA's ``max_memory_allocated``; on Linux the
    process's peak resident set (``VmHWM``, reset on entry), which other work in the same
    process also moves; None elsewhere."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.bytes = device, None

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
        elif _STATUS.exists():
            self._base = _status_kib("VmRSS:") * 1024
            _CLEAR_REFS.write_text("5")  # Linux: reset the peak resident set
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            self.bytes = torch.cuda.max_memory_allocated(self.device) - self._base
        elif _STATUS.exists():
            self.bytes = max(0, _status_kib("VmHWM:") * 1024 - self._base)


_STATUS, _CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int:
    line = next(line for line in _STATUS.read_text().splitlines() if line.startswith(field))
    return int(line.split()[1])
