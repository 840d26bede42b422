"""The fuzzer (``tests/fuzz.py``) over every page, in its own process under an address-space
limit, with empty weight caches: every input of every tab at its edge values and every bad
upload, with no exception, no lost heading and no memory growth beyond the job budget. The
table of trials goes to ``tests/artifacts/fuzz-report.txt``."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import FUZZ_TOTALS, ROOT

REPORT = ROOT / "tests" / "artifacts" / "fuzz-report.txt"
TIME_LIMIT_S = 600


BROKEN_PAGE = """
import numpy as np
import streamlit as st

st.title("Broken")
count = st.number_input("Copies", value=1)
kept = np.ones(int(count) * 10_000, dtype=np.uint8)  # grows with the number typed: 10 kB a copy
text = st.text_input("Divisor", "2")
st.write(1 / float(text or 1))
"""


def test_the_fuzzer_reports_a_traceback_and_memory_beyond_the_budget(tmp_path, monkeypatch):
    from tests.fuzz import Report, fuzz_page
    from ui.catalog import PageInfo

    monkeypatch.setenv("CNNLAB_JOB_MEMORY_MB", "300")
    script = tmp_path / "broken.py"
    script.write_text(BROKEN_PAGE)
    report = Report()
    fuzz_page(PageInfo(str(script), "Broken", "", "", ""), report)
    failed = {(trial.widget, trial.value): trial.outcome for trial in report.trials if trial.failed}
    assert "over the job budget" in failed[("NumberInput 'Copies'", "100000")]  # 1 GB grown, 300 MB allowed
    assert "division by zero" in failed[("TextInput 'Divisor'", "'0'")]
    assert ("NumberInput 'Copies'", "1") not in failed and report.trials


@pytest.mark.slow
@pytest.mark.timeout(TIME_LIMIT_S + 60)
def test_every_field_and_upload_of_every_page_survives_its_edge_values(tmp_path, request):
    REPORT.parent.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("CNNLAB_")}
    env.update(TORCH_HOME=str(tmp_path / "torch"), CNNLAB_DEVICE="cpu")
    with REPORT.open("w") as report:
        result = subprocess.run(
            [sys.executable, "-m", "tests.fuzz"],
            cwd=ROOT,
            env=env,
            stdout=report,
            stderr=subprocess.STDOUT,
            timeout=TIME_LIMIT_S,
        )
    text = REPORT.read_text()
    totals = re.search(r"^(\d+) pages, (\d+) widgets, (\d+) values tried: .* (\d+) failed;.*$", text, re.MULTILINE)
    assert totals, text[-3000:]
    request.config.stash[FUZZ_TOTALS] = totals.group(0)
    pages, widgets, values, failed = map(int, totals.groups())
    failures = [line for line in text.splitlines() if line.startswith("FAILED ")]
    assert result.returncode == 0 and failed == 0, "\n".join(failures[:40])
    assert pages == 9 and widgets >= 200 and values >= 1000  # the fuzzer found the inputs it should
