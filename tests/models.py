"""Untrained stand-ins written to the exact cache files, for tests of the loading and
drawing plumbing. Their outputs mean nothing and no test treats them as predictions."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import torch

from core.runtime.weights import get_weights


def save_untrained_yolo(name: str, class_logit: float | None = None, directory: Path | None = None) -> None:
    """Write an untrained YOLO11 or YOLO26 (``name`` as in core.runtime.weights) where ultralytics loads it
    (or into ``directory``, for a server with its own weights directory).

    ``class_logit`` sets every class bias of the head, so that an untrained network
    reports boxes above a threshold (freshly initialized, its scores are about 1e-4).
    """
    from ultralytics import YOLO

    entry = get_weights(name)
    untrained = YOLO(entry.file_name.replace(".pt", ".yaml"))
    if class_logit is not None:
        head = untrained.model.model[-1]
        with torch.no_grad():  # YOLO26's end-to-end head answers through its one-to-one branches
            for branch in [*head.cv3, *getattr(head, "one2one_cv3", [])]:
                branch[-1].bias.fill_(class_logit)
    path = directory / entry.file_name if directory else entry.cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    untrained.save(path)


def save_untrained_yolo_onnx(directory: Path, file_name: str, imgsz: int = 320) -> Path:
    """An untrained YOLO11n with raised class biases (``save_untrained_yolo``), exported by
    ultralytics to ONNX at a fixed ``imgsz`` as ``directory / file_name``: an operator's
    ``.onnx`` model."""
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory() as scratch:
        save_untrained_yolo("yolo11n", class_logit=2.0, directory=Path(scratch))
        exported = YOLO(str(Path(scratch) / "yolo11n.pt")).export(
            format="onnx", imgsz=imgsz, simplify=False, verbose=False
        )
        target = directory / file_name
        directory.mkdir(parents=True, exist_ok=True)
        shutil.move(exported, target)
    return target


def save_untrained_torchvision(name: str) -> dict[str, torch.Tensor]:
    """Write an untrained torchvision model (``name`` as in core.runtime.weights) to the exact hub
    cache file its weights enum downloads to; returns the state written."""
    from torchvision.models import get_model, get_weight

    entry = get_weights(name)
    categories = len(get_weight(entry.pretrained_tag).meta["categories"])
    extra = {"aux_loss": True} if name.startswith("deeplab") else {}
    if name.startswith(("deeplab", "fasterrcnn")):
        extra["weights_backbone"] = None
    if name in ("googlenet", "inception_v3"):
        extra["init_weights"] = False  # torchvision's slow truncated-normal initialization is not needed here
    untrained = get_model(entry.builder, weights=None, num_classes=categories, **extra)
    # With weights, detection backbones use FrozenBatchNorm2d, which keeps no batch counter;
    # the published checkpoint has none either.
    frozen_norm = name.startswith("fasterrcnn")
    saved = {
        key: value.clone()
        for key, value in untrained.state_dict().items()
        if not (frozen_norm and key.endswith("num_batches_tracked"))
    }
    entry.cache_path().parent.mkdir(parents=True, exist_ok=True)
    torch.save(saved, entry.cache_path())
    return saved


def save_untrained_facenet(name: str, directory: Path | None = None) -> dict[str, torch.Tensor]:
    """Write an untrained InceptionResnetV1 (``name`` as in core.runtime.weights) to the file
    facenet-pytorch loads (``$TORCH_HOME/checkpoints``, or ``directory`` standing for
    ``$TORCH_HOME`` of a test server); returns the state written."""
    from facenet_pytorch import InceptionResnetV1

    entry = get_weights(name)
    identities = {"vggface2": 8631, "casia-webface": 10575}[entry.pretrained_tag]
    saved = InceptionResnetV1(classify=True, num_classes=identities).state_dict()
    path = directory / "checkpoints" / entry.file_name if directory else entry.cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(saved, path)
    return saved
