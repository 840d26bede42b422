"""MobileNet cost estimator: script time of each interaction, on the CPU (the sections that
time layers or networks on the device are measurements, not interactions, and are left
out). Target: every interaction <= 100 ms on a 2-core CPU."""

from __future__ import annotations

import os

from benchmarks.page_timing import REPEATS, baseline_rerun, median_rerun, section_app
from benchmarks.report import print_table

INTERACTIONS = {
    "Depthwise-separable": lambda app, i: app.number_input(key="sep-ncout").set_value(5 + i % 2),
    "MobileNet v1": lambda app, i: app.select_slider(key="v1-width").set_value([0.5, 1.0][i % 2]),
    "MobileNetV2 bottleneck": lambda app, i: app.number_input(key="v2-t").set_value(6 + i % 2),
    "EfficientNet scaling": lambda app, i: app.slider(key="eff-phi").set_value([1.0, 2.0][i % 2]),
}


def main() -> None:
    os.environ.setdefault("CNNLAB_DEVICE", "cpu")
    baseline = baseline_rerun()
    rows = []
    for name, change in INTERACTIONS.items():
        seconds = median_rerun(section_app("app_pages.mobilenet", name), change)
        rows.append((name, f"{seconds * 1e3:.1f}", f"{seconds / baseline:.1f}", "yes" if seconds <= 0.100 else "NO"))
    print_table(
        f"MobileNet cost estimator, {os.cpu_count()} CPU cores (rerun of one section, median of {REPEATS}; "
        f"baseline one-line app {baseline * 1e3:.1f} ms)",
        ("section", "ms", "× baseline", "<= 100 ms"),
        rows,
    )


if __name__ == "__main__":
    main()
