"""Untrained stand-ins written to the exact cache files, for tests of the loading and
drawing plumbing. Their outputs mean nothing and no test treats them as predictions."""

from __future__ import annotations

from pathlib import Path

import torch

from core.weights import get_weights


def save_untrained_yolo(name: str, class_logit: float | None = None, directory: Path | None = None) -> None:
    """Write an untrained YOLO11 (``name`` as in core.weights) where ultralytics loads it
    (or into ``directory``, for a server with its own weights directory).

    ``class_logit`` sets every class bias of the head, so that an untrained network
    reports boxes above a threshold (freshly initialized, its scores are about 1e-4).
    """
    from ultralytics import YOLO

    entry = get_weights(name)
    untrained = YOLO(entry.file_name.replace(".pt", ".yaml"))
    if class_logit is not None:
        with torch.no_grad():
            for branch in untrained.model.model[-1].cv3:
                branch[-1].bias.fill_(class_logit)
    path = directory / entry.file_name if directory else entry.cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    untrained.save(path)
