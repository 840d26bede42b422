"""ui.charts.accuracy_scatter against plotly express's scatter of the same frame: the same
points, labels, bubble areas, log axis and titles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px

from ui.charts import accuracy_scatter

FRAME = pd.DataFrame(
    {
        "model": ["MobileNetV2", "ResNet-18", "VGG-16"],
        "GMACs": [0.3, 1.8, 15.5],
        "acc@1 (%)": [71.9, 69.8, 71.6],
        "parameters (M)": [3.5, 11.7, 138.4],
    }
)


def test_the_bubbles_are_plotly_expresss_own():
    ours = accuracy_scatter(FRAME, "GMACs", size="parameters (M)")
    library = px.scatter(FRAME, x="GMACs", y="acc@1 (%)", text="model", size="parameters (M)", log_x=True)
    (mine,), (theirs,) = ours.data, library.data
    for field in ("x", "y", "text"):
        assert list(getattr(mine, field)) == list(getattr(theirs, field))
    assert np.allclose(mine.marker.size, theirs.marker.size) and mine.marker.sizemode == theirs.marker.sizemode
    assert np.isclose(mine.marker.sizeref, theirs.marker.sizeref)  # the largest bubble the same 20 px across
    assert mine.mode == "markers+text" and mine.textposition == "top center"
    assert ours.layout.xaxis.type == library.layout.xaxis.type == "log"
    assert ours.layout.xaxis.title.text == "GMACs" and ours.layout.yaxis.title.text == "acc@1 (%)"
    assert set(theirs.hovertemplate.split("<br>")) == set(mine.hovertemplate.split("<br>"))


def test_without_a_size_every_point_keeps_the_default_marker():
    (points,) = accuracy_scatter(FRAME, "GMACs").data
    assert points.marker.size is None and "parameters" not in points.hovertemplate
