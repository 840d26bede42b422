"""Pretrained detectors on the user's image: YOLO11 and YOLO26 (ultralytics) and Faster R-CNN
(torchvision).

Course week 3, "YOLO algorithm", "Landmark detection" and "Region proposals". Papers: Redmon
et al. 2016, "You Only Look Once"; Ren et al. 2016, "Faster R-CNN". YOLO's pose models add
17 keypoints per person (COCO's), the course's landmarks: the output vector l1x, l1y, …,
l17x, l17y beside each box. The models come from ``core.runtime.weights``;
calls into a shared model go through ``core.runtime.device.device_lock`` (ultralytics models are
not thread-safe). Drawing uses each library's own helper: ultralytics ``Results.plot``,
torchvision ``draw_bounding_boxes``.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from core.detection.boxes import Box, midpoint_form
from core.runtime.device import device_lock, torch_threads_kept
from core.runtime.errors import UserError
from core.runtime.inference import ModelTask, any_shape
from core.runtime.latency import synchronize
from core.runtime.tables import csv_text

YOLO_SIZES = ("n", "s", "m", "l", "x")
YOLO_FAMILIES = ("11", "26")
YOLO_TASKS = ("", "-seg", "-pose")  # the file suffixes: boxes, instance masks, keypoints
YOLO_IMAGE_SIZES = (320, 480, 640, 800, 960, 1280)  # multiples of the largest stride, 32
KEYPOINTS = (  # COCO's 17, in the order of the pose models' outputs
    "nose",
    "left eye",
    "right eye",
    "left ear",
    "right ear",
    "left shoulder",
    "right shoulder",
    "left elbow",
    "right elbow",
    "left wrist",
    "right wrist",
    "left hip",
    "right hip",
    "left knee",
    "right knee",
    "left ankle",
    "right ankle",
)


def yolo_weights_name(size: str, task: str = "", family: str = "11") -> str:
    """The ``core.runtime.weights`` name of YOLO``family`` ``size`` ("n" … "x") for ``task``
    ("": detection, "-seg": instance segmentation, "-pose": keypoints)."""
    if size not in YOLO_SIZES or task not in YOLO_TASKS or family not in YOLO_FAMILIES:
        raise UserError(
            f"YOLO comes as YOLO{' or YOLO'.join(YOLO_FAMILIES)}, in sizes {', '.join(YOLO_SIZES)}, for boxes, "
            f"-seg or -pose; not yolo{family}{size}{task}."
        )
    return f"yolo{family}{size}{task}"


def yolo_size_letter(name: str) -> str:
    """The size of a YOLO weights name: "yolo26s-pose" -> "s"; "" for an operator's model."""
    return name[len("yolo11")] if name.startswith("yolo") else ""


@dataclass(frozen=True)
class Detection:
    """One detected object: class, confidence and its (x1, y1, x2, y2) box in image pixels."""

    class_id: int
    class_name: str
    confidence: float
    box: Box


