"""Model comparisons: script time of each interaction, on the CPU (the latency measurement
and the live degradation run are measurements, not interactions, and are left out).
Target: every interaction <= 100 ms on a 2-core CPU."""

from __future__ import annotations

import os

from benchmarks.page_timing import REPEATS, baseline_rerun, median_rerun, section_app
from benchmarks.report import print_table

INTERACTIONS = {
    "Zoo": lambda app, i: None,
    "Classic networks": lambda app, i: app.radio(key="classic-name").set_value(["alexnet", "vgg16"][i % 2]),
    "ResNets": lambda app, i: app.number_input(key="block-out").set_value([64, 128][i % 2]),
    "Inception": lambda app, i: app.number_input(key="inception-ones").set_value(64 + i % 2),
    "Classify": lambda app, i: app.number_input(key="digit-index").set_value(i),
}


def main() -> None:
    os.environ.setdefault("CNNLAB_DEVICE", "cpu")
    baseline = baseline_rerun()
    rows = []
    for name, change in INTERACTIONS.items():
        seconds = median_rerun(section_app("app_pages.model_comparisons", name), change)
        rows.append((name, f"{seconds * 1e3:.1f}", f"{seconds / baseline:.1f}", "yes" if seconds <= 0.100 else "NO"))
    print_table(
        f"Model comparisons, {os.cpu_count()} CPU cores (rerun of one section, median of {REPEATS}; "
        f"baseline one-line app {baseline * 1e3:.1f} ms)",
        ("section", "ms", "× baseline", "<= 100 ms"),
        rows,
    )


if __name__ == "__main__":
    main()
