"""Serving the app and driving Chromium: shared by the e2e tests and benchmarks/startup.py."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scripts.cluster import answers, replica_command, wait_until

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


PR_SET_PDEATHSIG = 1  # prctl(2)


def die_with_parent() -> None:
    """Run in a server's process before it starts: Linux sends it SIGTERM when the process that
    started it ends, however that ends (a test run killed on a hang included)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def wait_for_health(url: str, server: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Until Streamlit at ``url`` answers its health check; an error if ``server`` exits first."""

    def healthy() -> bool:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode}")
        return answers(f"{url}/_stcore/health")

    wait_until(healthy, f"streamlit at {url}", timeout_s)


def yolo_weights_dir(workdir: Path) -> Path:
    """Where a server started by ``start_streamlit(…, workdir)`` looks for YOLO files."""
    return workdir / "yolo-weights"


def app_env(workdir: Path, torch_home: Path | None = None) -> dict[str, str]:
    """The environment of a server the tests start: weight caches in ``workdir`` (empty
    unless the caller put a file there, so every network shows "not cached"; ``torch_home``
    overrides the torch cache), and outgoing HTTP to a closed loopback port, so downloads
    fail the same way everywhere."""
    closed = f"http://127.0.0.1:{free_port()}"
    # ultralytics' weights directory defaults to the git checkout's weights/: point it into workdir
    settings = workdir / "ultralytics" / "Ultralytics" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    if not settings.exists():
        settings.write_text(json.dumps({"weights_dir": str(yolo_weights_dir(workdir))}))
    return {
        **os.environ,
        "TORCH_HOME": str(torch_home or workdir / "torch"),
        "YOLO_CONFIG_DIR": str(workdir / "ultralytics"),
        "http_proxy": closed,
        "https_proxy": closed,
        "HTTP_PROXY": closed,
        "HTTPS_PROXY": closed,
        "no_proxy": "127.0.0.1,localhost",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def start_streamlit(
    port: int, workdir: Path, script: Path | None = None, torch_home: Path | None = None
) -> subprocess.Popen:
    """``streamlit run`` of the app on loopback, in ``app_env``; the caller terminates it."""
    log = (workdir / "server.log").open("w")
    return subprocess.Popen(
        replica_command(port, script),
        cwd=ROOT,
        env=app_env(workdir, torch_home),
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )


def wait_for_app(tab, timeout_ms: int = 90_000) -> None:
    """Wait until Streamlit has finished running the page's script (after any rerun a
    click just started: Streamlit marks the app root with the script's run state)."""
    tab.wait_for_timeout(200)
    tab.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)


@contextmanager
def served_app(workdir: Path, torch_home: Path | None = None) -> Iterator[str]:
    """The app served by ``start_streamlit`` on a free port until the block ends; yields its URL."""
    port = free_port()
    server = start_streamlit(port, workdir, torch_home=torch_home)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
