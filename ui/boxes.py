"""Boxes drawn over a picture with plotly shapes, in the picture's own pixel coordinates."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from ui.image_input import display_jpeg


@dataclass(frozen=True)
class DrawnBox:
    """One box to draw: (x1, y1, x2, y2) in image pixels and how it looks."""

    box: Sequence[float]
    color: str
    label: str = ""
    width: float = 2.0
    dash: str = "solid"
    opacity: float = 1.0
    fill: str | None = None


def boxes_figure(
    image: np.ndarray, boxes: Sequence[DrawnBox], grid: int | None = None, height: int = 480, points=()
) -> go.Figure:
    """``image`` as the background (a display-size JPEG), ``boxes`` on top, an optional
    ``grid`` × ``grid`` lattice, and marker ``points`` given as (x, y, color)."""
    image_height, image_width = image.shape[:2]
    figure = go.Figure()
    source = "data:image/jpeg;base64," + base64.b64encode(display_jpeg(image)).decode()
    figure.add_layout_image(
        source=source,
        xref="x",
        yref="y",
        x=0,
        y=0,
        sizex=image_width,
        sizey=image_height,
        sizing="stretch",
        layer="below",
    )
    shapes = []  # set in one call: plotly's add_shape revalidates every shape on each call
    for step in range(1, grid or 0):
        x, y = step * image_width / grid, step * image_height / grid
        shapes.append(dict(type="line", x0=x, x1=x, y0=0, y1=image_height, line=dict(color="white", width=1)))
        shapes.append(dict(type="line", x0=0, x1=image_width, y0=y, y1=y, line=dict(color="white", width=1)))
    for drawn in boxes:
        x1, y1, x2, y2 = drawn.box
        shapes.append(
            dict(
                type="rect",
                x0=x1,
                y0=y1,
                x1=x2,
                y1=y2,
                opacity=drawn.opacity,
                line=dict(color=drawn.color, width=drawn.width, dash=drawn.dash),
                fillcolor=drawn.fill,
                label=dict(text=drawn.label, textposition="top left", font=dict(color=drawn.color, size=12)),
            )
        )
    figure.update_layout(shapes=shapes)
    if points:
        xs, ys, colors = zip(*points)
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="markers",
                hoverinfo="skip",
                showlegend=False,
                marker=dict(color=colors, size=9, line=dict(color="white", width=1)),
            )
        )
    figure.update_xaxes(range=[0, image_width], showgrid=False, zeroline=False, visible=False)
    figure.update_yaxes(
        range=[image_height, 0], showgrid=False, zeroline=False, visible=False, scaleanchor="x", scaleratio=1
    )
    figure.update_layout(height=height, margin=dict(l=0, r=0, t=0, b=0))
    return figure
