"""Model comparisons: script time of each interaction, on the CPU (the latency measurement
and the live degradation run are measurements, not interactions, and are left out).
Target: every interaction <= 100 ms on a 2-core CPU."""

from __future__ import annotations

from benchmarks.page_timing import time_sections

INTERACTIONS = {
    "Zoo": lambda app, i: None,
    "Classic networks": lambda app, i: app.radio(key="classic-name").set_value(["alexnet", "vgg16"][i % 2]),
    "ResNets": lambda app, i: app.number_input(key="block-out").set_value([64, 128][i % 2]),
    "Inception": lambda app, i: app.number_input(key="inception-ones").set_value(64 + i % 2),
    "Classify": lambda app, i: app.number_input(key="digit-index").set_value(i),
}


def main() -> None:
    time_sections("Model comparisons", "app_pages.model_comparisons", INTERACTIONS)


if __name__ == "__main__":
    main()
