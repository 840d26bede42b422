"""Detection on a video with tracking: YOLO on every frame, and a tracker that gives each
object one id from frame to frame.

Course week 3 detects objects in each image; on a video the same object must keep its
identity. ByteTrack (Zhang et al. 2022, "ByteTrack: Multi-Object Tracking by Associating
Every Detection Box") predicts each track's box with a Kalman filter and matches the new
detections to it by IoU, the high-confidence ones first, then the low ones; BoT-SORT (Aharon
et al. 2022) adds camera-motion compensation. Both are ultralytics' own trackers, fed the
way its ``model.track`` feeds them, but one tracker per job: the shared model keeps none,
so two users' videos never share track ids.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from core.detection.boxes import Box
from core.detection.detectors import predict_yolo, yolo_size_letter
from core.media.video import SourceFrame, VideoFrame, VideoPlan
from core.runtime.tables import csv_text

TRACKERS = {"ByteTrack": "bytetrack.yaml", "BoT-SORT": "botsort.yaml"}
# peak bytes of one YOLO11 forward pass per pixel of its input square, measured on the CPU
YOLO_BYTES_PER_PIXEL = {"n": 60, "s": 100, "m": 200, "l": 250, "x": 350}


def yolo_bytes_per_pixel(weights_name: str) -> int:
    """Peak bytes per pixel of the input square for ``weights_name``; an operator's model, of
    unknown size, counts as the largest."""
    return YOLO_BYTES_PER_PIXEL.get(yolo_size_letter(weights_name), max(YOLO_BYTES_PER_PIXEL.values()))


@dataclass(frozen=True)
class TrackedObject:
    """One object in one frame: the tracker's id for it, its class, confidence and box."""

    track_id: int
    class_name: str
    confidence: float
    box: Box


def new_tracker(name: str) -> Any:
    """A fresh ultralytics tracker (``TRACKERS``' key) with the library's default settings."""
    from ultralytics.trackers.track import TRACKER_MAP
    from ultralytics.utils import YAML, IterableSimpleNamespace
    from ultralytics.utils.checks import check_yaml

    settings = IterableSimpleNamespace(**YAML.load(check_yaml(TRACKERS[name])))
    return TRACKER_MAP[settings.tracker_type](args=settings)


def track_step(tracker: Any, result: Any) -> tuple[Any, tuple[TrackedObject, ...]]:
    """Feed one frame's ultralytics ``Results`` to ``tracker``, as ``model.track`` does; returns
    the results to draw (boxes with their track ids) and the tracked objects."""
    tracks = tracker.update(result.boxes.cpu().numpy(), result.orig_img)  # (N, 8): x1 y1 x2 y2 id score cls idx
    if len(tracks) == 0:
        unconfirmed = any(not track.is_activated for track in tracker.tracked_stracks)
        return (result[:0] if unconfirmed else result), ()
    result = result[tracks[:, -1].astype(int)]
    result.update(boxes=torch.as_tensor(tracks[:, :-1], dtype=torch.float32))
    objects = tuple(
        TrackedObject(int(track_id), result.names[int(class_id)], float(score), (x1, y1, x2, y2))
        for x1, y1, x2, y2, track_id, score, class_id, _ in tracks.tolist()
    )
    return result, objects


@dataclass(frozen=True)
class YoloTracking:
    """YOLO with a tracker on each frame of a video (a ``core.media.video.FrameWork``).
    ``load`` gives the shared model; ``options`` are ``detect_yolo``'s (conf, iou, imgsz, max_det)."""

    weights_name: str
    load: Callable[[], Any] = field(repr=False, compare=False)
    tracker: str = "ByteTrack"
    classes: Sequence[int] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"{self.weights_name} with {self.tracker}"

    def memory_parts(self, plan: VideoPlan) -> dict[str, int]:
        imgsz = int(self.options.get("imgsz", 640))
        per_pixel = yolo_bytes_per_pixel(self.weights_name)
        return {"the model's image size": per_pixel * imgsz**2}

    def start(self, device: torch.device) -> Callable[[SourceFrame], tuple[np.ndarray, tuple[TrackedObject, ...]]]:
        model, tracker = self.load(), new_tracker(self.tracker)

        def step(frame: SourceFrame) -> tuple[np.ndarray, tuple[TrackedObject, ...]]:
            result = predict_yolo(model, frame.bgr, device, classes=self.classes, **self.options)
            drawn, objects = track_step(tracker, result)
            return drawn.plot(), objects  # the library's drawing, with OpenCV, in BGR

        return step


# -- what the tracks add up to -----------------------------------------------------------------------

TrackedFrame = VideoFrame[tuple[TrackedObject, ...]]


def track_rows(frames: Sequence[TrackedFrame]) -> list[dict[str, Any]]:
    """One row per track: id, class (its most frequent), first and last frame and time, the
    frames it was seen in, and its mean confidence; in order of first appearance."""
    seen: dict[int, list[tuple[TrackedFrame, TrackedObject]]] = {}
    for frame in frames:
        for found in frame.found:
            seen.setdefault(found.track_id, []).append((frame, found))
    rows = []
    for track_id, sightings in seen.items():
        names = [found.class_name for _, found in sightings]
        first, last = sightings[0][0], sightings[-1][0]
        rows.append(
            {
                "id": track_id,
                "class": max(set(names), key=names.count),
                "first frame": first.index,
                "last frame": last.index,
                "first s": round(first.time_s, 3),
                "last s": round(last.time_s, 3),
                "frames seen": len(sightings),
                "mean confidence": round(sum(found.confidence for _, found in sightings) / len(sightings), 4),
            }
        )
    return rows


def counts_per_frame(frames: Sequence[TrackedFrame]) -> list[dict[str, Any]]:
    """How many tracked objects of each class every processed frame holds."""
    classes = sorted({found.class_name for frame in frames for found in frame.found})
    return [
        {
            "frame": frame.index,
            "time s": round(frame.time_s, 3),
            **{name: sum(found.class_name == name for found in frame.found) for name in classes},
        }
        for frame in frames
    ]


def tracks_csv(frames: Sequence[TrackedFrame]) -> str:
    """The track table as CSV."""
    return csv_text(track_rows(frames), ["id", "class"])


def tracks_json(frames: Sequence[TrackedFrame]) -> str:
    """Every track and every frame's tracked objects, with their boxes in pixels."""
    return json.dumps(
        {
            "tracks": track_rows(frames),
            "frames": [
                {
                    "frame": frame.index,
                    "time s": round(frame.time_s, 3),
                    "objects": [
                        {
                            "id": found.track_id,
                            "class": found.class_name,
                            "confidence": round(found.confidence, 4),
                            "box": [round(value, 1) for value in found.box],
                        }
                        for found in frame.found
                    ],
                }
                for frame in frames
            ],
        },
        indent=1,
    )
