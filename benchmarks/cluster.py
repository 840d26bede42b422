"""Serving a class: N concurrent users (threads, N = 1, 8 and 32), each asking for YOLO11n
detection and face encodings of a photo, against the in-process server and Ray Serve.

One request is what the detection and faces pages do for a photo: YOLO11n's boxes and the
drawing of them, then MTCNN's faces, their crops and FaceNet's encodings. Each user sends
its requests one after another, on its own photo (the astronaut example shifted, so that no
two users send the same pixels; 512×512, one face). The baseline is the in-process server
a user of ``make run`` gets: the models loaded once in the process, each call run in its
caller's thread under the device lock (``core.runtime.device.device_lock``). The cluster
is a local Ray with the model server of ``serve.yaml`` reduced to the three models, one
replica each, batching the calls that arrive within 5 ms. Reported:
throughput (requests/s), p50 and p95 latency, the largest batch a replica ran, the resident
memory of the in-process server and of each replica. YOLO11n and FaceNet are untrained
stand-ins (no weights can be downloaded here): they cost what the trained ones cost.
Targets on a 2-core CPU: at 1 user at most 15 % added latency; at 8 and 32 users at least
the in-process throughput. On a GPU: at least 3× at 32 users.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import yaml

from benchmarks.report import print_table
from core.detection.detectors import YOLO_DETECT
from core.faces.recognition import FACE_DETECTION, FACE_ENCODING, DetectionSettings, align_faces
from core.runtime import weights
from core.runtime.device import describe_device, pick_device
from core.runtime.examples import example_image
from core.runtime.inference import Call, ModelTask

USERS = (1, 8, 32)
MODELS = ("yolo11n", "mtcnn", "facenet_vggface2")
REQUESTS = {1: 12, 8: 4, 32: 2}  # per user
YOLO_OPTIONS = {"imgsz": 640}
FACE_OPTIONS = {"settings": DetectionSettings()}
MB = 1_000_000

Send = Callable[[str, ModelTask[Any, Any], Any, dict[str, Any]], Any]  # (model, task, input, options) -> result


def request(send: Send, image: np.ndarray) -> float:
    """One user's request; its seconds."""
    started = time.perf_counter()
    send("yolo11n", YOLO_DETECT, image, YOLO_OPTIONS).annotated()
    found = send("mtcnn", FACE_DETECTION, image, FACE_OPTIONS)
    send("facenet_vggface2", FACE_ENCODING, align_faces(image, found), {})
    return time.perf_counter() - started


def photos(count: int) -> list[np.ndarray]:
    astronaut = example_image("astronaut")
    return [np.ascontiguousarray(np.roll(astronaut, 3 * user, axis=1)) for user in range(count)]


def load(send: Send, users: int) -> dict[str, float]:
    """``users`` threads, each sending ``REQUESTS[users]`` requests in turn."""
    images = photos(users)
    started = time.perf_counter()
    with ThreadPoolExecutor(users) as pool:
        latencies = [
            seconds
            for per_user in pool.map(lambda image: [request(send, image) for _ in range(REQUESTS[users])], images)
            for seconds in per_user
        ]
    wall = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=20)
    return {"throughput": len(latencies) / wall, "p50": statistics.median(latencies), "p95": quantiles[18]}


def in_process_runs() -> tuple[dict[int, dict[str, float]], int]:
    device = pick_device()
    models = {name: weights.on_device(name, weights.load_pretrained(name), str(device)) for name in MODELS}

    def send(name: str, task: ModelTask[Any, Any], payload: Any, options: dict[str, Any]) -> Any:
        return task(models[name], payload, device, **options)

    request(send, photos(1)[0])  # warm-up
    runs = {users: load(send, users) for users in USERS}
    return runs, psutil.Process().memory_info().rss


