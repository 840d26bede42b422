"""Start-up: `streamlit run` to the home page rendered in Chromium, and the home page's
script time, each against a bare one-line Streamlit app measured in the same run.

Targets on a 2-core CPU: home rendered <= 3 s after /_stcore/health answers; home page
script <= 50 ms, with no torch import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import print_table
from tests.e2e.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    free_port,
    start_streamlit,
    wait_for_app,
    wait_for_health,
)

BARE_APP = 'import streamlit as st\n\nst.title("Baseline")\n'
SCRIPT_REPEATS = 20


def served_times(browser, script: Path, heading: str, workdir: Path) -> tuple[float, float]:
    """(seconds from launch to /_stcore/health, seconds from health to ``heading`` rendered)."""
    port = free_port()
    launched = time.perf_counter()
    server = start_streamlit(port, workdir, script)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_health(url, server)
        healthy = time.perf_counter()
        context = browser.new_context()
        tab = context.new_page()
        tab.goto(url)
        tab.get_by_role("heading", name=heading).wait_for(timeout=60_000)
        wait_for_app(tab)
        rendered = time.perf_counter()
        context.close()
        return healthy - launched, rendered - healthy
    finally:
        server.terminate()
        server.wait(timeout=20)


def script_seconds(script: Path) -> tuple[float, bool]:
    """Median AppTest run time of ``script`` in a fresh process, and whether torch got imported."""
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        "from benchmarks.report import median_seconds\n"
        f"app = AppTest.from_file({str(script)!r}, default_timeout=60)\n"
        f"print(median_seconds(lambda: app.run(), repeats={SCRIPT_REPEATS}), 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    seconds, torch_loaded = out.stdout.split()[-2:]
    return float(seconds), torch_loaded == "True"


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        bare = workdir / "bare_app.py"
        bare.write_text(BARE_APP)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            bare_health, bare_render = served_times(browser, bare, "Baseline", workdir)
            home_health, home_render = served_times(browser, ROOT / "streamlit_app.py", "CNN Lab", workdir)
            browser.close()
        bare_script, _ = script_seconds(bare)
        home_script, torch_loaded = script_seconds(ROOT / "streamlit_app.py")

    print_table(
        f"Start-up on {os.cpu_count()} CPU cores (seconds; ratio = CNN Lab / bare app)",
        ("measure", "bare app", "CNN Lab", "ratio", "target"),
        [
            (
                "launch -> /_stcore/health",
                f"{bare_health:.2f}",
                f"{home_health:.2f}",
                f"{home_health / bare_health:.2f}",
                "",
            ),
            (
                "health -> home rendered",
                f"{bare_render:.2f}",
                f"{home_render:.2f}",
                f"{home_render / bare_render:.2f}",
                "<= 3 s",
            ),
            (
                f"home script (median of {SCRIPT_REPEATS})",
                f"{bare_script * 1e3:.1f} ms",
                f"{home_script * 1e3:.1f} ms",
                f"{home_script / bare_script:.2f}",
                "<= 50 ms",
            ),
        ],
    )
    print(f"torch imported by the home page: {'yes' if torch_loaded else 'no'}")


if __name__ == "__main__":
    main()
