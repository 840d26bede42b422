"""Models & weights: every pretrained weight in core.runtime.weights in one table with its status,
how many are here, and one download control for those missing."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.runtime import weights
from ui.catalog import titles_of
from ui.model_status import download_button

COLUMNS = ["Model", "Status", "Size (MB)", "Library", "Trained on", "License", "Pages", "File"]

st.title("Models & weights")
st.markdown(
    "Pretrained networks are loaded by their own libraries (torchvision, ultralytics, "
    "facenet-pytorch) from those libraries' caches. Checking the status below reads only the "
    "local disk. A missing file can be downloaded here, fetched for all at once with "
    "`make weights`, or copied by hand to its path."
)

overall = weights.readiness()
here_column, missing_column = st.columns(2)
here_column.metric("Here", f"{overall.here} of {overall.total}", help="cached, bundled or shipped with CNN Lab")
missing_size = sum(entry.size_mb for entry in weights.REGISTRY.values() if not entry.is_cached())
missing_column.metric("Missing", f"{overall.total - overall.here}", help=f"{missing_size:,.0f} MB to download")

rows = [{**row, "Pages": ", ".join(titles_of(weights.REGISTRY[row["Name"]].topics))} for row in weights.status_rows()]
st.table(pd.DataFrame(rows, columns=COLUMNS).set_index("Model"))

st.subheader("Download")
missing = [entry for entry in weights.REGISTRY.values() if not entry.is_cached() and not entry.bundled]
if not missing:
    st.success("Every weight is on this machine.")
elif not weights.downloads_allowed():
    st.info(
        f"Downloads from this page are turned off on this server ({weights.ALLOW_DOWNLOADS_ENV}=0). Whoever runs "
        "it fetches the weights with `make weights`, or copies each file to the path in the table.",
        icon=":material/lock:",
    )
else:
    chosen = st.selectbox(
        "Missing weights",
        missing,
        format_func=lambda entry: f"{entry.title} ({entry.size_mb:,.0f} MB, for {', '.join(titles_of(entry.topics))})",
        key="weights-missing",
    )
    st.caption(f"Saved to `{chosen.cache_path()}`; a copy placed there by hand is used too.")
    download_button(chosen, key=f"download-{chosen.name}", notice=st.empty())
