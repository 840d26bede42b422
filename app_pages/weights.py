"""Models & weights: every pretrained weight in core.weights, its status, and downloads."""

from __future__ import annotations

import streamlit as st

from core import weights

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
    if action_column.button(f"Download ({entry.size_mb:,.0f} MB)", key=f"download-{entry.name}"):
        bar = st.progress(0.0, text=f"Downloading {entry.file_name}…")

        def show(done: int, total: int | None, bar=bar, file_name=entry.file_name) -> None:
            bar.progress(min(done / total, 1.0) if total else 0.0, text=f"{file_name}: {done / 1e6:.1f} MB")

        try:
            weights.download(entry.name, progress=show)
        except weights.ModelUnavailable as error:
            bar.empty()
            st.error(str(error), icon=":material/cloud_off:")
        else:
            bar.empty()
            st.success(f"{entry.title} is cached at {entry.cache_path()}.")
