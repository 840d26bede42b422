"""Pretrained models on a page: one instance per process, and the device they run on."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

import streamlit as st
import torch

from core.runtime import inference, weights
from core.runtime.device import pick_device
from core.runtime.errors import UserError
from core.runtime.inference import In, ModelTask, Out

P = ParamSpec("P")


@st.cache_resource(show_spinner="Loading the pretrained model…")
def pretrained(name: str, device: str):
    """The model ``name`` from ``core.runtime.weights``, loaded once per (weights, device) for every
    session. ultralytics models (the operator's included) move to the device per call, fast
    style's networks run in onnxruntime on the CPU; the others move here."""
    return weights.on_device(name, weights.load_pretrained(name), device)


@st.cache_resource(show_spinner="Preparing VGG19…")
def vgg_features(device: str) -> torch.nn.Sequential:
    """VGG19's convolutional layers (``core.style.neural_style``), once per device for every
    session."""
    from core.style.neural_style import vgg19_features

    return vgg19_features(pretrained("vgg19", device))


def infer(task: ModelTask[In, Out], name: str, payload: In, device: torch.device, **options: Any) -> Out:
    """``task`` with the pretrained model ``name`` on ``payload``: on the cluster's model server
    when it serves ``name``, else with this process's copy on ``device``
    (``core.runtime.inference.infer``). Raises a ``UserError`` the page shows."""
    return inference.infer(task, name, payload, device, pretrained, **options)


def loaded(name: str, device: torch.device):
    """``pretrained(name, device)``, or None after showing why it cannot load."""
    try:
        return pretrained(name, str(device))
    except UserError as error:
        st.error(str(error))
        return None


def compute_device() -> torch.device | None:
    """``pick_device()``, or None after showing why the configured device is unusable."""
    try:
        return pick_device()
    except UserError as error:
        st.error(str(error))
        return None


def on_device(section: Callable[Concatenate[torch.device, P], None]) -> Callable[P, None]:
    """A section that computes: called with the compute device first, or not at all after
    ``compute_device`` has said why the configured device is unusable."""

    @wraps(section)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        device = compute_device()
        if device is not None:
            section(device, *args, **kwargs)

    return run
