"""core.detection.tracking: ultralytics' trackers fed one job's frames keep each object's id,
the tables the tracks add up to, and YOLO with tracking as a video job (plumbing only: the
YOLO here is untrained)."""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction

import numpy as np
import pytest
import torch
from ultralytics.engine.results import Results

from core.detection import tracking
from core.media import video
from core.runtime.files import PrivateFolder
from core.runtime.jobs import CancelToken
from core.runtime.weights import load_pretrained
from tests.models import save_untrained_yolo
from tests.videos import write_video

CPU = torch.device("cpu")
NAMES = {0: "person", 1: "car"}


def frame_results(boxes: list[tuple[float, float, float, float, float, int]]) -> Results:
    """What YOLO would have returned for a 320×240 frame holding ``boxes`` (x1, y1, x2, y2, score, class)."""
    image = np.zeros((240, 320, 3), np.uint8)
    return Results(image, "frame", NAMES, boxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 6))


@pytest.mark.parametrize("name", list(tracking.TRACKERS))
def test_two_moving_objects_keep_their_own_ids_from_frame_to_frame(name):
    tracker, seen = tracking.new_tracker(name), []
    for step in range(12):
        person = (10 + 8 * step, 40, 60 + 8 * step, 160, 0.9, 0)  # walking right
        car = (250 - 6 * step, 150, 310 - 6 * step, 200, 0.8, 1)  # driving left, below
        drawn, objects = tracking.track_step(tracker, frame_results([person, car]))
        seen.append({found.class_name: found.track_id for found in objects})
        assert len(drawn.boxes) == len(objects)
    assert seen[0] == {"person": 1, "car": 2}  # the first frame starts the tracks
    assert all(ids == seen[0] for ids in seen)
    last = tracking.track_step(tracker, frame_results([(106, 40, 156, 160, 0.9, 0)]))[1]
    assert [(found.track_id, found.class_name) for found in last] == [(1, "person")]
    assert last[0].box == pytest.approx((106, 40, 156, 160), abs=3)


def test_an_object_that_appears_later_gets_a_new_id_once_confirmed():
    tracker, ids = tracking.new_tracker("ByteTrack"), []
    for step in range(6):
        boxes = [(10 + 5 * step, 40, 60 + 5 * step, 160, 0.9, 0)]
        if step >= 3:
            boxes.append((200, 100, 260, 150, 0.9, 1))
        ids.append(sorted(found.track_id for found in tracking.track_step(tracker, frame_results(boxes))[1]))
    assert ids[:4] == [[1]] * 4  # a new track is confirmed by its second sighting
    assert ids[4:] == [[1, 2], [1, 2]]


def sighting(track_id: int, class_name: str, confidence: float) -> tracking.TrackedObject:
    return tracking.TrackedObject(track_id, class_name, confidence, (0.0, 0.0, 10.0, 10.0))


FRAMES = [
    video.VideoFrame(0, 0.0, 5.0, (sighting(1, "person", 0.9),)),
    video.VideoFrame(2, 0.2, 5.0, (sighting(1, "person", 0.7), sighting(2, "car", 0.6))),
    video.VideoFrame(4, 0.4, 5.0, (sighting(2, "truck", 0.4), sighting(3, "car", 0.5))),
    video.VideoFrame(6, 0.6, 5.0, (sighting(2, "car", 0.8),)),
]


def test_the_track_table_has_one_row_per_track_in_order_of_appearance():
    rows = tracking.track_rows(FRAMES)
    assert [(row["id"], row["class"], row["frames seen"]) for row in rows] == [
        (1, "person", 2),
        (2, "car", 3),
        (3, "car", 1),
    ]
    assert rows[1] == {
        "id": 2, "class": "car", "first frame": 2, "last frame": 6, "first s": 0.2, "last s": 0.6,
        "frames seen": 3, "mean confidence": 0.6,
    }  # fmt: skip
    assert tracking.counts_per_frame(FRAMES) == [
        {"frame": 0, "time s": 0.0, "car": 0, "person": 1, "truck": 0},
        {"frame": 2, "time s": 0.2, "car": 1, "person": 1, "truck": 0},
        {"frame": 4, "time s": 0.4, "car": 1, "person": 0, "truck": 1},
        {"frame": 6, "time s": 0.6, "car": 1, "person": 0, "truck": 0},
    ]
    table = list(csv.DictReader(io.StringIO(tracking.tracks_csv(FRAMES))))
    assert [row["id"] for row in table] == ["1", "2", "3"] and table[0]["mean confidence"] == "0.8"
    exported = json.loads(tracking.tracks_json(FRAMES))
    assert exported["tracks"] == rows and [len(frame["objects"]) for frame in exported["frames"]] == [1, 2, 2, 1]
    assert exported["frames"][1]["objects"][1] == {"id": 2, "class": "car", "confidence": 0.6, "box": [0, 0, 10, 10]}
    assert tracking.track_rows([]) == [] and tracking.tracks_csv([]).startswith("id,class")


@pytest.fixture()
def confident_yolo(caches):
    save_untrained_yolo("yolo11n", class_logit=2.0)
    return load_pretrained("yolo11n")


def test_yolo_tracking_as_a_video_job_draws_ids_on_every_frame_and_shares_no_tracker(tmp_path, confident_yolo):
    data = write_video(tmp_path / "clip.mp4", frames=6, width=192, height=128, fps=6)
    plan = video.plan_video(video.probe_video(data))
    options = dict(conf=0.25, iou=0.7, imgsz=320, max_det=4)
    work = tracking.YoloTracking("yolo11n", lambda: confident_yolo, "ByteTrack", None, options)
    assert work.title == "yolo11n with ByteTrack"
    assert work.memory_parts(plan) == {"the model's image size": 60 * 320**2}
    folder = PrivateFolder()
    first, second = (video.VideoJob(work, data, plan, folder) for _ in range(2))
    # two users' jobs, frame by frame in turn, on the one shared model
    steps = list(zip(first.run(CPU, CancelToken()), second.run(CPU, CancelToken())))
    assert len(steps) == 6
    for mine, theirs in steps:
        assert [found.track_id for found in mine.record.found] == [found.track_id for found in theirs.record.found]
    ids = {found.track_id for mine, _ in steps for found in mine.record.found}
    assert ids and min(ids) == 1  # each job's tracker numbers its own tracks
    assert not hasattr(confident_yolo.predictor, "trackers")  # the shared model keeps no tracker
    written = video.probe_video(first.output.path.read_bytes())
    assert (written.frames, written.fps, written.width, written.height) == (6, Fraction(6), 192, 128)
