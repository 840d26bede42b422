"""core.runtime.latency: warm-up calls are not timed, every timed call is, and the median is what
a sleep of known length measures."""

from __future__ import annotations

import time

import pytest
import torch

from core.architectures import registry as arch
from core.runtime.jobs import CancelToken
from core.runtime.latency import Latency, TimingStopped, measure_latencies, measure_latency


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


def test_a_timing_stops_before_the_first_call_after_should_stop_says_so():
    calls = []
    with pytest.raises(TimingStopped):
        measure_latency(lambda: calls.append(1), warmup=2, repeats=10, should_stop=lambda: len(calls) == 5)
    assert len(calls) == 5


def test_a_network_s_timing_stops_inside_one_forward_pass():
    """Every layer asks: Stop during one long pass ends it within a layer, not at its end."""
    asked = []

    def should_stop() -> bool:
        asked.append(1)
        return len(asked) > 20  # the 21st layer of the first warm-up pass

    with pytest.raises(TimingStopped):
        arch.measure_model("resnet18", batch=1, resolution=64, should_stop=should_stop)
    layers = sum(1 for _ in arch.get_architecture("resnet18").builder().modules())
    assert len(asked) == 21 < layers


def test_a_stopped_latency_job_keeps_the_networks_timed_before():
    job, cancel = arch.LatencyJob(("lenet5", "resnet18"), resolution=None), CancelToken()
    steps = job.run(torch.device("cpu"), cancel)
    first = next(steps)
    cancel.cancel()
    assert first.record.name == "lenet5" and list(steps) == []
