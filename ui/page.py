"""What every page repeats: the title, the caption and one tab per section; and the block
that runs two pretrained models side by side on one picture."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from core.runtime import weights
from core.runtime.images import fit_within
from ui.catalog import page_titled
from ui.errors import shown_user_errors
from ui.image_input import DISPLAY_SIDE
from ui.model_status import weights_ready
from ui.models import compute_device


def page_header(title: str, caption: str) -> None:
    """The title, the caption and, while some of the page's weights are missing, what of it
    runs without downloads."""
    st.title(title)
    st.caption(caption)
    page = page_titled(title)
    if page is None or page.topic is None or page.without_downloads is None:
        return
    ready = weights.readiness(page.topic)
    if not ready.complete:
        st.info(
            f"{ready.here} of the {ready.total} pretrained weights this page uses are on this machine. "
            f"Without downloads: {page.without_downloads}. The Models & weights page fetches the rest.",
            icon=":material/cloud_off:",
        )


def section_tabs(sections: Mapping[str, Callable[..., None]], *args: object) -> None:
    """One tab per section, each section called with ``args``."""
    for tab, section in zip(st.tabs(list(sections)), sections.values()):
        with tab:
            section(*args)


@dataclass(frozen=True)
class ModelPanel:
    """One of the models run side by side: its ``core.runtime.weights`` name, what it is called on
    the page, the key of its download button, and how it turns the device into (picture,
    caption)."""

    weights: str
    title: str
    download_key: str
    run: Callable[[torch.device], tuple[np.ndarray, str]]


def models_side_by_side(panels: Sequence[ModelPanel], button: str, key: str) -> None:
    """Say which weights are missing (with downloads); on ``button``, run every model whose
    weights are here, each under a spinner, and show their pictures in columns."""
    ready = [weights_ready(panel.weights, panel.title, key=panel.download_key) for panel in panels]
    if not any(ready) or not st.button(button, key=key, icon=":material/play_arrow:"):
        return
    device = compute_device()
    if device is None:
        return
    for column, panel, here in zip(st.columns(len(panels)), panels, ready):
        if here:
            with st.spinner(f"Running {panel.title} on {device}…"), shown_user_errors(column) as outcome:
                picture, caption = panel.run(device)
            if not outcome.failed:
                column.image(fit_within(picture, DISPLAY_SIDE), caption=caption, output_format="JPEG")
