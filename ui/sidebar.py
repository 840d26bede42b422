"""The sidebar every page shares: which device the lab computes on (and the cluster its long
jobs run on, when there is one), and which pages need downloads for some of their parts."""

from __future__ import annotations

import streamlit as st

from core.runtime.device import device_badge, ray_address
from core.runtime.errors import UserError
from ui.catalog import PAGES


def render_sidebar() -> None:
    with st.sidebar:
        try:
            label = device_badge()
        except UserError as error:
            st.error(str(error))
        else:
            icon = ":material/computer:" if label.startswith("CPU") else ":material/memory:"
            st.badge(f"Computing on {label}", icon=icon, color="blue" if label.startswith("CPU") else "green")
        address = ray_address()
        if address is not None:
            st.badge(f"Long jobs on the Ray cluster at {address}", icon=":material/hub:", color="violet")
        partial = [page.title for page in PAGES if page.without_downloads is not None]
        st.caption(
            "Some parts need downloaded weights: " + ", ".join(partial) + ". Models & weights says which are here."
        )
