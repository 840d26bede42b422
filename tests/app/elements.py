"""Reading what an AppTest page shows."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest


def texts(app: AppTest, kind: str) -> list[str]:
    """The values of every element of one kind: "error", "warning", "markdown", "latex", …"""
    return [element.value for element in getattr(app, kind)]


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def frame(app: AppTest, column: str) -> pd.DataFrame:
    """The first table (data frame or editor) with a column named ``column``."""
    return next(element.value for element in app.dataframe if column in element.value.columns)


def captions(app: AppTest) -> list[str]:
    return [caption for image in app.image for caption in image.captions]
