"""Pretrained weights on a page: say whether they are here, and offer the download.

Status comes from ``core.runtime.weights`` and reads only the disk; a download runs only when
the user presses the button (and the operator allows downloads), with a progress bar; a
failure replaces the notice with one message that says how to get the file.
"""

from __future__ import annotations

import streamlit as st

from core.runtime import weights
from core.runtime.errors import UserError


def download_button(entry: weights.PretrainedWeights, key: str, where=st, notice=None) -> bool:
    """A Download button for ``entry`` with a progress bar; True once the file is cached. A
    failure is shown in ``notice`` (a placeholder holding the page's notice), else below."""
    if not weights.downloads_allowed():
        (notice or where).info(weights.downloads_off_message(entry), icon=":material/lock:")
        return False
    if not where.button(f"Download ({entry.size_mb:,.0f} MB)", key=key, icon=":material/download:"):
        return False
    bar = st.progress(0.0, text=f"Downloading {entry.file_name}…")

    def show(done: int, total: int | None) -> None:
        bar.progress(min(done / total, 1.0) if total else 0.0, text=f"{entry.file_name}: {done / 1e6:.1f} MB")

    try:
        weights.download(entry.name, progress=show)
    except UserError as error:
        (notice or st).error(str(error), icon=":material/cloud_off:")
        return False
    finally:
        bar.empty()
    st.success(f"{entry.title} is cached at {entry.cache_path()}.")
    return True


def weights_ready(name: str, purpose: str, key: str) -> bool:
    """True when the weights ``name`` are cached. Otherwise the page says that ``purpose``
    needs them, how to get them, and offers the download (button ``key``); no untrained
    stand-in is used."""
    entry = weights.get_weights(name)
    if entry.is_cached():
        return True
    notice = st.empty()
    notice.warning(
        f"**{entry.title}** ({entry.trained_on}) is not on this machine, so {purpose} cannot run. "
        f"{entry.how_to_get()}.",
        icon=":material/cloud_off:",
    )
    return not entry.bundled and download_button(entry, key=key, notice=notice)
