"""The course's layer table as a data frame: layer, activation shape and size, parameters
and MACs, with thousands separators. The conv calculator's network table (``core.foundations.costs``
rows) and the model comparisons' classic networks (``core.architectures.registry`` rows) share it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pandas as pd
from pandas.io.formats.style import Styler

COUNTS = ("activation size", "parameters", "MACs")


class CountedLayer(Protocol):
    kind: str
    shape: tuple[int, ...]
    params: int
    macs: int

    @property
    def size(self) -> int: ...


def layer_frame(
    labels: Sequence[str], rows: Sequence[CountedLayer], *, kinds: bool = False, total: bool = False
) -> pd.DataFrame:
    """One row per layer (named by ``labels``), its kind when ``kinds``, a "Total" row when ``total``."""
    records = [
        {
            "layer": label,
            **({"kind": row.kind} if kinds else {}),
            "activation shape": " × ".join(map(str, row.shape)),
            "activation size": row.size,
            "parameters": row.params,
            "MACs": row.macs,
        }
        for label, row in zip(labels, rows)
    ]
    frame = pd.DataFrame(records)
    if total:
        sums = {"layer": "Total", **({"kind": ""} if kinds else {}), "activation shape": ""}
        frame = pd.concat(
            [frame, pd.DataFrame([{**sums, **{c: int(frame[c].sum()) for c in COUNTS}}])], ignore_index=True
        )
    return frame


def with_separators(frame: pd.DataFrame) -> Styler:
    return frame.style.format({column: "{:,}" for column in COUNTS})
