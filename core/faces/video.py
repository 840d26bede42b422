"""Face recognition on a video, one frame at a time (a ``core.media.video.FrameWork``): MTCNN
finds the faces, FaceNet encodes them, and each is named after the nearest person of the
user's gallery within τ; then who appears in the video, and when.

Course week 4, "Face recognition": the 1:K search of ``core.faces.recognition`` on every
frame. Nothing links one frame's faces to the next: a person is "seen" in each frame in
which one of the faces is recognized as them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from core.faces.recognition import DetectionSettings, align_faces, detect_faces, embed_faces, recognize
from core.media.video import SourceFrame, VideoFrame, VideoPlan
from core.runtime.tables import csv_text

MTCNN_BYTES_PER_FRAME_PIXEL = 60  # peak of one detection, measured on the CPU: 47 B a pixel at 720p
RECOGNIZED, UNKNOWN = (0, 200, 83), (68, 23, 255)  # BGR: the page's green and red


@dataclass(frozen=True)
class Sighting:
    """One face in one frame: the person it was recognized as (None: nobody within τ), the
    distance to that person's template, and its box in pixels."""

    name: str | None
    distance: float
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class FaceRecognitionVideo:
    """MTCNN (``detector``) and an encoder (``encoder``) on every frame, against a gallery's
    identities and their (K, 512) templates."""

    encoder_name: str
    detector: Callable[[], Any] = field(repr=False, compare=False)
    encoder: Callable[[], torch.nn.Module] = field(repr=False, compare=False)
    identities: tuple[str, ...] = ()
    templates: torch.Tensor = field(default_factory=lambda: torch.zeros(0, 512), repr=False, compare=False)
    threshold: float = 1.04
    detection: DetectionSettings = DetectionSettings()
    margin: int = 20

    @property
    def title(self) -> str:
        return f"MTCNN and {self.encoder_name} against {len(self.identities)} people"

    def memory_parts(self, plan: VideoPlan) -> dict[str, int]:
        return {"the size": MTCNN_BYTES_PER_FRAME_PIXEL * plan.width * plan.height}

    def start(self, device: torch.device) -> Callable[[SourceFrame], tuple[np.ndarray, tuple[Sighting, ...]]]:
        detector, encoder = self.detector(), self.encoder()

        def step(frame: SourceFrame) -> tuple[np.ndarray, tuple[Sighting, ...]]:
            rgb = frame.rgb()
            found = detect_faces(rgb, detector, self.detection)
            if not found:
                return frame.bgr, ()
            encodings = embed_faces(align_faces(rgb, found, self.margin), encoder, device)
            answers = recognize(encodings, self.identities, self.templates, self.threshold, k=1)
            sightings = tuple(
                Sighting(answer.name, answer.top[0][1] if answer.top else float("nan"), face.box)
                for face, answer in zip(found, answers)
            )
            return draw_sightings(frame.bgr, sightings), sightings

        return step


def draw_sightings(bgr: np.ndarray, sightings: Sequence[Sighting]) -> np.ndarray:
    """A copy of the frame with each face's box and name (green) or "?" (red)."""
    import cv2  # OpenCV comes with ultralytics

    drawn = bgr.copy()
    thickness = max(2, max(bgr.shape[:2]) // 300)
    for sighting in sightings:
        x1, y1, x2, y2 = (round(value) for value in sighting.box)
        color = RECOGNIZED if sighting.name else UNKNOWN
        label = f"{sighting.name or '?'} {sighting.distance:.2f}"
        cv2.rectangle(drawn, (x1, y1), (x2, y2), color, thickness)
        cv2.putText(
            drawn, label, (x1, max(12, y1 - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * thickness / 2, color, thickness
        )
    return drawn


FaceFrame = VideoFrame[tuple[Sighting, ...]]


def appearance_rows(frames: Sequence[FaceFrame]) -> list[dict[str, Any]]:
    """Who appears, and when: per person recognized, the first and last time, the frames
    seen in, and the closest distance; and one row for the faces recognized as nobody."""
    seen: dict[str, list[tuple[FaceFrame, Sighting]]] = {}
    for frame in frames:
        for sighting in frame.found:
            seen.setdefault(sighting.name or "not recognized", []).append((frame, sighting))
    rows = [
        {
            "person": name,
            "first s": round(sightings[0][0].time_s, 3),
            "last s": round(sightings[-1][0].time_s, 3),
            "frames seen": len({frame.index for frame, _ in sightings}),
            "closest distance": round(min(sighting.distance for _, sighting in sightings), 4),
        }
        for name, sightings in seen.items()
    ]
    return sorted(rows, key=lambda row: (row["person"] == "not recognized", row["first s"]))


def sighting_rows(frames: Sequence[FaceFrame]) -> list[dict[str, Any]]:
    """One row per face found: the frame's time, and who it was recognized as."""
    return [
        {"time s": frame.time_s, "person": sighting.name or "not recognized"}
        for frame in frames
        for sighting in frame.found
    ]


def appearances_csv(frames: Sequence[FaceFrame]) -> str:
    return csv_text(appearance_rows(frames), ["person", "first s"])