@dataclass(frozen=True)
class DetectionResult:
    """What a detector found in one image, where the time went, and the library's drawing of it."""

    detections: tuple[Detection, ...]
    width: int
    height: int
    speed_ms: dict[str, float]  # stage -> milliseconds
    draw: Callable[[], np.ndarray] = field(repr=False, compare=False)
    has_masks: bool = False
    keypoints: np.ndarray | None = field(default=None, repr=False, compare=False)  # (N, 17, 3): x, y, confidence

    def annotated(self) -> np.ndarray:
        """The image with boxes (and masks) drawn by the detector's library: (H, W, 3) uint8 RGB.
        Drawn on request, so detection itself is timed without it."""
        return self.draw()

    def drawn(self) -> DetectionResult:
        """This result with its drawing made now: plain data, to send to another process."""
        return replace(self, draw=Drawing(self.annotated()))

    def rows(self) -> list[dict[str, Any]]:
        """The detections table: class, confidence, pixel corners and the course's bx, by, bh, bw."""
        rows = []
        for found in self.detections:
            bx, by, bh, bw = midpoint_form(found.box, self.width, self.height)
            x1, y1, x2, y2 = found.box
            rows.append(
                {
                    "class": found.class_name,
                    "confidence": round(found.confidence, 4),
                    "x1": round(x1, 1),
                    "y1": round(y1, 1),
                    "x2": round(x2, 1),
                    "y2": round(y2, 1),
                    "bx": round(bx, 4),
                    "by": round(by, 4),
                    "bh": round(bh, 4),
                    "bw": round(bw, 4),
                }
            )
        return rows

    def landmark_rows(self, person: int) -> list[dict[str, Any]]:
        """One row per keypoint of detection ``person`` (a pose model's): its name, pixels,
        confidence, and the course's lᵢx, lᵢy as fractions of the image's width and height."""
        if self.keypoints is None:
            return []
        return [
            {
                "i": index,
                "landmark": name,
                "x": round(float(x), 1),
                "y": round(float(y), 1),
                "confidence": round(float(confidence), 4),
                "lᵢx": round(float(x) / self.width, 4),
                "lᵢy": round(float(y) / self.height, 4),
            }
            for index, (name, (x, y, confidence)) in enumerate(zip(KEYPOINTS, self.keypoints[person]), start=1)
        ]

    def landmark_vector(self, person: int) -> list[float]:
        """The course's output vector for one person: l1x, l1y, …, l17x, l17y (fractions)."""
        return [value for row in self.landmark_rows(person) for value in (row["lᵢx"], row["lᵢy"])]

    def counts(self) -> dict[str, int]:
        """How many objects of each class, most frequent first."""
        counts: dict[str, int] = {}
        for found in self.detections:
            counts[found.class_name] = counts.get(found.class_name, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: -item[1]))

    def to_csv(self) -> str:
        return csv_text(self.rows(), ["class", "confidence"])

    def to_json(self) -> str:
        return json.dumps({"width": self.width, "height": self.height, "detections": self.rows()}, indent=2)


@dataclass(frozen=True)
class Drawing:
    """A drawing made already: ``DetectionResult.draw`` for a result sent between processes."""

    image: np.ndarray  # (H, W, 3) uint8 RGB

    def __call__(self) -> np.ndarray:
        return self.image


# -- YOLO ----------------------------------------------------------------------------------------


def detect_yolo(
    model: Any,
    image: np.ndarray,
    device: torch.device,
    *,
    conf: float = 0.25,
    iou: float = 0.7,
    classes: Sequence[int] | None = None,
    imgsz: int = 640,
    max_det: int = 300,
) -> DetectionResult:
    """Run an ultralytics YOLO model on an (H, W, 3) uint8 RGB image.

    ultralytics resizes (letterbox) to ``imgsz``, keeps boxes with confidence ≥ ``conf``,
    runs per-class NMS at ``iou`` and maps boxes back to the original pixels.
    """
    chosen = None if classes is None else tuple(classes)
    return YOLO_DETECT(model, image, device, conf=conf, iou=iou, classes=chosen, imgsz=imgsz, max_det=max_det)


def detect_yolo_batch(
    model: Any, images: Sequence[np.ndarray], device: torch.device, options: Mapping[str, Any]
) -> list[DetectionResult]:
    """``detect_yolo`` for images of one shape in one forward pass (ultralytics letterboxes
    a batch of one shape as it does one image), ``options`` as ``detect_yolo``'s."""
    import cv2  # OpenCV comes with ultralytics

    bgr = [cv2.cvtColor(image, cv2.COLOR_RGB2BGR) for image in images]  # ultralytics reads arrays as OpenCV BGR
    results = predict_yolo_batch(model, bgr, device, **options)
    return [
        DetectionResult(
            yolo_detections(result),
            image.shape[1],
            image.shape[0],
            dict(result.speed),
            functools.partial(_plotted, result),
            has_masks=result.masks is not None,
            keypoints=None if result.keypoints is None else result.keypoints.data.cpu().numpy(),
        )
        for image, result in zip(images, results)
    ]


def _plotted(result: Any) -> np.ndarray:
    return np.asarray(result.plot(pil=True))


def yolo_class_names(model: Any, payloads: Sequence[None], device: torch.device, options: Mapping[str, Any]) -> list:
    """The model's class names, {id: name}, once per request."""
    return [dict(model.names)] * len(payloads)


