"""Home: what CNN Lab is, and a card for every page saying whether all of it works without
downloaded weights, and what does when not. Imports no torch (so not core.runtime.weights: each
page shows its weights' status on disk itself)."""

from __future__ import annotations

import streamlit as st

from ui.catalog import SECTIONS, pages_in

st.title("CNN Lab")
st.markdown(
    "Interactive tools for the **Convolutional Neural Networks** course: every formula is a "
    "calculator checked against PyTorch, and every model runs on *your* images — on the GPU "
    "when the server has one, on the CPU otherwise. Upload a photo, use the camera, or start "
    "from one of the bundled example photos."
)

for section in SECTIONS:
    pages = pages_in(section)
    if not pages:
        continue
    st.subheader(section)
    columns = st.columns(3)
    for index, page in enumerate(pages):
        with columns[index % 3].container(border=True):
            st.page_link(page.script, label=page.title, icon=page.icon)
            st.caption(page.summary)
            if page.section == "Setup":
                continue
            if page.without_downloads is not None:
                st.badge("Some parts need downloaded weights", icon=":material/cloud_download:", color="orange")
                st.caption(f"Without downloads: {page.without_downloads}.")
            else:
                st.badge("Works offline", icon=":material/check_circle:", color="green")
