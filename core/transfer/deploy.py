"""A trained classifier of the transfer-learning page put to use (course week 2, "Transfer
Learning"): on the live camera, as an ONNX file other tools read, and described by a model
card.

- ``LiveClassifier`` is a ``core.media.video.FrameWork``: each camera (or video) frame
  through the regime's network, its top classes drawn over the frame as bars. A network at
  chance on its held-out photos says so on the frame instead of naming a class.
- ``export_onnx`` writes the backbone and head with PyTorch's ONNX exporter, the
  preprocessing and the class names in the file's metadata, and checks the file: the
  outputs of onnxruntime on the held-out photos equal PyTorch's within ``ONNX_TOLERANCE``.
- ``model_card`` says what the model is, in JSON: classes and counts, regime, backbone and
  its weights, epochs, held-out accuracy and confusion matrix, augmentation, date.
"""

from __future__ import annotations

import copy
import datetime
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.media.video import SourceFrame, VideoPlan
from core.transfer.regimes import REGIME_TITLES, RegimeRun, held_out_verdict, to_batch

ONNX_TOLERANCE = 1e-4
TOP_SHOWN = 3
FRAME_BYTES_PER_PIXEL = 12  # the frame, its RGB copy and the drawn copy
BAR = (0, 200, 83)  # BGR: the page's green


@dataclass(frozen=True)
class LiveClassifier:
    """The trained ``run``'s network on every frame. Two are equal when they hold the same
    network, so the live camera starts afresh only on a new training or regime."""

    run: RegimeRun = field(repr=False, compare=False)
    network_id: int = 0

    @classmethod
    def of(cls, run: RegimeRun) -> LiveClassifier:
        return cls(run, id(run.network))

    @property
    def title(self) -> str:
        return f"{REGIME_TITLES[self.run.regime]} on {self.run.backbone.title}"

    def memory_parts(self, plan: VideoPlan) -> dict[str, int]:
        return {"the size": FRAME_BYTES_PER_PIXEL * plan.width * plan.height}

    def start(self, device: torch.device) -> Callable[[SourceFrame], tuple[np.ndarray, tuple[tuple[str, float], ...]]]:
        run, network = self.run, self.run.network
        verdict = held_out_verdict(run.last.validation_accuracy, run.held_out, len(run.classes))
        network.eval()

        def step(frame: SourceFrame) -> tuple[np.ndarray, tuple[tuple[str, float], ...]]:
            with torch.inference_mode():
                probabilities = network(to_batch([frame.rgb()], run.backbone).to(device)).softmax(1)[0].cpu()
            ranked = tuple(sorted(zip(run.classes, probabilities.tolist()), key=lambda pair: -pair[1]))
            return draw_top_classes(frame.bgr, ranked, verdict.better_than_chance), ranked

        return step


def draw_top_classes(bgr: np.ndarray, ranked: Sequence[tuple[str, float]], finding: bool) -> np.ndarray:
    """A copy of the frame with the top classes as bars (length: probability) at its top left;
    without a finding, a note that the model is at chance instead of bars."""
    import cv2  # OpenCV comes with ultralytics

    drawn = bgr.copy()
    scale = max(0.4, drawn.shape[1] / 1000)
    height, width = round(28 * scale), round(220 * scale)
    lines = (
        [(name, probability) for name, probability in ranked[:TOP_SHOWN]]
        if finding
        else [("no finding: at chance on its held-out photos", None)]
    )
    for row, (name, probability) in enumerate(lines):
        top = round(8 * scale) + row * (height + 4)
        cv2.rectangle(drawn, (8, top), (8 + width, top + height), (40, 40, 40), -1)
        if probability is not None:
            cv2.rectangle(drawn, (8, top), (8 + round(width * probability), top + height), BAR, -1)
            name = f"{name} {probability:.0%}"
        cv2.putText(drawn, name, (12, top + height - round(8 * scale)), 0, 0.6 * scale, (255, 255, 255), 1, cv2.LINE_AA)
    return drawn


@dataclass(frozen=True)
class OnnxExport:
    """An ONNX file of a trained classifier and the check made on it: the largest difference
    between onnxruntime's and PyTorch's logits over ``photos_checked`` held-out photos."""

    data: bytes
    photos_checked: int
    largest_difference: float


def export_onnx(run: RegimeRun, held_out: Sequence[np.ndarray]) -> OnnxExport:
    """``run``'s network (a CPU copy: the original may be streaming) as ONNX: input "image",
    (batch, 3, side, side) normalized as the metadata says; output "logits" over the
    metadata's classes. Raises ``RuntimeError`` if onnxruntime disagrees with PyTorch."""
    import onnxruntime

    network = copy.deepcopy(run.network).cpu().eval()
    side = run.backbone.side
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.onnx.export(
        network,
        (torch.zeros(2, 3, side, side),),
        dynamo=True,
        input_names=["image"],
        output_names=["logits"],
        dynamic_shapes={"x": {0: batch}},
        verbose=False,
    )
    program.model.metadata_props.update(
        {
            "classes": json.dumps(list(run.classes)),
            "input": f"RGB in [0, 1], resized to {side}×{side}, then (x − mean) / std per channel",
            "mean": json.dumps(list(run.backbone.mean)),
            "std": json.dumps(list(run.backbone.std)),
            "backbone": run.backbone.title,
            "regime": REGIME_TITLES[run.regime],
        }
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        program.save(str(path))
        data = path.read_bytes()
    inputs = to_batch(list(held_out), run.backbone) if held_out else torch.zeros(1, 3, side, side)
    with torch.inference_mode():
        expected = network(inputs).numpy()
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    difference = float(np.abs(session.run(None, {"image": inputs.numpy()})[0] - expected).max())
    if difference > ONNX_TOLERANCE:
        raise RuntimeError(f"onnxruntime's logits differ from PyTorch's by {difference:.2g}")
    return OnnxExport(data, len(held_out), difference)


def model_card(
    run: RegimeRun, counts: dict[str, int], weights: str | None, augmentation: str | None, when: datetime.date
) -> str:
    """The model described in JSON. ``counts``: photos per class in all (training and held
    out); ``weights``: what the backbone started from (None: random, from scratch)."""
    verdict = held_out_verdict(run.last.validation_accuracy, run.held_out, len(run.classes))
    card = {
        "model": f"{run.backbone.title}, {REGIME_TITLES[run.regime]}",
        "classes": [{"name": name, "photos": counts.get(name, 0)} for name in run.classes],
        "regime": REGIME_TITLES[run.regime],
        "backbone": run.backbone.title,
        "backbone weights": weights or "none: random initialization, trained from scratch",
        "epochs": f"{run.last.epoch} of {run.planned_epochs}" + (" (stopped)" if run.stopped else ""),
        "held-out photos": run.held_out,
        "held-out accuracy": round(run.last.validation_accuracy, 4),
        "better than guessing": {
            "finding": verdict.better_than_chance,
            "p-value (one-sided binomial test against 1 / classes)": round(verdict.p_value, 4),
        },
        "confusion matrix (rows: true, columns: predicted)": (
            None if run.last.confusion is None else run.last.confusion.tolist()
        ),
        "augmentation": augmentation or "none",
        "input": {"size": [run.backbone.side, run.backbone.side], "mean": run.backbone.mean, "std": run.backbone.std},
        "date": when.isoformat(),
        "made with": "CNN Lab, transfer learning",
    }
    return json.dumps(card, indent=2, ensure_ascii=False)