YOLO_DETECT = ModelTask("yolo-detect", detect_yolo_batch, plain=DetectionResult.drawn)
YOLO_CLASS_NAMES = ModelTask("yolo-class-names", yolo_class_names, batch_key=any_shape)


def predict_yolo(model: Any, bgr: np.ndarray, device: torch.device, *, classes: Sequence[int] | None, **options: Any):
    """The library's ``Results`` for an (H, W, 3) uint8 BGR image (OpenCV's order, which
    ultralytics reads), ``options`` as ``detect_yolo``'s."""
    return predict_yolo_batch(model, [bgr], device, classes=classes, **options)[0]


def predict_yolo_batch(
    model: Any,
    frames: Sequence[np.ndarray],
    device: torch.device,
    *,
    classes: Sequence[int] | None = None,
    **options: Any,
) -> list:
    """The library's ``Results`` for BGR frames, as one batch."""
    with device_lock(device), torch_threads_kept():
        return model.predict(
            list(frames),
            classes=list(classes) if classes is not None else None,
            device=str(device),
            verbose=False,
            **options,
        )


def yolo_detections(result: Any) -> tuple[Detection, ...]:
    """The boxes of an ultralytics ``Results`` as ``Detection``s."""
    boxes = result.boxes.cpu()
    return tuple(
        Detection(int(class_id), result.names[int(class_id)], float(score), tuple(map(float, box)))
        for box, score, class_id in zip(boxes.xyxy.tolist(), boxes.conf.tolist(), boxes.cls.tolist())
    )


def yolo_candidates(
    model: Any, image: np.ndarray, device: torch.device, *, imgsz: int = 640, floor: float = 0.05, limit: int = 300
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model's candidate boxes before non-max suppression: (N, 4) boxes, (N,) scores, (N,) classes.

    The library's own pipeline with suppression switched off (IoU threshold 1.0: no box
    overlaps another by more than 1); each grid position keeps its best class. ``floor``
    drops the near-zero scores, and the ``limit`` highest remain.
    """
    result = detect_yolo(model, image, device, conf=floor, iou=1.0, imgsz=imgsz, max_det=limit)
    if not result.detections:
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=int)
    boxes = np.array([found.box for found in result.detections])
    scores = np.array([found.confidence for found in result.detections])
    classes = np.array([found.class_id for found in result.detections])
    return boxes, scores, classes


# -- Faster R-CNN ----------------------------------------------------------------------------------


def detect_faster_rcnn(
    model: torch.nn.Module,
    categories: Sequence[str],
    image: np.ndarray,
    device: torch.device,
    score_threshold: float = 0.5,
) -> DetectionResult:
    """Run a torchvision detector (already on ``device``, eval mode) on an (H, W, 3) uint8 RGB image."""
    from torchvision.utils import draw_bounding_boxes

    pixels = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)  # (3, H, W)
    with device_lock(device), torch.inference_mode():
        started = time.perf_counter()
        output = model([pixels.to(device).float().div(255)])[0]
        synchronize(device)
        elapsed_ms = (time.perf_counter() - started) * 1e3
    keep = output["scores"] >= score_threshold
    boxes, scores, labels = output["boxes"][keep].cpu(), output["scores"][keep].cpu(), output["labels"][keep].cpu()
    detections = tuple(
        Detection(int(label), categories[int(label)], float(score), tuple(map(float, box)))
        for box, score, label in zip(boxes.tolist(), scores.tolist(), labels.tolist())
    )
    names = [f"{found.class_name} {found.confidence:.2f}" for found in detections]
    line_width = max(2, max(image.shape[:2]) // 300)
    return DetectionResult(
        detections,
        image.shape[1],
        image.shape[0],
        {"total": elapsed_ms},
        lambda: draw_bounding_boxes(pixels, boxes, names, width=line_width).permute(1, 2, 0).numpy(),
    )


def coco_categories(weights_tag: str) -> list[str]:
    """The category names of a torchvision weights enum (``FasterRCNN_ResNet50_FPN_Weights.COCO_V1``)."""
    from torchvision.models import get_weight

    return list(get_weight(weights_tag).meta["categories"])
