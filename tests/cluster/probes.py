"""A task that reports on the replica running it, sent to a model's deployment like any call."""

from __future__ import annotations

import ctypes
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from core.runtime.inference import ModelTask, any_shape


def openmp_threads(model: Any, inputs: Sequence[Any], device: torch.device, options: Mapping[str, Any]) -> list[int]:
    """How many threads OpenMP gives a parallel region started from the thread that runs the
    model: a count kept per calling thread, which ``torch.get_num_threads`` does not show."""
    (library,) = {line.split()[-1] for line in open("/proc/self/maps") if "libgomp" in line}
    return [ctypes.CDLL(library).omp_get_max_threads()] * len(inputs)


OPENMP_THREADS = ModelTask("OpenMP threads", openmp_threads, batch_key=any_shape)
