"""Shared test set-up: the repository root on sys.path, and markers that skip honestly."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# ultralytics writes a settings file on import; keep it (and its weights dir) out of $HOME.
os.environ["YOLO_CONFIG_DIR"] = tempfile.mkdtemp(prefix="cnnlab-ultralytics-")
atexit.register(shutil.rmtree, os.environ["YOLO_CONFIG_DIR"], ignore_errors=True)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``gpu`` tests skip without CUDA (checked only when such a test is collected)."""
    gpu_tests = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_tests:
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU; none is visible")
        for item in gpu_tests:
            item.add_marker(skip)


@pytest.fixture()
def caches(tmp_path, monkeypatch) -> Path:
    """Empty torch and ultralytics caches for one test."""
    from ultralytics.utils import SETTINGS

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setitem(SETTINGS, "weights_dir", str(tmp_path / "ultralytics"))
    return tmp_path


FUZZ_TOTALS = pytest.StashKey[str]()  # the fuzzer's totals line, once its test has run


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fuzzer's totals in the run's summary (its table: tests/artifacts/fuzz-report.txt)."""
    totals = terminalreporter.config.stash.get(FUZZ_TOTALS, None)
    if totals:
        terminalreporter.write_line(f"fuzzer: {totals}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for the whole test session (``tests.postgres``); the URL of its database."""
    from tests.postgres import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def face_db(request, tmp_path) -> Iterator[str]:
    """Where face galleries live: a SQLite file, or a fresh database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        yield str(tmp_path / "faces.sqlite")
    else:
        from tests.postgres import fresh_database

        with fresh_database(request.getfixturevalue("postgres_url")) as url:
            yield url
