"""Models & weights: every pretrained weight in core.weights, its status, and downloads."""

from __future__ import annotations

import streamlit as st

from core import weights
from ui.model_status import download_button

st.title("Models & weights")
st.markdown(
    "Pretrained networks are loaded by their own libraries (torchvision, ultralytics, "
    "facenet-pytorch) from those libraries' caches. Checking the status below reads only the "
    "local disk. A missing file can be downloaded here, fetched for all at once with "
    "`make weights`, or copied by hand to the path shown."
)

rows = weights.status_rows()
st.dataframe(
    rows,
    hide_index=True,
    column_order=["Model", "Status", "Size (MB)", "Library", "Trained on", "License", "Pages", "File"],
    width="stretch",
)

st.subheader("Download")
for entry, row in zip(weights.REGISTRY.values(), rows):
    name_column, status_column, action_column = st.columns([4, 2, 2], vertical_alignment="center")
    name_column.markdown(f"**{entry.title}**  \n`{row['Path']}`")
    status_column.badge(row["Status"], color="green" if row["Status"] in ("cached", "bundled") else "orange")
    if row["Status"] != "not cached":
        continue
    download_button(entry, key=f"download-{entry.name}", where=action_column)
