"""How long a computation takes on the server's device, measured the way GPU benchmarks
are: warm-up calls first (allocator, cuDNN and oneDNN set-up, lazy initialization), then
repeated calls timed one by one, with CUDA events on a GPU (device work is asynchronous,
so a host clock alone would time the launch), and the median reported, because shared
machines are noisy. Computations to be compared are timed with their calls alternating.
Every timing in CNN Lab goes through ``measure_latency`` or ``measure_latencies``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch


class TimingStopped(Exception):
    """Raised from inside a timing once its ``should_stop`` comes true; nothing of it is kept."""


@dataclass(frozen=True)
class Latency:
    """The timed calls of one computation, in seconds."""

    times_s: tuple[float, ...]

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)

    @property
    def best_s(self) -> float:
        return min(self.times_s)

    @property
    def median_ms(self) -> float:
        return self.median_s * 1e3


def synchronize(device: torch.device | str) -> None:
    """Wait for the device's queued work (a no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def measure_latency(
    run: Callable[[], object],
    device: torch.device | str = "cpu",
    *,
    warmup: int = 3,
    repeats: int = 10,
    should_stop: Callable[[], bool] = lambda: False,
) -> Latency:
    """Time ``run`` on ``device``: ``warmup`` untimed calls, then ``repeats`` timed ones."""
    return measure_latencies([run], device, warmup=warmup, repeats=repeats, should_stop=should_stop)[0]


def measure_latencies(
    runs: Sequence[Callable[[], object]],
    device: torch.device | str = "cpu",
    *,
    warmup: int = 3,
    repeats: int = 10,
    should_stop: Callable[[], bool] = lambda: False,
) -> list[Latency]:
    """Time several computations that are to be compared, their calls alternating (a, b, a,
    b, …) so that whatever else the machine is doing slows them alike. ``should_stop`` is
    asked before every call; when it says yes, ``TimingStopped`` ends the timing."""
    device = torch.device(device)

    def checked(run: Callable[[], object]) -> Callable[[], object]:
        def call() -> object:
            if should_stop():
                raise TimingStopped
            return run()

        return call

    runs = [checked(run) for run in runs]
    for _ in range(warmup):
        for run in runs:
            run()
    synchronize(device)
    times: list[list[float]] = [[] for _ in runs]
    if device.type == "cuda":
        events = []
        for _ in range(repeats):
            for index, run in enumerate(runs):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                run()
                end.record()
                events.append((index, start, end))
        synchronize(device)
        for index, start, end in events:
            times[index].append(start.elapsed_time(end) / 1e3)
    else:
        for _ in range(repeats):
            for index, run in enumerate(runs):
                started = time.perf_counter()
                run()
                synchronize(device)
                times[index].append(time.perf_counter() - started)
    return [Latency(tuple(measured)) for measured in times]