def serve_runs(scratch: Path) -> tuple[dict[int, dict[str, float]], list[Any]]:
    import ray

    from core.cluster import jobs as cluster
    from core.cluster import serving

    ray.init(
        address="local",
        include_dashboard=False,
        namespace=cluster.NAMESPACE,
        log_to_driver=False,
        job_config=ray.job_config.JobConfig(code_search_path=[str(cluster.PROJECT_ROOT)]),
    )
    try:
        config = scratch / "serve.yaml"
        config.write_text(yaml.safe_dump(benchmark_config()))
        serving.deploy(config)
        serving.wait_until_up(600)
        server = serving.ServedModels("local", config)

        def send(name: str, task: ModelTask[Any, Any], payload: Any, options: dict[str, Any]) -> Any:
            return server.call(name, Call(task, payload, options))

        for image in photos(4):  # warm-up, every replica
            request(send, image)
        runs = {users: load(send, users) for users in USERS}
        return runs, [report for name in MODELS for report in server.reports(name, 1)]
    finally:
        ray.shutdown()


def benchmark_config() -> dict[str, Any]:
    """``serve.yaml`` with the benchmark's three models, one replica each (no autoscaling: the
    replicas are measured, not the scaler)."""
    from core.cluster import serving

    document = yaml.safe_load(serving.CONFIG.read_text())
    application = document["applications"][0]
    application["args"]["models"] = list(MODELS)
    kept = [deployment for deployment in application["deployments"] if deployment["name"] in MODELS]
    for deployment in kept:
        del deployment["autoscaling_config"]
        deployment["num_replicas"] = 1
    application["deployments"] = kept
    return document


def stand_in_caches(scratch: Path) -> None:
    """Untrained YOLO11n and FaceNet where this process and the cluster's workers load them."""
    from ultralytics.utils import SETTINGS, SettingsManager

    from tests.models import save_untrained_facenet, save_untrained_yolo

    os.environ["TORCH_HOME"] = str(scratch / "torch")
    os.environ["YOLO_CONFIG_DIR"] = str(scratch / "ultralytics-config")
    SettingsManager(scratch / "ultralytics-config" / "Ultralytics" / "settings.json").update(
        weights_dir=str(scratch / "ultralytics")
    )
    SETTINGS["weights_dir"] = str(scratch / "ultralytics")
    save_untrained_yolo("yolo11n")
    save_untrained_facenet("facenet_vggface2")


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        if not all(weights.get_weights(name).is_cached() for name in MODELS):
            stand_in_caches(Path(scratch))
        here, here_rss = in_process_runs()
        served, reports = serve_runs(Path(scratch))
    rows = []
    for users in USERS:
        base, cluster = here[users], served[users]
        rows.append(
            (
                users,
                f"{base['throughput']:.2f}",
                f"{cluster['throughput']:.2f}",
                f"{cluster['throughput'] / base['throughput']:.2f}×",
                f"{base['p50'] * 1e3:.0f} / {base['p95'] * 1e3:.0f}",
                f"{cluster['p50'] * 1e3:.0f} / {cluster['p95'] * 1e3:.0f}",
                f"{cluster['p50'] / base['p50']:.2f}×",
            )
        )
    print_table(
        f"Concurrent users, YOLO11n + face encodings per request, on {describe_device(pick_device())}, "
        "in-process against Ray Serve with batching",
        (
            "users",
            "in-process req/s",
            "Serve req/s",
            "throughput ratio",
            "in-process p50/p95 ms",
            "Serve p50/p95 ms",
            "p50 ratio",
        ),
        rows,
    )
    print_table(
        "Memory",
        ("process", "resident MB", "largest batch", "calls"),
        [("in-process server (all three models)", f"{here_rss / MB:.0f}", "-", "-")]
        + [
            (
                f"Serve replica: {report.deployment}",
                f"{report.resident_bytes / MB:.0f}",
                max(report.batch_sizes, default=0),
                report.calls,
            )
            for report in reports
        ],
    )


if __name__ == "__main__":
    main()
