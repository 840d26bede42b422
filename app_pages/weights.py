"""Models & weights: every pretrained weight in core.weights, its status, and downloads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import weights
from ui.model_status import download_button

COLUMNS = ["Model", "Status", "Size (MB)", "Library", "Trained on", "License", "Pages", "File"]

st.title("Models & weights")
st.markdown(
    "Pretrained networks are loaded by their own libraries (torchvision, ultralytics, "
    "facenet-pytorch) from those libraries' caches. Checking the status below reads only the "
    "local disk. A missing file can be downloaded here, fetched for all at once with "
    "`make weights`, or copied by hand to the path shown."
)

rows = weights.status_rows()
st.table(pd.DataFrame(rows, columns=COLUMNS).set_index("Model"))

st.subheader("Download")
if not weights.downloads_allowed():
    st.info(
        f"Downloads from this page are turned off on this server ({weights.ALLOW_DOWNLOADS_ENV}=0). Whoever runs "
        "it fetches the weights with `make weights`, or copies each file to the path shown below.",
        icon=":material/lock:",
    )
for entry, row in zip(weights.REGISTRY.values(), rows):
    name_column, status_column, action_column = st.columns([4, 2, 2], vertical_alignment="center")
    name_column.markdown(f"**{entry.title}**  \n`{row['Path']}`")
    status_column.badge(row["Status"], color="green" if row["Status"] in ("cached", "bundled") else "orange")
    if row["Status"] == "not cached" and weights.downloads_allowed():
        download_button(entry, key=f"download-{entry.name}", where=action_column, notice=st.empty())
