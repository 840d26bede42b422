"""The sidebar every page shares: which device the lab computes on."""

from __future__ import annotations

import streamlit as st

from core.device import DeviceError, device_badge


def render_sidebar() -> None:
    with st.sidebar:
        try:
            label = device_badge()
        except DeviceError as error:
            st.error(str(error))
            return
        icon = ":material/computer:" if label.startswith("CPU") else ":material/memory:"
        st.badge(f"Computing on {label}", icon=icon, color="blue" if label.startswith("CPU") else "green")
