"""Script time of page interactions with streamlit.testing: one section of a page run alone
(every section is a fragment, so an interaction reruns only its section), a widget changed
before each timed rerun, the median taken; the baseline is the rerun of a one-line app in
the same process."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Mapping

from streamlit.testing.v1 import AppTest

from benchmarks.report import print_table

REPEATS = 7
Change = Callable[[AppTest, int], object]


def _bare() -> None:
    import streamlit as st

    st.title("Baseline")


def median_rerun(app: AppTest, change: Change, repeats: int = REPEATS) -> float:
    """Median seconds of ``app.run()`` after ``change(app, i)``, over ``repeats`` reruns."""
    times = []
    for index in range(repeats):
        change(app, index)
        started = time.perf_counter()
        app.run()
        times.append(time.perf_counter() - started)
        assert not app.exception, app.exception
    return statistics.median(times)


def baseline_rerun() -> float:
    bare = AppTest.from_function(_bare, default_timeout=60)
    bare.run()
    return median_rerun(bare, lambda app, i: None)


def section_app(module: str, name: str) -> AppTest:
    """The section ``name`` of the page module ``module`` (e.g. "app_pages.mobilenet"), run once."""
    script = f"import importlib\nimportlib.import_module({module!r}).SECTIONS[{name!r}]()\n"
    app = AppTest.from_string(script, default_timeout=120)
    app.run()
    return app


def time_sections(title: str, module: str, interactions: Mapping[str, Change]) -> None:
    """Print the median rerun of each section of ``module`` after its interaction, on the
    CPU, against the baseline; the target is 100 ms."""
    os.environ.setdefault("CNNLAB_DEVICE", "cpu")
    baseline = baseline_rerun()
    rows = []
    for name, change in interactions.items():
        seconds = median_rerun(section_app(module, name), change)
        rows.append((name, f"{seconds * 1e3:.1f}", f"{seconds / baseline:.1f}", "yes" if seconds <= 0.100 else "NO"))
    print_table(
        f"{title}, {os.cpu_count()} CPU cores (rerun of one section, median of {REPEATS}; "
        f"baseline one-line app {baseline * 1e3:.1f} ms)",
        ("section", "ms", "× baseline", "<= 100 ms"),
        rows,
    )
