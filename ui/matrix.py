"""Editable number matrices (st.data_editor) and read-only matrix views."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui.fields import bounded_number

MAX_SIDE = 16  # rows and columns of an editable matrix: a bigger one is unreadable on screen
Cells = tuple[int, int, int, int]  # top row, left column, rows, columns


def matrix_editor(label: str, default: np.ndarray, key: str) -> np.ndarray | None:
    """An editable matrix the user can resize (1 to ``MAX_SIDE`` rows and columns); None
    (with a message) when a size is out of range or a cell is blank.

    ``default`` is used whenever ``key`` is new; a different default (a preset) starts over.
    """
    default = np.asarray(default, dtype=float)
    rows_column, columns_column = st.columns(2)
    rows = bounded_number(f"{label}: rows", 1, MAX_SIDE, default.shape[0], key=f"{key}-rows", where=rows_column)
    columns = bounded_number(
        f"{label}: columns", 1, MAX_SIDE, default.shape[1], key=f"{key}-cols", where=columns_column
    )
    if rows is None or columns is None:
        return None
    start = np.zeros((rows, columns))
    overlap = (min(rows, default.shape[0]), min(columns, default.shape[1]))
    start[: overlap[0], : overlap[1]] = default[: overlap[0], : overlap[1]]
    frame = pd.DataFrame(start, columns=[str(index) for index in range(columns)])
    edited = st.data_editor(
        frame,
        key=f"{key}-{rows}x{columns}-{hash(default.tobytes())}",
        hide_index=False,
        num_rows="fixed",
        column_config={name: st.column_config.NumberColumn(name, format="%g") for name in frame.columns},
    )
    values = edited.to_numpy(dtype=float, na_value=np.nan)
    if values.size == 0:
        st.error(f"{label}: the matrix is empty; give it at least one row and one column.")
        return None
    if not np.isfinite(values).all():
        st.error(f"{label}: every cell needs a number; fill in the blank cells.")
        return None
    return values


def show_matrix(values: np.ndarray, caption: str | None = None) -> None:
    """A matrix as a compact table with integers shown without decimals."""
    values = np.asarray(values)
    frame = pd.DataFrame(values, columns=[str(index) for index in range(values.shape[1])])
    st.dataframe(
        frame,
        hide_index=False,
        column_config={name: st.column_config.NumberColumn(name, format="%g") for name in frame.columns},
    )
    if caption:
        st.caption(caption)


def cells_figure(
    values: np.ndarray, window: Cells, frame: Cells | None = None, *, colorscale: str = "Blues", zmid=None
) -> go.Figure:
    """A matrix as a heat map with its numbers, one window of cells outlined in orange (the
    filter's place) and, dashed, a frame of cells (the unpadded input, or what cropping keeps)."""
    figure = go.Figure(
        go.Heatmap(
            z=values,
            text=[[f"{value:g}" for value in row] for row in values],
            texttemplate="%{text}",
            colorscale=colorscale,
            zmid=zmid,
            showscale=False,
        )
    )
    outlines = [(window, dict(color="#d9480f", width=4))] + (
        [(frame, dict(color="#555", dash="dash"))] if frame else []
    )
    for (top, left, rows, columns), line in outlines:
        figure.add_shape(
            type="rect", x0=left - 0.5, x1=left + columns - 0.5, y0=top - 0.5, y1=top + rows - 0.5, line=line
        )
    figure.update_xaxes(constrain="domain", dtick=1)
    figure.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", dtick=1)
    figure.update_layout(height=370, margin=dict(l=10, r=10, t=10, b=10))
    return figure
