"""The pretrained models as Ray Serve deployments, shared by every app replica.

One deployment per model of ``serve.yaml`` (YOLO for boxes, masks and keypoints, MTCNN and
FaceNet, the ImageNet classifiers, the shipped U-Net, DeepLabV3): each replica loads its
model once, on the GPU share it declares, and ``@serve.batch`` gathers the calls that
arrive within a few milliseconds (from any user, on any app replica) into one forward pass
(``core.runtime.inference.run_together``). Serve scales each deployment's replicas on the
requests it has ongoing, and routes around a replica that died.

The app calls a model through ``model_server(address).call``, which answers "the model
server is starting" or "unavailable" as a ``UserError`` while a deployment is not up. The
config is Serve's own format: ``serve run serve.yaml`` deploys it, and so does ``deploy``
(``python -m core.cluster.serving deploy``), which adds the path the workers import the
project from. With ``CNNLAB_RAY_ADDRESS=local`` the app deploys it on the cluster it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray import serve

from core.cluster.jobs import PROJECT_ROOT, connect
from core.runtime.device import pick_device
from core.runtime.errors import UserError
from core.runtime.inference import Call, run_together

LOG = logging.getLogger("cnnlab.serving")
CONFIG = PROJECT_ROOT / "serve.yaml"
APP_NAME = "cnnlab-models"
MAX_BATCH_SIZE = 16
BATCH_WAIT_S = 0.005  # how long a replica waits for more calls to batch with the first
STATUS_TTL_S = 2.0
REQUEST_TIMEOUT_S = 120.0
ATTEMPTS = 3  # a replica that died is routed around; the call is sent again


class ModelServerStarting(UserError):
    """A deployment is not up yet."""


class ModelServerUnavailable(UserError):
    """A deployment failed, is not deployed, or lost the replicas that could answer."""


@dataclass(frozen=True)
class ReplicaReport:
    """One replica: its process, resident memory, and how many batches of each size it ran."""

    deployment: str
    pid: int
    resident_bytes: int
    batch_sizes: dict[int, int]

    @property
    def calls(self) -> int:
        return sum(size * count for size, count in self.batch_sizes.items())


@serve.deployment(ray_actor_options={"num_cpus": 0}, max_ongoing_requests=4 * MAX_BATCH_SIZE)
class ModelServer:
    """One pretrained model (``core.runtime.weights`` name), loaded once per replica. Without
    its weights on this node the replica still starts, answers each call with the
    ``ModelUnavailable`` that says how to get them, and loads them once they are there."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.threads = os.cpu_count() or 1  # the node's cores: a replica's CPU share is for scheduling
        self.device = pick_device()
        self.model: Any = None
        self.batch_sizes: Counter[int] = Counter()
        with contextlib.suppress(UserError):
            self._loaded()

    def _loaded(self) -> Any:
        from core.runtime import weights

        if self.model is None:
            self.model = weights.on_device(self.name, weights.load_pretrained(self.name), str(self.device))
        return self.model

    @serve.batch(max_batch_size=MAX_BATCH_SIZE, batch_wait_timeout_s=BATCH_WAIT_S)
    async def __call__(self, calls: list[Call]) -> list[Any]:
        try:
            model = self._loaded()
        except UserError as error:
            return [error] * len(calls)
        self.batch_sizes[len(calls)] += 1
        # the model runs in a thread: the replica keeps taking calls for the next batch meanwhile
        return await asyncio.to_thread(self._run, model, calls)

    def _run(self, model: Any, calls: list[Call]) -> list[Any]:
        import torch

        # OpenMP keeps a thread count per calling thread, and a new one starts from Ray's
        # OMP_NUM_THREADS (1 for a fractional CPU share): set it in the thread that computes
        torch.set_num_threads(self.threads)
        return run_together(model, self.device, calls)

    def report(self) -> ReplicaReport:
        import psutil

        return ReplicaReport(self.name, os.getpid(), psutil.Process().memory_info().rss, dict(self.batch_sizes))


@serve.deployment(ray_actor_options={"num_cpus": 0})
class Catalog:
    """The application's entry: it binds the model deployments and names them."""

    def __init__(self, models: dict[str, Any]) -> None:
        self.models = sorted(models)

    def __call__(self) -> list[str]:
        return self.models


def build(args: dict[str, Any]) -> Any:
    """The Serve application of ``serve.yaml``: ``args["models"]`` names the deployments."""
    return Catalog.bind({name: ModelServer.options(name=name).bind(name) for name in args["models"]})


def configured_models(config: Path = CONFIG) -> tuple[str, ...]:
    """The models that ``config``'s application serves."""
    return tuple(_application(_read(config))["args"]["models"])


def _read(config: Path) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(config.read_text())


def _application(document: dict[str, Any]) -> dict[str, Any]:
    return next(app for app in document["applications"] if app["name"] == APP_NAME)


def deploy(config: Path = CONFIG) -> None:
    """Deploy ``config`` on the connected cluster and return (as ``serve run CONFIG
    --non-blocking``): Serve's controller builds the application and starts the replicas.
    Its workers import this project from where this process has it; on a cluster without
    GPUs the deployments' GPU shares are left out (none could be scheduled)."""
    import ray
    from ray.serve._private import api as serve_api
    from ray.serve.schema import ServeDeploySchema

    document = _read(config)
    application = _application(document)
    application.setdefault("runtime_env", {}).setdefault("env_vars", {})["PYTHONPATH"] = str(PROJECT_ROOT)
    if not ray.cluster_resources().get("GPU"):
        for deployment in application.get("deployments", []):
            deployment.get("ray_actor_options", {}).pop("num_gpus", None)
    schema = ServeDeploySchema.model_validate(document)
    client = serve_api.serve_start(http_options=schema.http_options.model_dump(), proxy_location=schema.proxy_location)
    client.deploy_apps(schema, _blocking=False)


