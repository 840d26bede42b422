"""The sidebar every page shares: which device the lab computes on."""

from __future__ import annotations

import streamlit as st

from core.device import device_badge
from core.errors import UserError


def render_sidebar() -> None:
    with st.sidebar:
        try:
            label = device_badge()
        except UserError as error:
            st.error(str(error))
            return
        icon = ":material/computer:" if label.startswith("CPU") else ":material/memory:"
        st.badge(f"Computing on {label}", icon=icon, color="blue" if label.startswith("CPU") else "green")
