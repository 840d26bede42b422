"""Sliding windows: the course's classifier run on every 14×14 window (the windows cut out
and classified as one batch, the way a user would run a sliding-window detector) against
its convolutional twin run once on the whole image (Sermanet et al., "OverFeat"), on the
server's device. Median of 10 after 3 warm-up runs each (``core.runtime.latency``); the MACs come
from FlopCounterMode. The page's sliding-window lab shows the same figures.
"""

from __future__ import annotations

from benchmarks.report import print_table
from core.detection import sliding_windows
from core.runtime.device import describe_device, pick_device

SIDES = (16, 28, 60, 120, 200)


def main() -> None:
    device = pick_device()
    classifier = sliding_windows.WindowClassifier.seeded(0)
    rows = []
    for side in SIDES:
        result = sliding_windows.compare(classifier, side, side, device)
        rows.append(
            (
                f"{side}×{side}",
                f"{result.grid[0] * result.grid[1]:,}",
                f"{result.window_macs / result.convolutional_macs:.2f}",
                f"{result.window_ms:.3f}",
                f"{result.convolutional_ms:.3f}",
                f"{result.window_ms / result.convolutional_ms:.1f}",
                f"{result.max_abs_difference:.1e}",
            )
        )
    print_table(
        f"Sliding windows, {describe_device(device)} (median of 10 after 3 warm-ups; baseline: every window "
        "classified, batched)",
        ("image", "windows", "MACs ratio", "windows ms", "convolutional ms", "× faster", "max |difference|"),
        rows,
    )


if __name__ == "__main__":
    main()
