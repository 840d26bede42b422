"""core.cluster.serving: the models as Ray Serve deployments on the session's local cluster.
Each model answers as it does in this process on the same input; concurrent calls are
batched and each caller gets its own answer; a killed replica is routed around; a model
without weights, a bad input and a deployment that is not up are sentences, not tracebacks."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
import torch

from core.architectures.classify import IMAGENET_CLASSIFICATION
from core.detection.detectors import YOLO_CLASS_NAMES, YOLO_DETECT
from core.faces.recognition import FACE_DETECTION, FACE_ENCODING, DetectionSettings, align_faces, detect_faces
from core.runtime import weights
from core.runtime.errors import UserError
from core.runtime.examples import example_image
from core.runtime.inference import Call, ModelTask
from core.segmentation.pretrained import SEMANTIC_SEGMENTATION
from core.segmentation.unet import UNET_LABELS
from tests.cluster.conftest import TWO_REPLICAS
from tests.cluster.probes import OPENMP_THREADS

pytestmark = pytest.mark.cluster

CPU = torch.device("cpu")
TIMING_FIELDS = {"speed_ms", "seconds", "draw"}  # how long it took differs; the drawing is compared as an image


def astronaut() -> np.ndarray:
    return example_image("astronaut")


def face_crops() -> np.ndarray:
    image = astronaut()
    return align_faces(image, detect_faces(image, weights.load_pretrained("mtcnn")))


def small(image: np.ndarray, side: int = 160) -> np.ndarray:
    return np.ascontiguousarray(image[:side, :side])


CASES: dict[str, tuple[ModelTask[Any, Any], Any, dict[str, Any]]] = {
    "yolo11n": (YOLO_DETECT, lambda: astronaut(), {"conf": 0.25, "iou": 0.7, "classes": None, "imgsz": 320}),
    "mtcnn": (FACE_DETECTION, lambda: astronaut(), {"settings": DetectionSettings()}),
    "facenet_vggface2": (FACE_ENCODING, face_crops, {}),
    "resnet18": (IMAGENET_CLASSIFICATION, lambda: example_image("chelsea"), {"weights_tag": "", "ten_crop": True}),
    "unet_shapes": (UNET_LABELS, lambda: small(astronaut(), 96), {"side": 64}),
    "deeplabv3_mobilenet_v3_large": (SEMANTIC_SEGMENTATION, lambda: small(astronaut()), {"weights_tag": ""}),
}


def options_of(name: str) -> dict[str, Any]:
    """The case's options, with the weights' own tag where the task needs one."""
    options = dict(CASES[name][2])
    if "weights_tag" in options:
        options["weights_tag"] = weights.get_weights(name).pretrained_tag
    return options


def assert_same(served: Any, here: Any, where: str = "result") -> None:
    """Equal results, to float tolerance, field by field (timings left out)."""
    if isinstance(here, UserError):
        assert type(served) is type(here) and str(served) == str(here), where
    elif dataclasses.is_dataclass(here):
        assert type(served) is type(here), where
        for field in dataclasses.fields(here):
            if field.name not in TIMING_FIELDS:
                assert_same(getattr(served, field.name), getattr(here, field.name), f"{where}.{field.name}")
        if hasattr(here, "annotated"):
            assert np.abs(served.annotated().astype(int) - here.annotated().astype(int)).mean() < 1.0, where
    elif isinstance(here, torch.Tensor):
        assert not served.is_cuda and torch.allclose(served, here, atol=1e-5), where
    elif isinstance(here, np.ndarray):
        assert served.shape == here.shape and np.allclose(served, here, atol=1e-3), where
    elif isinstance(here, (list, tuple)):
        assert len(served) == len(here), where
        for index, (one, other) in enumerate(zip(served, here)):
            assert_same(one, other, f"{where}[{index}]")
    elif isinstance(here, float):
        assert served == pytest.approx(here, rel=1e-4, abs=1e-4), where
    else:
        assert served == here, where


@pytest.mark.parametrize("name", list(CASES))
def test_each_model_answers_as_it_does_in_this_process(name, model_server, served_caches):
    task, payload, _ = CASES[name]
    options, image = options_of(name), payload()
    here = task(weights.on_device(name, weights.load_pretrained(name), "cpu"), image, CPU, **options)
    served = model_server.call(name, Call(task, image, options))
    assert_same(served, here)
    if name == "yolo11n":
        assert here.detections, "the stand-in's raised class biases give boxes to compare"
        names = model_server.call(name, Call(YOLO_CLASS_NAMES, None, {}))
        assert names == dict(weights.load_pretrained(name).names) and len(names) == 80


def test_concurrent_calls_are_batched_and_each_caller_gets_its_own_answer(model_server, served_caches):
    crops = face_crops()
    stacks = [np.roll(crops, shift, axis=2) for shift in range(16)]  # 16 users, 16 different faces
    encoder = weights.load_pretrained("facenet_vggface2")
    here = [FACE_ENCODING(encoder, stack, CPU) for stack in stacks]
    before = sum(report.calls for report in model_server.reports("facenet_vggface2", 1))
    with ThreadPoolExecutor(len(stacks)) as pool:
        served = list(
            pool.map(lambda stack: model_server.call("facenet_vggface2", Call(FACE_ENCODING, stack, {})), stacks)
        )
    for one, other in zip(served, here):
        assert_same(one, other)
    assert not any(torch.allclose(served[0], other) for other in served[1:])  # nobody got another's faces
    (report,) = model_server.reports("facenet_vggface2", 1)
    assert report.calls - before == len(stacks)
    assert max(report.batch_sizes) > 1  # at least two users' crops went through one forward pass


def test_a_replica_computes_on_all_of_its_nodes_cores(model_server):
    # Ray starts a replica with OMP_NUM_THREADS=1 for its tenth of a CPU; the thread that
    # computes must be given the node's cores
    assert model_server.call("resnet18", Call(OPENMP_THREADS, None, {})) == os.cpu_count()


def test_a_killed_replica_is_routed_around_and_the_next_call_is_answered(model_server, served_caches):
    name, image = TWO_REPLICAS, astronaut()
    options = options_of(name)
    here = FACE_DETECTION(weights.load_pretrained(name), image, CPU, **options)
    reports = model_server.reports(name, 2)
    assert len(reports) == 2, "the test config gives this deployment two replicas"
    os.kill(reports[0].pid, signal.SIGKILL)
    started = time.monotonic()
    for _ in range(3):  # whichever replica the router picks, each call is answered
        assert_same(model_server.call(name, Call(FACE_DETECTION, image, options)), here)
    assert time.monotonic() - started < 60


def test_a_model_without_weights_on_the_cluster_says_how_to_get_them(model_server):
    with pytest.raises(weights.ModelUnavailable, match="make weights"):
        model_server.call("resnet50", Call(IMAGENET_CLASSIFICATION, astronaut(), options_of("resnet18")))


def test_a_bad_input_is_its_callers_sentence_and_the_replica_keeps_serving(model_server, served_caches):
    with pytest.raises(UserError, match=r"Expected \(N, 160, 160, 3\) crops"):
        model_server.call("facenet_vggface2", Call(FACE_ENCODING, np.zeros((2, 80, 80, 3), np.uint8), {}))
    crops = face_crops()
    assert model_server.call("facenet_vggface2", Call(FACE_ENCODING, crops, {})).shape == (len(crops), 512)


def test_a_deployment_not_up_is_starting_or_unavailable_never_a_traceback(model_server, monkeypatch):
    from ray.serve.schema import (
        ApplicationStatus,
        ApplicationStatusOverview,
        DeploymentStatus,
        DeploymentStatusOverview,
        DeploymentStatusTrigger,
    )

    from core.cluster import serving

    def status(application: ApplicationStatus, deployment: DeploymentStatus | None) -> ApplicationStatusOverview:
        deployments = {}
        if deployment is not None:
            trigger = DeploymentStatusTrigger.CONFIG_UPDATE_STARTED
            deployments["mtcnn"] = DeploymentStatusOverview(deployment, trigger, {}, "")
        return ApplicationStatusOverview(application, "", 0.0, deployments)

    cases = [
        (status(ApplicationStatus.DEPLOYING, DeploymentStatus.UPDATING), serving.ModelServerStarting, "is starting"),
        (status(ApplicationStatus.DEPLOYING, None), serving.ModelServerStarting, "is starting"),
        (
            status(ApplicationStatus.DEPLOY_FAILED, DeploymentStatus.DEPLOY_FAILED),
            serving.ModelServerUnavailable,
            "failed",
        ),
        (None, serving.ModelServerUnavailable, "does not run on the cluster"),
    ]
    for overview, error, sentence in cases:
        monkeypatch.setattr(model_server, "_application_status", lambda overview=overview: overview)
        with pytest.raises(error, match=sentence):
            model_server.call("mtcnn", Call(FACE_DETECTION, astronaut(), options_of("mtcnn")))


def test_with_the_address_set_a_page_calls_the_model_server(model_server, served_caches, monkeypatch):
    from core.runtime.device import RAY_ADDRESS_ENV
    from tests.app.elements import open_page

    monkeypatch.setenv(RAY_ADDRESS_ENV, "local")  # the cluster and model server the fixtures started
    before = sum(report.calls for report in model_server.reports("unet_shapes", 1))
    app = open_page("app_pages/segmentation.py")
    assert not app.exception
    (report,) = model_server.reports("unet_shapes", 1)
    assert report.calls > before  # the page's U-Net sample went to the deployment
