"""core.detection.batch: several images as one job with an untrained YOLO11n whose class
biases are raised so that boxes pass (plumbing: the boxes mean nothing), a file that is not
an image skipped with its reason, the table and the zip of drawings."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from core.detection import batch
from core.runtime.device import pick_device
from core.runtime.errors import UserError
from core.runtime.examples import example_image
from core.runtime.images import fit_within, load_image
from core.runtime.jobs import CancelToken
from core.runtime.weights import load_pretrained
from tests.images import encode
from tests.models import save_untrained_yolo

OPTIONS = dict(conf=0.25, iou=0.7, imgsz=320, max_det=5)


def png(name: str) -> bytes:
    return encode(Image.fromarray(fit_within(example_image(name), 200)), "PNG")


def test_each_image_is_detected_one_step_each_and_a_bad_file_is_skipped(caches):
    save_untrained_yolo("yolo11n", class_logit=2.0)
    model = load_pretrained("yolo11n")
    files = [("a/cat.png", png("chelsea")), ("notes.png", b"not an image"), ("cat.png", png("coffee"))]
    job = batch.DetectionBatch("yolo11n", lambda: model, files, None, OPTIONS)
    assert job.estimate().largest == "the model's image size"
    steps = list(job.run(pick_device(), CancelToken()))
    assert [step.done for step in steps] == [1, 2, 3] and steps[1].text == "image 2 of 3: skipped"
    images = [step.record for step in steps]
    with pytest.raises(UserError) as refusal:
        load_image(b"not an image")
    assert images[1].result is None and images[1].skipped == str(refusal.value)
    found = [image for image in images if image.result is not None]
    assert all(len(image.result.detections) == 5 for image in found)  # max_det, every class passes
    rows = batch.batch_rows(images)
    assert len(rows) == 10 and {row["image"] for row in rows} == {"a/cat.png", "cat.png"}
    assert batch.batch_csv(images).splitlines()[0].startswith("image,class,confidence,x1")
    with zipfile.ZipFile(io.BytesIO(batch.drawings_zip(images))) as archive:
        assert archive.namelist() == ["cat-detected.png", "cat-2-detected.png"]  # one stem twice
        drawn = np.asarray(Image.open(io.BytesIO(archive.read("cat-detected.png"))))
    assert drawn.shape == fit_within(example_image("chelsea"), 200).shape


def test_stop_ends_the_batch_between_images(caches):
    save_untrained_yolo("yolo11n")
    model = load_pretrained("yolo11n")
    cancel = CancelToken()
    job = batch.DetectionBatch("yolo11n", lambda: model, [("x.png", png("rocket"))] * 3, None, OPTIONS)
    steps = []
    for step in job.run(pick_device(), cancel):
        steps.append(step)
        cancel.cancel()
    assert len(steps) == 1
