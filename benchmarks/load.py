"""A shared instance under load: one server on loopback, N headless Chromium sessions
(N = 8 unless ``CNNLAB_LOAD_SESSIONS`` says otherwise) doing mixed work at once, in turn: U-Net
training (3 epochs of 600 images), face detection on a 3000×3000 photo, edge filters on a
2048×2048 upload, and the zoo latency job (three networks at batch 8).

Per session: no exception on the page, whether its job's queue position was shown while it
waited, and the seconds to its result; then every session opens the home page again and the
seconds it takes to answer. For the server: its resident memory after one warm-up visit of
each page (the models loaded), at its peak, when every job is done, and once the sessions
are closed and Streamlit has dropped them (``server.disconnectedSessionTTL`` plus 20 s).
Targets: every session answers with no exception; the peak stays under the warm level plus
one job's budget (``CNNLAB_JOB_MEMORY_MB``: heavy jobs queue, one at a time per device); the
settled level comes back within 300 MB of the warm one.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.async_api import async_playwright

from benchmarks.report import print_table
from core.runtime.budget import DEFAULT_JOB_MEMORY_MB, JOB_MEMORY_ENV
from core.runtime.examples import example_image
from tests.e2e.harness import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, start_streamlit, wait_for_health

SESSIONS_ENV = "CNNLAB_LOAD_SESSIONS"
JOB_TIMEOUT_MS = 900_000
SETTLE_MARGIN_S = 20
MB = 1_000_000


@dataclass
class SessionResult:
    work: str
    queued: bool = False  # saw "Waiting: …" while its job waited
    seconds: float = 0.0
    answer_seconds: float = 0.0
    error: str = ""


async def settled(tab) -> None:
    await tab.wait_for_timeout(300)
    await tab.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=JOB_TIMEOUT_MS)


async def open_page(tab, url: str, path: str, heading: str, section: str | None = None):
    await tab.goto(f"{url}/{path}")
    await tab.get_by_role("heading", name=heading).wait_for(timeout=120_000)
    await settled(tab)
    if section:
        await tab.get_by_role("tab", name=section).click()
        await settled(tab)
    return tab.get_by_role("tabpanel")


async def upload(tab, panel, path: Path) -> None:
    await panel.get_by_role("radio", name="Upload").first.click()
    await settled(tab)
    await panel.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))


async def fill(tab, panel, label: str, value: str) -> None:
    field = panel.get_by_label(label)
    await field.fill(value)
    await field.press("Enter")
    await settled(tab)


async def unet_training(tab, url: str, files: dict[str, Path]) -> Callable[[], Awaitable[None]]:
    panel = await open_page(tab, url, "segmentation", "U-Net segmentation", "Train")
    await fill(tab, panel, "Epochs", "3")

    async def start() -> None:
        await panel.get_by_role("button", name="Train", exact=True).click()

    return start


async def face_detection(tab, url: str, files: dict[str, Path]) -> Callable[[], Awaitable[None]]:
    panel = await open_page(tab, url, "faces", "Face recognition", "Detect & align")
    return lambda: upload(tab, panel, files["large photo"])


async def edge_filters(tab, url: str, files: dict[str, Path]) -> Callable[[], Awaitable[None]]:
    panel = await open_page(tab, url, "conv_calculator", "Conv calculator", "Edge detection")
    return lambda: upload(tab, panel, files["2048² image"])


async def zoo_latency(tab, url: str, files: dict[str, Path]) -> Callable[[], Awaitable[None]]:
    panel = await open_page(tab, url, "model_comparisons", "Model comparisons", "Latency")
    await fill(tab, panel, "Batch size", "8")

    async def start() -> None:
        await panel.get_by_role("button", name="Measure").click()

    return start


WORK = {  # name -> (prepare the page and return what starts the job, text that shows its result)
    "U-Net training": (unet_training, "Training finished after"),
    "face detection, 3000²": (face_detection, "The crops FaceNet reads"),
    "edge filters, 2048²": (edge_filters, "Edge map 2046×2046"),
    "zoo latency, batch 8": (zoo_latency, "Peak memory: CUDA's max_memory_allocated"),
}


async def run_session(
    context, url: str, work: str, files: dict[str, Path], ready: asyncio.Event, go: asyncio.Event
) -> SessionResult:
    result = SessionResult(work)
    tab = await context.new_page()
    tab.set_default_timeout(JOB_TIMEOUT_MS)
    prepare, done_text = WORK[work]
    try:
        start = await prepare(tab, url, files)
        ready.set()
        await go.wait()  # every session starts its job at once
        started = time.perf_counter()
        await start()
        finished = asyncio.ensure_future(tab.get_by_text(done_text).first.wait_for(timeout=JOB_TIMEOUT_MS))
        while not finished.done():
            text = await tab.locator('[data-testid="stMain"]').inner_text()
            result.queued |= "Waiting:" in text
            await asyncio.sleep(0.5)
        await finished
        result.seconds = time.perf_counter() - started
        await settled(tab)
        if await tab.locator('[data-testid="stException"]').count():
            result.error = "exception on the page"
    except Exception as error:  # noqa: BLE001 — a benchmark reports every failure in its table
        result.error = f"{type(error).__name__}: {str(error)[:80]}"
        ready.set()
    return result


async def answers(context, url: str, result: SessionResult) -> None:
    """The session opens the home page again; how long until it is rendered."""
    tab = context.pages[0]
    started = time.perf_counter()
    try:
        await tab.goto(url)
        await tab.get_by_role("heading", name="CNN Lab").wait_for(timeout=120_000)
        await settled(tab)
        result.answer_seconds = time.perf_counter() - started
    except Exception as error:  # noqa: BLE001
        result.error = result.error or f"no answer: {type(error).__name__}"


def resident_bytes(pid: int) -> int:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


async def sample_memory(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], resident_bytes(pid))
        await asyncio.sleep(0.2)


def disconnected_session_ttl() -> float:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    return float(config.get("server", {}).get("disconnectedSessionTTL", 120))


def make_files(folder: Path) -> dict[str, Path]:
    large = Image.fromarray(example_image("astronaut")).resize((3000, 3000), Image.Resampling.BICUBIC)
    files = {"large photo": folder / "astronaut-3000.jpg", "2048² image": folder / "coffee-2048.png"}
    large.save(files["large photo"], quality=90)
    coffee = np.asarray(Image.fromarray(example_image("coffee")).resize((2048, 2048), Image.Resampling.BICUBIC))
    Image.fromarray(coffee).save(files["2048² image"])
    return files


async def load_test(sessions: int) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        workdir = Path(temporary)
        files = make_files(workdir)
        port = free_port()
        server = start_streamlit(port, workdir)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_health(url, server)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                warm = await browser.new_context()
                tab = await warm.new_page()
                for prepare, _ in WORK.values():  # load every page's models once
                    await prepare(tab, url, files)
                await warm.close()
                await asyncio.sleep(disconnected_session_ttl() + SETTLE_MARGIN_S)
                warm_bytes = resident_bytes(server.pid)
                peak, stop, go = [warm_bytes], asyncio.Event(), asyncio.Event()
                sampler = asyncio.ensure_future(sample_memory(server.pid, peak, stop))
                contexts = [
                    await browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(sessions)
                ]
                names, ready = list(WORK), [asyncio.Event() for _ in contexts]
                jobs = [
                    asyncio.ensure_future(run_session(context, url, names[index % len(names)], files, ready[index], go))
                    for index, context in enumerate(contexts)
                ]
                for event in ready:
                    await event.wait()
                started = time.perf_counter()
                go.set()
                results = await asyncio.gather(*jobs)
                wall = time.perf_counter() - started
                done_bytes = resident_bytes(server.pid)
                await asyncio.gather(*(answers(context, url, result) for context, result in zip(contexts, results)))
                stop.set()
                await sampler
                for context in contexts:
                    await context.close()
                await asyncio.sleep(disconnected_session_ttl() + SETTLE_MARGIN_S)
                settled_bytes = resident_bytes(server.pid)
                await browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    report(sessions, results, wall, warm_bytes, peak[0], done_bytes, settled_bytes)


def report(sessions, results, wall, warm_bytes, peak_bytes, done_bytes, settled_bytes) -> None:
    print_table(
        f"{sessions} browser sessions at once on one server ({os.cpu_count()} cores), all jobs in {wall:.0f} s",
        ("session", "work", "queue shown", "seconds to result", "home again (s)", "ok"),
        [
            (
                index + 1,
                result.work,
                "yes" if result.queued else "no",
                f"{result.seconds:.1f}",
                f"{result.answer_seconds:.1f}",
                result.error or "yes",
            )
            for index, result in enumerate(results)
        ],
    )
    budget = int(os.environ.get(JOB_MEMORY_ENV, "0") or 0) or DEFAULT_JOB_MEMORY_MB
    print_table(
        "The server's resident memory",
        ("warm (models loaded)", "peak", "jobs done", "sessions closed", "peak ≤ warm + budget", "back within 300 MB"),
        [
            (
                f"{warm_bytes / MB:,.0f} MB",
                f"{peak_bytes / MB:,.0f} MB",
                f"{done_bytes / MB:,.0f} MB",
                f"{settled_bytes / MB:,.0f} MB",
                "yes" if peak_bytes <= warm_bytes + budget * MB else "NO",
                "yes" if settled_bytes <= warm_bytes + 300 * MB else "NO",
            )
        ],
    )


def main() -> None:
    asyncio.run(load_test(int(os.environ.get(SESSIONS_ENV, "8"))))
