"""Model calls that batch: one forward pass for the images of several users.

A ``ModelTask`` is one kind of call into a pretrained model (YOLO's boxes, a classifier's
top-5, MTCNN's faces, FaceNet's encodings, a segmenter's labels), written once for a list
of inputs. One user's call is the list of one. A server that gathers the calls arriving
together (Ray Serve's ``@serve.batch`` in ``core.cluster.serving``) runs them with
``run_together``: calls of the same task, options and ``batch_key`` (inputs of one shape,
where the model's preprocessing depends on it) go through the model as one batch, which is
what a GPU needs to be busy (course week 2, "Practical advice": batches fill the device).

``infer`` is the one entry the pages use: the model server when the cluster serves the
model, else the model loaded in this process.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import torch

from core.runtime.errors import UserError

In = TypeVar("In")
Out = TypeVar("Out")


def same_shape(payload: Any) -> Hashable:
    """Inputs batch together when they have one shape (an image's (H, W, 3))."""
    return tuple(payload.shape)


def any_shape(payload: Any) -> Hashable:
    """Inputs batch together whatever their shape (the task resizes or concatenates them)."""
    return None


def as_sent(result: Any) -> Any:
    """A result that is plain data already (arrays, numbers, dataclasses of them)."""
    return result


@dataclass(frozen=True)
class ModelTask(Generic[In, Out]):
    """One kind of call into a pretrained model.

    ``run_batch(model, inputs, device, options)`` answers every input, in order;
    ``batch_key`` says which inputs can share a forward pass; ``plain`` turns a result into
    data that crosses a process boundary (a drawing made now instead of on request).
    """

    name: str
    run_batch: Callable[[Any, Sequence[In], torch.device, Mapping[str, Any]], list[Out]]
    batch_key: Callable[[In], Hashable] = same_shape
    plain: Callable[[Out], Out] = as_sent

    def __call__(self, model: Any, payload: In, device: torch.device, **options: Any) -> Out:
        """One input's result, in this process."""
        return self.run_batch(model, [payload], device, options)[0]


@dataclass(frozen=True)
class Call:
    """One user's request to a model server: the task, its input and its options."""

    task: ModelTask[Any, Any]
    payload: Any
    options: Mapping[str, Any]

    def group(self) -> Hashable:
        return self.task.name, tuple(sorted(self.options.items(), key=str)), self.task.batch_key(self.payload)


def run_together(model: Any, device: torch.device, calls: Sequence[Call]) -> list[Any]:
    """Every call's plain result, in order; the calls of one group run as one batch. A call
    that a ``UserError`` refuses (its input) gets that error as its result, and the others
    of its group are answered without it."""
    groups: dict[Hashable, list[int]] = {}
    for index, call in enumerate(calls):
        groups.setdefault(call.group(), []).append(index)
    results: list[Any] = [None] * len(calls)
    for indices in groups.values():
        for index, answer in zip(indices, _group_answers(model, device, [calls[i] for i in indices])):
            results[index] = answer
    return results


def _group_answers(model: Any, device: torch.device, calls: Sequence[Call]) -> list[Any]:
    first = calls[0]
    try:
        answers = first.task.run_batch(model, [call.payload for call in calls], device, first.options)
    except UserError as error:
        if len(calls) == 1:
            return [error]
        return [answer for call in calls for answer in _group_answers(model, device, [call])]
    return [first.task.plain(answer) for answer in answers]


def infer(
    task: ModelTask[In, Out],
    name: str,
    payload: In,
    device: torch.device,
    load: Callable[[str, str], Any],
    **options: Any,
) -> Out:
    """``task`` with the pretrained model ``name`` on ``payload``: through the cluster's model
    server when it serves ``name`` (``CNNLAB_RAY_ADDRESS`` set), else with ``load(name,
    device)``'s model in this process on ``device``."""
    from core.runtime.device import ray_address

    address = ray_address()
    if address is not None:
        from core.cluster import serving  # imports Ray, only when the address is set

        server = serving.model_server(address)
        if server.serves(name):
            return server.call(name, Call(task, payload, options))
    return task(load(name, str(device)), payload, device, **options)
