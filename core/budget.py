"""Memory budgets for jobs on a shared server: a job whose memory grows with what a user
chooses (batch size, image size, number of images) estimates its peak from its settings
before it starts and is refused, naming the setting to lower, when it would not fit.

The budget per job is ``CNNLAB_JOB_MEMORY_MB`` (default 6,000 MB: two such jobs, the loaded
models and the server fit in 24 GB); on CUDA also at most 80 % of the GPU's free memory.
"""

from __future__ import annotations

import os

import torch

from core.errors import UserError

JOB_MEMORY_ENV = "CNNLAB_JOB_MEMORY_MB"
DEFAULT_JOB_MEMORY_MB = 6_000
MB = 1_000_000


class TooLarge(UserError):
    """A job that would take more memory than one job may; the message names the setting to lower."""


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
