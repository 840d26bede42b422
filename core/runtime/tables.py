"""Tables as files: the rows a page shows, as the CSV its download gives."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any


def csv_text(rows: Sequence[dict[str, Any]], empty_header: Sequence[str]) -> str:
    """``rows`` (dicts with the same keys) as CSV with a header; with no rows, only
    ``empty_header``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else list(empty_header))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
