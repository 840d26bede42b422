"""One local Ray cluster for the test session (2 CPUs and a declared GPU, so that the
scheduling of GPU jobs and GPU shares is exercised without a GPU), and the model server
deployed on it from a test config: the models that work offline (MTCNN, the shipped U-Net)
and untrained stand-ins written to the caches the replicas read (``tests.models``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.cluster import jobs as cluster

SERVED = {  # the test app's models, and the stand-in each needs
    "yolo11n": "yolo",
    "mtcnn": None,
    "facenet_vggface2": "facenet",
    "resnet18": "torchvision",
    "unet_shapes": None,
    "deeplabv3_mobilenet_v3_large": "torchvision",
    "resnet50": "absent",  # no weights on the replicas' node: its calls say how to get them
}
TWO_REPLICAS = "mtcnn"  # a deployment that keeps serving when one of its replicas is killed


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory) -> Iterator[Path]:
    """The session's cluster; its workers read weights from the caches under the path it
    yields (``served_caches`` points this process at them too)."""
    import ray

    caches = tmp_path_factory.mktemp("cluster-caches")
    with pytest.MonkeyPatch.context() as patch:  # the workers inherit the environment the cluster starts with
        point_caches_at(caches, patch)
        ray.init(
            address="local",  # a cluster of its own, not one a `ray start` on this machine left behind
            num_cpus=2,
            num_gpus=1,
            object_store_memory=300_000_000,
            include_dashboard=False,
            namespace=cluster.NAMESPACE,
            job_config=ray.job_config.JobConfig(code_search_path=[str(cluster.PROJECT_ROOT)]),
            log_to_driver=False,
        )
    try:
        yield caches
    finally:
        ray.shutdown()


@pytest.fixture()
def served_caches(ray_cluster, monkeypatch) -> Path:
    """This process reads weights from the cluster's caches, for one test."""
    point_caches_at(ray_cluster, monkeypatch)
    return ray_cluster


def point_caches_at(caches: Path, patch: pytest.MonkeyPatch) -> None:
    """TORCH_HOME and ultralytics' settings (its weights folder) under ``caches``, for this
    process and the cluster's workers."""
    from ultralytics.utils import SETTINGS, SettingsManager

    patch.setenv("TORCH_HOME", str(caches / "torch"))
    patch.setenv("YOLO_CONFIG_DIR", str(caches / "ultralytics-config"))
    settings = SettingsManager(caches / "ultralytics-config" / "Ultralytics" / "settings.json")
    settings.update(weights_dir=str(caches / "ultralytics"))
    patch.setitem(SETTINGS, "weights_dir", str(caches / "ultralytics"))


@pytest.fixture(scope="session")
def model_server(ray_cluster) -> Iterator[Any]:
    """The Serve application of ``serve.yaml`` reduced to ``SERVED``, running, and the app's
    client of it (also what pages get with ``CNNLAB_RAY_ADDRESS=local``)."""
    from core.cluster import serving
    from tests import models

    stand_ins = {
        "yolo": lambda name: models.save_untrained_yolo(name, class_logit=2.0),
        "facenet": models.save_untrained_facenet,
        "torchvision": models.save_untrained_torchvision,
    }
    with pytest.MonkeyPatch.context() as patch:
        point_caches_at(ray_cluster, patch)
        for name, kind in SERVED.items():
            if kind in stand_ins:
                stand_ins[kind](name)
    config = ray_cluster / "serve.yaml"
    config.write_text(yaml.safe_dump(reduced_serve_config(list(SERVED), [TWO_REPLICAS])))
    serving.deploy(config)
    server = serving.ServedModels("local", config)
    serving._servers["local"] = server
    serving.wait_until_up(timeout_s=240)
    yield server
    serving._servers.clear()


def reduced_serve_config(models: Sequence[str], two_replicas: Sequence[str] = ()) -> dict:
    """``serve.yaml`` with only ``models``, each one replica (two for ``two_replicas``) on a
    small CPU share, so that all fit in a test cluster's two CPUs."""
    from core.cluster import serving

    document = yaml.safe_load(serving.CONFIG.read_text())
    application = document["applications"][0]
    application["args"]["models"] = list(models)
    application["deployments"] = [
        {
            "name": name,
            "num_replicas": 2 if name in two_replicas else 1,
            "ray_actor_options": {"num_cpus": 0.1, "num_gpus": 0.05, "memory": 100_000_000},
        }
        for name in models
    ]
    return document
