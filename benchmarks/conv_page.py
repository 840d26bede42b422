"""Conv calculator: script time of each interaction with a 1024×1024 photo uploaded, on the CPU.

Every section of the page is a fragment, so an interaction reruns only its section. Each
row runs one section alone (AppTest), changes one of its widgets and times the rerun;
the last row is a rerun of the whole page, which happens only on a full page load.
The baseline is the rerun of a one-line Streamlit app in the same process.
Target: every interaction <= 100 ms on a 2-core CPU.
"""

from __future__ import annotations

import os

from PIL import Image
from streamlit.testing.v1 import AppTest

from benchmarks.page_timing import REPEATS, baseline_rerun, median_rerun, section_app
from benchmarks.report import print_table
from core.runtime.device import pick_device
from core.runtime.examples import example_image
from core.runtime.images import fit_within
from tests.e2e.harness import ROOT
from tests.images import encode

# section -> (widget change made before each timed rerun)
INTERACTIONS = {
    "Output size": lambda app, i: app.number_input(key="os-nh").set_value(6 + i % 2),
    "Step by step": lambda app, i: app.number_input(key="sb-row").set_value(i % 4),
    "Edge detection": lambda app, i: app.radio(key="edge-mode").set_value(["gray", "RGB (3×3×3 filter)"][i % 2]),
    "Pooling": lambda app, i: app.radio(key="pool-mode-Course max-pool example").set_value(["max", "avg"][i % 2]),
    "Network table": lambda app, i: app.number_input(key="net-h-Course LeNet-5-like (32×32×3)").set_value(32 + i % 2),
    "Why convolutions": lambda app, i: app.number_input(key="why-filters").set_value(6 + i % 2),
    "1×1, 1D, 3D": lambda app, i: app.selectbox(key="nd-preset").set_value(
        ["1×1: 28×28×192 → 32 filters", "3D: 14×14×14×1 → 16 × 5×5×5 → 32 × 5×5×5×16"][i % 2]
    ),
}
IMAGE_INPUTS = {"Edge detection": "edges", "Pooling": "pool-image"}


def _with_upload(app: AppTest, key: str, image: bytes) -> None:
    app.segmented_control(key=f"{key}-source").set_value("Upload").run()
    app.file_uploader(key=f"{key}-upload").upload("photo.png", image, "image/png").run()


def main() -> None:
    os.environ.setdefault("CNNLAB_DEVICE", "cpu")
    baseline = baseline_rerun()

    image = encode(Image.fromarray(fit_within(example_image("retina"), 1024)), "PNG")  # a real 1024×1024 photo
    rows = []
    for name, change in INTERACTIONS.items():
        app = section_app("app_pages.conv_calculator", name)
        if name in IMAGE_INPUTS:
            _with_upload(app, IMAGE_INPUTS[name], image)
        seconds = median_rerun(app, change)
        rows.append((name, f"{seconds * 1e3:.1f}", f"{seconds / baseline:.1f}", "yes" if seconds <= 0.100 else "NO"))

    page = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    page.switch_page("app_pages/conv_calculator.py").run()
    for key in IMAGE_INPUTS.values():
        _with_upload(page, key, image)
    edge_map = f"Edge map 1022×1022 (n − f + 1 = n − 2), on {pick_device().type}"
    assert edge_map in [c for i in page.image for c in i.captions]
    whole = median_rerun(page, INTERACTIONS["Output size"])
    rows.append(("whole page (full load only)", f"{whole * 1e3:.1f}", f"{whole / baseline:.1f}", "n/a"))
    print_table(
        f"Conv calculator, 1024×1024 upload, {os.cpu_count()} CPU cores "
        f"(rerun of one section, median of {REPEATS}; baseline one-line app {baseline * 1e3:.1f} ms)",
        ("section", "ms", "× baseline", "<= 100 ms"),
        rows,
    )


if __name__ == "__main__":
    main()
