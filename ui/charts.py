"""The figures several pages draw: training curves, and accuracy against cost with each
network labelled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

LARGEST_BUBBLE_PX = 20


@dataclass(frozen=True)
class Curve:
    """One line of a training plot: its points, dashed or solid, with markers (for values
    measured once an epoch), on the left axis or the right one."""

    name: str
    x: Sequence[float]
    y: Sequence[float]
    dashed: bool = False
    markers: bool = False
    right_axis: bool = False


def curves_figure(
    curves: Sequence[Curve],
    *,
    x_title: str,
    y_title: str,
    right_title: str | None = None,
    log_y: bool = False,
    y_range: tuple[float, float] | None = None,
    height: int = 320,
) -> go.Figure:
    """The curves of a run; a right axis (0–1, for scores) when a curve asks for it."""
    figure = go.Figure()
    for curve in curves:
        figure.add_trace(
            go.Scatter(
                x=list(curve.x),
                y=list(curve.y),
                name=curve.name,
                mode="lines+markers" if curve.markers else "lines",
                line=dict(dash="dot" if curve.dashed else "solid"),
                yaxis="y2" if curve.right_axis else "y",
            )
        )
    figure.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis_title=x_title,
        yaxis=dict(title=y_title, type="log" if log_y else "linear", range=y_range),
        legend=dict(orientation="h", y=1.15),
    )
    if right_title is not None:
        figure.update_layout(yaxis2=dict(title=right_title, overlaying="y", side="right", range=[0, 1]))
    return figure


def accuracy_scatter(frame: pd.DataFrame, x: str, *, size: str | None = None, height: int = 380) -> go.Figure:
    """ImageNet top-1 accuracy (column "acc@1 (%)") against ``x`` on a log axis, each point
    labelled with its "model"; bubble area from ``size`` when given, the largest 20 px across
    (plotly express's look, drawn with graph objects: a quarter of the time on every rerun)."""
    hover = f"{x}=%{{x}}<br>acc@1 (%)=%{{y}}"
    marker: dict = {}
    if size is not None:
        marker = dict(size=frame[size], sizemode="area", sizeref=float(frame[size].max()) / LARGEST_BUBBLE_PX**2)
        hover += f"<br>{size}=%{{marker.size}}"
    points = go.Scatter(
        x=frame[x],
        y=frame["acc@1 (%)"],
        text=frame["model"],
        mode="markers+text",
        textposition="top center",
        marker=marker,
        hovertemplate=hover + "<br>model=%{text}<extra></extra>",
    )
    figure = go.Figure(points)
    figure.update_xaxes(type="log", title=x)
    figure.update_yaxes(title="acc@1 (%)")
    figure.update_layout(height=height, margin=dict(t=10))
    return figure
