"""core.detection.detectors: the YOLO and Faster R-CNN plumbing, with untrained networks loaded
through the real cache paths. These tests check structure (boxes, tables, drawings,
timings), never accuracy."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import torch

from core.detection import detectors
from core.runtime.examples import example_image
from core.runtime.weights import get_weights, load_pretrained
from tests.models import save_untrained_torchvision, save_untrained_yolo

CPU = torch.device("cpu")
COLUMNS = ["class", "confidence", "x1", "y1", "x2", "y2", "bx", "by", "bh", "bw"]


@pytest.fixture()
def confident_yolo(caches):
    """yolo11n, untrained but with class biases high enough to report boxes."""
    save_untrained_yolo("yolo11n", class_logit=2.0)
    return load_pretrained("yolo11n")


def test_weights_names():
    assert detectors.yolo_weights_name("n") == "yolo11n"
    assert detectors.yolo_weights_name("x", "-seg") == "yolo11x-seg"
    assert detectors.yolo_weights_name("s", "-pose", "26") == "yolo26s-pose"
    assert detectors.yolo_size_letter("yolo26s-pose") == "s"
    for name in (
        detectors.yolo_weights_name(s, t, f) for s in "nsmlx" for t in ("", "-seg", "-pose") for f in "11 26".split()
    ):
        assert get_weights(name).library == "ultralytics"
    with pytest.raises(ValueError, match="n, s, m, l, x"):
        detectors.yolo_weights_name("q")


def test_detect_yolo_result_structure(confident_yolo):
    image = example_image("coffee")  # 600×400
    original = image.copy()
    result = detectors.detect_yolo(confident_yolo, image, CPU, conf=0.25, max_det=7)
    assert len(result.detections) == 7
    drawn = result.annotated()
    assert drawn.shape == image.shape and drawn.dtype == np.uint8
    assert (drawn != image).any(axis=2).mean() > 0.001  # boxes were drawn on a copy
    np.testing.assert_array_equal(image, original)  # the caller's image is untouched
    assert set(result.speed_ms) == {"preprocess", "inference", "postprocess"}
    assert all(ms > 0 for ms in result.speed_ms.values())
    assert not result.has_masks
    rows = result.rows()
    assert list(rows[0]) == COLUMNS
    for row, found in zip(rows, result.detections):
        assert 0 <= found.box[0] < found.box[2] <= 600 and 0 <= found.box[1] < found.box[3] <= 400
        assert row["bx"] == pytest.approx((found.box[0] + found.box[2]) / 2 / 600, abs=1e-4)
        assert row["bh"] == pytest.approx((found.box[3] - found.box[1]) / 400, abs=1e-4)
        assert found.confidence >= 0.25
    assert sum(result.counts().values()) == 7
    assert list(csv.DictReader(io.StringIO(result.to_csv())))[0]["class"] == rows[0]["class"]
    assert json.loads(result.to_json())["detections"] == rows


def test_a_large_odd_sized_image_keeps_its_own_coordinates(confident_yolo):
    image = np.random.default_rng(0).integers(0, 256, size=(1001, 2999, 3), dtype=np.uint8)
    result = detectors.detect_yolo(confident_yolo, image, CPU, imgsz=320, max_det=5)
    assert result.annotated().shape == image.shape
    assert all(found.box[2] <= 2999 and found.box[3] <= 1001 for found in result.detections)


def test_a_yolo_call_leaves_the_process_torch_thread_count_as_it_was(caches):
    from ultralytics.utils import NUM_THREADS

    save_untrained_yolo("yolo11n")
    model, threads = load_pretrained("yolo11n"), torch.get_num_threads()
    torch.set_num_threads(NUM_THREADS + 1)  # a count that ultralytics' own is not
    try:
        detectors.detect_yolo(model, example_image("coffee"), torch.device("cpu"))  # builds its predictor
        assert torch.get_num_threads() == NUM_THREADS + 1
    finally:
        torch.set_num_threads(threads)


def test_no_detections_give_an_empty_table(caches):
    save_untrained_yolo("yolo11n")  # freshly initialized: scores about 1e-4
    result = detectors.detect_yolo(load_pretrained("yolo11n"), example_image("rocket"), CPU, conf=0.25)
    assert result.detections == () and result.rows() == [] and result.to_csv().startswith("class,confidence")


def test_candidates_are_the_model_output_before_suppression(confident_yolo):
    image = example_image("chelsea")
    boxes, scores, classes = detectors.yolo_candidates(confident_yolo, image, CPU, limit=300)
    assert boxes.shape == (300, 4) and scores.shape == classes.shape == (300,)
    assert (np.diff(scores) <= 1e-6).all()  # by decreasing score
    everything = detectors.yolo_candidates(confident_yolo, image, CPU, limit=100_000)[0]
    kept = detectors.detect_yolo(confident_yolo, image, CPU, conf=0.05, iou=0.7, max_det=100_000).detections
    assert len(everything) > len(kept) > 0  # suppression removed boxes that the candidates still hold
    candidates = {tuple(np.round(box, 3)) for box in everything}
    assert all(tuple(np.round(found.box, 3)) in candidates for found in kept)


def test_segmentation_model_draws_masks(caches):
    torch.manual_seed(0)  # an untrained head's boxes depend on its initialization; this one yields three
    save_untrained_yolo("yolo11n-seg", class_logit=2.0)
    result = detectors.detect_yolo(load_pretrained("yolo11n-seg"), example_image("coffee"), CPU, max_det=3)
    assert result.has_masks and len(result.detections) == 3


@pytest.mark.parametrize("name", ["yolo11n-pose", "yolo26n-pose"])
def test_a_pose_model_gives_each_person_17_landmarks_and_the_course_vector(caches, name):
    torch.manual_seed(0)
    save_untrained_yolo(name, class_logit=2.0)
    image = example_image("astronaut")
    result = detectors.detect_yolo(load_pretrained(name), image, CPU, max_det=2)
    assert result.keypoints is not None and result.keypoints.shape == (len(result.detections), 17, 3)
    rows = result.landmark_rows(0)
    assert [row["landmark"] for row in rows] == list(detectors.KEYPOINTS)
    x, y = result.keypoints[0, 4, :2]  # the right ear, l5
    assert (
        rows[4]["i"] == 5 and rows[4]["lᵢx"] == round(float(x) / 512, 4) and rows[4]["lᵢy"] == round(float(y) / 512, 4)
    )
    vector = result.landmark_vector(0)
    assert len(vector) == 34 and vector[8:10] == [rows[4]["lᵢx"], rows[4]["lᵢy"]]


def test_a_model_without_keypoints_has_no_landmarks(confident_yolo):
    result = detectors.detect_yolo(confident_yolo, example_image("coffee"), CPU, max_det=1)
    assert result.keypoints is None and result.landmark_rows(0) == [] and result.landmark_vector(0) == []


@pytest.mark.slow
def test_faster_rcnn_result_structure(caches):
    entry = get_weights("fasterrcnn_resnet50_fpn")
    categories = detectors.coco_categories(entry.pretrained_tag)
    assert len(categories) == 91 and categories[1] == "person"
    save_untrained_torchvision(entry.name)
    model = load_pretrained(entry.name)
    image = example_image("coffee")
    result = detectors.detect_faster_rcnn(model, categories, image, CPU, score_threshold=0.0)
    assert result.annotated().shape == image.shape
    assert set(result.speed_ms) == {"total"} and result.speed_ms["total"] > 0
    with torch.inference_mode():  # the model's own answer on the same pixels
        raw = model([torch.from_numpy(image.copy()).permute(2, 0, 1).float().div(255)])[0]
    assert len(result.detections) == len(raw["scores"]) > 0
    for found, box, score, label in zip(result.detections, raw["boxes"], raw["scores"], raw["labels"]):
        assert found.box == pytest.approx(box.tolist(), abs=1e-3) and found.confidence == pytest.approx(float(score))
        assert found.class_name == categories[int(label)] and found.class_id == int(label)
        x1, y1, x2, y2 = found.box
        assert 0 <= x1 <= x2 <= image.shape[1] and 0 <= y1 <= y2 <= image.shape[0]
    middle = float(raw["scores"].median())
    kept = detectors.detect_faster_rcnn(model, categories, image, CPU, score_threshold=middle)
    assert len(kept.detections) == int((raw["scores"] >= middle).sum())
    assert all(found.confidence >= middle for found in kept.detections)
