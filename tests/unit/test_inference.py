"""core.runtime.inference: calls gathered from several users run as batches of one task,
options and shape, and each caller gets the answer its own call would have had."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest
import torch

from core.runtime.errors import UserError
from core.runtime.inference import Call, ModelTask, any_shape, run_together

CPU = torch.device("cpu")
batches: list[tuple[str, int]] = []


def scaled_sums(model: float, images: Sequence[np.ndarray], device: torch.device, options: Mapping[str, Any]) -> list:
    """A stand-in model: each image's sum times ``model`` times ``options["factor"]``; a
    negative pixel is a bad input."""
    if any((image < 0).any() for image in images):
        raise UserError("Negative pixels cannot be summed here.")
    batches.append(("sums", len(images)))
    return [float(image.sum()) * model * options["factor"] for image in images]


def lengths(model: float, arrays: Sequence[np.ndarray], device: torch.device, options: Mapping[str, Any]) -> list:
    batches.append(("lengths", len(arrays)))
    return [len(array) for array in arrays]


SUMS = ModelTask("sums", scaled_sums)
LENGTHS = ModelTask("lengths", lengths, batch_key=any_shape)


@pytest.fixture(autouse=True)
def fresh_batches():
    batches.clear()


def test_each_call_gets_its_own_answer_and_groups_run_as_one_batch():
    rng = np.random.default_rng(0)
    square, wide = (rng.random((4, 4)) for _ in range(2)), rng.random((2, 8))
    calls = [Call(SUMS, image, {"factor": 2.0}) for image in square]
    calls += [Call(SUMS, wide, {"factor": 2.0}), Call(SUMS, wide, {"factor": 3.0})]
    calls += [Call(LENGTHS, np.zeros(n), {}) for n in (1, 5, 9)]
    answers = run_together(10.0, CPU, calls)
    assert answers == [call.task(10.0, call.payload, CPU, **call.options) for call in calls]
    batches_run = batches[: len(batches) - len(calls)]  # the single calls above came after
    assert sorted(batches_run) == [("lengths", 3), ("sums", 1), ("sums", 1), ("sums", 2)]


def test_a_refused_input_is_its_callers_error_and_the_rest_of_its_batch_is_answered():
    good, bad = np.ones((3, 3)), -np.ones((3, 3))
    answers = run_together(1.0, CPU, [Call(SUMS, good, {"factor": 1.0}), Call(SUMS, bad, {"factor": 1.0})])
    assert answers[0] == 9.0
    assert isinstance(answers[1], UserError) and "Negative pixels" in str(answers[1])


def test_without_an_address_infer_uses_this_processs_model(monkeypatch):
    from core.runtime.device import RAY_ADDRESS_ENV
    from core.runtime.inference import infer

    monkeypatch.delenv(RAY_ADDRESS_ENV, raising=False)
    loaded = []

    def load(name: str, device: str) -> float:
        loaded.append((name, device))
        return 4.0

    assert infer(SUMS, "four", np.ones((2, 2)), CPU, load, factor=0.5) == 8.0
    assert loaded == [("four", "cpu")]
