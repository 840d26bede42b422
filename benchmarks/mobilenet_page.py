"""MobileNet cost estimator: script time of each interaction, on the CPU (the sections that
time layers or networks on the device are measurements, not interactions, and are left
out). Target: every interaction <= 100 ms on a 2-core CPU."""

from __future__ import annotations

from benchmarks.page_timing import time_sections

INTERACTIONS = {
    "Depthwise-separable": lambda app, i: app.number_input(key="sep-ncout").set_value(5 + i % 2),
    "MobileNet v1": lambda app, i: app.select_slider(key="v1-width").set_value([0.5, 1.0][i % 2]),
    "MobileNetV2 bottleneck": lambda app, i: app.number_input(key="v2-t").set_value(6 + i % 2),
    "EfficientNet scaling": lambda app, i: app.slider(key="eff-phi").set_value([1.0, 2.0][i % 2]),
}


def main() -> None:
    time_sections("MobileNet cost estimator", "app_pages.mobilenet", INTERACTIONS)


if __name__ == "__main__":
    main()
