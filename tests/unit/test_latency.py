"""core.runtime.latency: warm-up calls are not timed, every timed call is, and the median is what
a sleep of known length measures."""

from __future__ import annotations

import time

import pytest
import torch

from core.runtime.latency import Latency, measure_latencies, measure_latency


def test_warmup_calls_are_made_and_not_timed():
    calls = []
    latency = measure_latency(lambda: calls.append(len(calls)), warmup=4, repeats=7)
    assert len(calls) == 11 and len(latency.times_s) == 7


def test_a_known_sleep_is_measured():
    latency = measure_latency(lambda: time.sleep(0.01), repeats=5, warmup=1)
    assert 0.009 <= latency.best_s <= latency.median_s < 0.1
    assert latency.median_ms == pytest.approx(latency.median_s * 1e3)


def test_median_and_best_of_given_times():
    latency = Latency((0.3, 0.1, 0.2, 0.5))
    assert latency.median_s == pytest.approx(0.25) and latency.best_s == 0.1


@pytest.mark.gpu
def test_cuda_work_is_timed_with_events_not_the_launch():
    """A large matrix product queued on the GPU: the host returns at once, the events wait."""
    a = torch.randn(8192, 8192, device="cuda")
    latency = measure_latency(lambda: a @ a, "cuda", repeats=5)
    launch = measure_latency(lambda: a @ a, "cpu", warmup=0, repeats=5)  # a host clock around the launch only
    torch.cuda.synchronize()
    assert latency.median_s > 5 * launch.median_s


def test_compared_computations_alternate():
    order = []
    first, second = measure_latencies([lambda: order.append("a"), lambda: order.append("b")], warmup=1, repeats=3)
    assert order == ["a", "b"] * 4 and len(first.times_s) == len(second.times_s) == 3