class ServedModels:
    """The app's side of the model server: which models it serves, and calls into them."""

    def __init__(self, address: str, config: Path = CONFIG) -> None:
        connect(address)
        self.models = configured_models(config)
        self._status: tuple[float, Any] = (0.0, None)
        self._handles: dict[str, Any] = {}
        self._guard = threading.Lock()

    def serves(self, name: str) -> bool:
        return name in self.models

    def call(self, name: str, call: Call) -> Any:
        """``call``'s result from the deployment ``name``; a replica that dies on the way is
        routed around (the call is sent again), at most ``ATTEMPTS`` times."""
        from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError
        from ray.serve.exceptions import BackPressureError

        for attempt in range(1, ATTEMPTS + 1):
            self._check_up(name)
            try:
                answer = self._handle(name).remote(call).result(timeout_s=REQUEST_TIMEOUT_S)
            except RayActorError as error:
                LOG.warning("A replica of %s died during a call (attempt %d): %r", name, attempt, error)
                self._status = (0.0, None)
                continue
            except RayTaskError as error:
                raise _failed(name, error) from None
            except (GetTimeoutError, BackPressureError):
                raise ModelServerUnavailable(
                    f"The model server is too busy to run {name} now. Try again in a minute."
                ) from None
            if isinstance(answer, UserError):
                raise answer
            return answer
        raise ModelServerUnavailable(
            f"The model server lost the replicas of {name} that were answering. Try again in a minute: the "
            "cluster starts new ones."
        )

    def reports(self, name: str, replicas: int) -> list[ReplicaReport]:
        """The reports of ``name``'s replicas (as many distinct ones as answer in ``4 × replicas`` calls)."""
        seen: dict[int, ReplicaReport] = {}
        for _ in range(4 * replicas):
            report = self._handle(name).report.remote().result(timeout_s=REQUEST_TIMEOUT_S)
            seen[report.pid] = report
        return list(seen.values())

    def _handle(self, name: str) -> Any:
        with self._guard:
            if name not in self._handles:
                self._handles[name] = serve.get_deployment_handle(name, app_name=APP_NAME)
            return self._handles[name]

    def _check_up(self, name: str) -> None:
        """Raise the message a user sees while ``name``'s deployment cannot answer."""
        from ray.serve.schema import ApplicationStatus, DeploymentStatus

        application = self._application_status()
        if application is None or application.status in (ApplicationStatus.NOT_STARTED, ApplicationStatus.DELETING):
            raise ModelServerUnavailable(
                f"The model server does not run on the cluster, so {name} cannot answer. The operator starts it "
                "with `make cluster`, or `python -m core.cluster.serving deploy` on a running cluster."
            )
        deployment = application.deployments.get(name)
        if application.status == ApplicationStatus.DEPLOYING and (
            deployment is None or deployment.status != DeploymentStatus.HEALTHY
        ):
            raise ModelServerStarting(
                f"The model server is starting: {name} is being loaded on the cluster. Try again in a few seconds."
            )
        if deployment is None or deployment.status in (DeploymentStatus.DEPLOY_FAILED, DeploymentStatus.UNHEALTHY):
            LOG.error("The deployment %s cannot answer: %s", name, application.message or deployment)
            raise ModelServerUnavailable(
                f"The model server cannot run {name} now (its deployment failed; the operator finds why in the "
                "cluster's Serve logs). The other pages keep working."
            )

    def _application_status(self) -> Any:
        checked, status = self._status
        if status is None or time.monotonic() - checked > STATUS_TTL_S:
            status = serve.status().applications.get(APP_NAME)
            self._status = (time.monotonic(), status)
        return status


def _failed(name: str, error: Exception) -> ModelServerUnavailable:
    """What a user reads when a deployment's code failed: an error id; the traceback goes to the log."""
    error_id = uuid.uuid4().hex[:8]
    LOG.error("The deployment %s failed (error id %s): %s", name, error_id, error)
    return ModelServerUnavailable(
        f"The model server could not run {name} (error id {error_id}; the operator finds it in the server's log)."
    )


def wait_until_up(timeout_s: float) -> None:
    """Return once the model server's application runs; ``ModelServerUnavailable`` when its
    deployment failed or ``timeout_s`` passed first."""
    from ray.serve.schema import ApplicationStatus

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = serve.status().applications.get(APP_NAME)
        if status is not None and status.status == ApplicationStatus.RUNNING:
            return
        if status is not None and status.status == ApplicationStatus.DEPLOY_FAILED:
            raise ModelServerUnavailable(f"The model server failed to deploy: {status.message}")
        time.sleep(0.5)
    raise ModelServerUnavailable(f"The model server did not start within {timeout_s:.0f} s.")


_servers: dict[str, ServedModels] = {}
_servers_guard = threading.Lock()


def model_server(address: str) -> ServedModels:
    """The model server of the cluster at ``address``, once per process; ``local`` (a
    cluster this process starts) deploys ``serve.yaml`` on it first."""
    with _servers_guard:
        if address not in _servers:
            _servers[address] = ServedModels(address)
            if address == "local":
                deploy()
        return _servers[address]


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Deploy CNN Lab's model server on a running Ray cluster.")
    parser.add_argument("action", choices=("deploy",))
    parser.add_argument("--address", default="auto", help="the cluster (as CNNLAB_RAY_ADDRESS)")
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--wait", type=float, default=0, help="seconds to wait for every deployment to be up")
    options = parser.parse_args(argv)
    connect(options.address)
    deploy(options.config)
    print(f"Deploying {', '.join(configured_models(options.config))} ({options.config}).", flush=True)
    if options.wait:
        wait_until_up(options.wait)
        print("The model server is up.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
