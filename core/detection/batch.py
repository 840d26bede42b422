"""Detection on several images at once (course week 3, "Object Detection"): YOLO on each of
up to ``MAX_IMAGES`` uploads as one job, one table of every box, and a zip of the drawings.

The job holds the uploaded files and decodes one image at a time; each drawing is kept as
a PNG, not as pixels, so memory does not grow with the number of images. A file that is
not a usable image is skipped with its reason; the others go on.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import torch

from core.detection.detectors import DetectionResult, detect_yolo
from core.detection.tracking import yolo_bytes_per_pixel
from core.runtime.budget import MemoryEstimate
from core.runtime.errors import UserError
from core.runtime.images import load_image
from core.runtime.jobs import CancelToken, Step
from core.runtime.tables import csv_text

MAX_IMAGES = 20
DRAWING_BYTES_PER_PIXEL = 12  # the RGB drawing, its PIL copy and the PNG being written


@dataclass(frozen=True)
class ImageDetections:
    """One file of the batch: its name, and what was found with its drawing as PNG, or why
    it was skipped."""

    name: str
    result: DetectionResult | None = field(default=None, repr=False)
    drawing_png: bytes = field(default=b"", repr=False)
    skipped: str | None = None


@dataclass
class DetectionBatch:
    """YOLO (``load`` gives the shared model) on each (file name, file bytes) upload, one
    step per file; ``options`` are ``detect_yolo``'s."""

    weights_name: str
    load: Callable[[], Any] = field(repr=False)
    files: Sequence[tuple[str, bytes]] = field(repr=False)
    classes: Sequence[int] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"{self.weights_name} on {len(self.files)} images"

    def estimate(self) -> MemoryEstimate:
        imgsz = int(self.options.get("imgsz", 640))
        per_pixel = yolo_bytes_per_pixel(self.weights_name)
        largest = max((pixels_of(data) for _, data in self.files), default=0)
        return MemoryEstimate(
            {"the model's image size": per_pixel * imgsz**2, "the largest image": DRAWING_BYTES_PER_PIXEL * largest}
        )

    def run(self, device: torch.device, cancel: CancelToken) -> Iterator[Step[ImageDetections]]:
        from PIL import Image

        model, total = self.load(), len(self.files)
        for done, (name, data) in enumerate(self.files, start=1):
            if cancel.cancelled:
                return
            try:
                image = load_image(data)
            except UserError as error:
                yield Step(done, total, f"image {done} of {total}: skipped", ImageDetections(name, skipped=str(error)))
                continue
            result = detect_yolo(model, image, device, classes=self.classes, **self.options)
            del image
            buffer = io.BytesIO()
            Image.fromarray(result.annotated()).save(buffer, format="PNG")
            text = f"image {done} of {total}: {len(result.detections)} found"
            yield Step(done, total, text, ImageDetections(name, result, buffer.getvalue()))


def pixels_of(data: bytes) -> int:
    """An image file's width × height from its header (0 when it has none that Pillow reads)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.width * image.height
    except Exception:  # not an image: the job skips it with the reason
        return 0


def batch_rows(images: Sequence[ImageDetections]) -> list[dict[str, Any]]:
    """Every box of every image, one row each, the image's name first."""
    return [{"image": image.name, **row} for image in images if image.result for row in image.result.rows()]


def batch_csv(images: Sequence[ImageDetections]) -> str:
    return csv_text(batch_rows(images), ["image", "class", "confidence"])


def drawings_zip(images: Sequence[ImageDetections]) -> bytes:
    """The drawings as ``<name>-detected.png`` in a zip; a name used twice gets a number."""
    buffer, used = io.BytesIO(), set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PNGs are compressed already
        for image in images:
            if image.result is None:
                continue
            stem = PurePath(image.name).stem or "image"
            name, copy = f"{stem}-detected.png", 1
            while name in used:
                copy += 1
                name = f"{stem}-{copy}-detected.png"
            used.add(name)
            archive.writestr(name, image.drawing_png)
    return buffer.getvalue()
