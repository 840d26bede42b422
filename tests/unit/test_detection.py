"""core.detection.boxes: IoU and NMS against torchvision.ops, the course's targets, grid and anchors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.ops import batched_nms, box_iou

from core.detection import boxes as detection
from core.runtime.errors import UserError


def random_boxes(rng: np.random.Generator, count: int, side: float = 100.0) -> np.ndarray:
    corners = rng.uniform(0, side, size=(count, 2))
    sizes = rng.uniform(1, side / 2, size=(count, 2))
    return np.concatenate([corners, corners + sizes], axis=1)


# -- IoU --------------------------------------------------------------------------------------


@given(st.integers(0, 2**32 - 1))
def test_iou_equals_torchvision_box_iou(seed):
    rng = np.random.default_rng(seed)
    a, b = random_boxes(rng, 2)
    expected = box_iou(torch.tensor(a[None]), torch.tensor(b[None]))[0, 0].item()
    assert detection.iou(a, b) == pytest.approx(expected, abs=1e-9)


@given(st.integers(0, 2**32 - 1))
def test_the_intersection_box_has_the_intersection_area_and_lies_in_both(seed):
    a, b = random_boxes(np.random.default_rng(seed), 2)
    parts = detection.overlap(a, b)
    if parts.intersection == 0:
        assert parts.intersection_box is None
        return
    x1, y1, x2, y2 = parts.intersection_box
    assert (x2 - x1) * (y2 - y1) == pytest.approx(parts.intersection)
    for box in (a, b):
        assert box[0] <= x1 < x2 <= box[2] and box[1] <= y1 < y2 <= box[3]


def test_iou_worked_numbers():
    parts = detection.overlap((0, 0, 4, 4), (2, 2, 6, 6))
    assert (parts.intersection, parts.union, parts.iou) == (4.0, 28.0, 4 / 28)
    assert parts.intersection_box == (2.0, 2.0, 4.0, 4.0)
    assert detection.iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0.0
    assert detection.iou((0, 0, 2, 2), (0, 0, 2, 2)) == 1.0


def test_check_box_explains_bad_boxes():
    assert detection.check_box([1, 2, 3, 4]) == (1.0, 2.0, 3.0, 4.0)
    with pytest.raises(ValueError, match="x2 > x1 and y2 > y1"):
        detection.check_box((5, 0, 5, 10), "Box A")
    with pytest.raises(ValueError, match="four numbers"):
        detection.check_box((1, 2, 3))
    with pytest.raises(ValueError, match="not a number"):
        detection.check_box((0, 0, float("nan"), 1))


# -- localization target -------------------------------------------------------------------------


def test_localization_target_and_loss_follow_the_course():
    # a car (class 2 of 3) whose box covers the middle of a 100×50 image
    y = detection.localization_target((25, 10, 75, 40), 1, width=100, height=50)
    np.testing.assert_allclose(y, [1, 0.5, 0.5, 0.6, 0.5, 0, 1, 0])
    background = detection.localization_target(None, None, 100, 50)
    assert background[0] == 0 and np.isnan(background[1:]).all()
    predicted = y + 0.1
    assert detection.localization_loss(predicted, y) == pytest.approx(8 * 0.01)
    assert detection.localization_loss(predicted, background) == pytest.approx(1.1**2)  # only pc counts
    with pytest.raises(ValueError, match="one of 1…3"):
        detection.localization_target((0, 0, 1, 1), 3, 10, 10)


# -- NMS ----------------------------------------------------------------------------------------


@settings(max_examples=60)
@given(st.integers(0, 2**32 - 1), st.integers(0, 40), st.integers(1, 3), st.floats(0.0, 0.9), st.floats(0.1, 0.9))
def test_nms_equals_torchvision_batched_nms_after_the_score_filter(
    seed, count, num_classes, score_threshold, iou_threshold
):
    rng = np.random.default_rng(seed)
    boxes = random_boxes(rng, count)
    scores = rng.uniform(0, 1, count)
    classes = rng.integers(0, num_classes, count)
    kept = detection.non_max_suppression(boxes, scores, classes, score_threshold, iou_threshold)
    passing = np.flatnonzero(scores > score_threshold)
    expected = batched_nms(
        torch.tensor(boxes[passing]), torch.tensor(scores[passing]), torch.tensor(classes[passing]), iou_threshold
    )
    assert kept == passing[expected.numpy()].tolist()


def test_nms_steps_on_the_synthetic_scene():
    boxes, scores, classes = detection.synthetic_candidates()
    run = detection.nms_steps(boxes, scores, classes)
    assert len(run.kept) == 3  # three objects, one box each
    assert [scores[index] for index in run.kept] == sorted((scores[index] for index in run.kept), reverse=True)
    handled = set(run.below_threshold) | {i for step in run.steps for i in (step.pick, *step.suppressed)}
    assert handled == set(range(len(scores)))  # every box is kept, suppressed or below the threshold
    assert all(scores[index] <= 0.6 for index in run.below_threshold)
    for step in run.steps:
        assert all(detection.iou(boxes[step.pick], boxes[i]) >= 0.5 for i in step.suppressed)
        assert all(classes[i] == classes[step.pick] for i in step.suppressed)


def test_each_step_of_the_run_gives_every_box_one_role():
    boxes, scores, classes = detection.synthetic_candidates()
    run = detection.nms_steps(boxes, scores, classes)
    above = [i for i in range(len(scores)) if i not in run.below_threshold]
    for number, step in enumerate(run.steps, start=1):
        state = run.at_step(number)
        roles = {i: state.role(i) for i in above}
        assert [i for i, role in roles.items() if role == "pick"] == [step.pick]
        assert {i for i, role in roles.items() if role == "suppressed now"} == set(step.suppressed)
        assert {i for i, role in roles.items() if role == "kept"} == set(run.kept[: number - 1])
        earlier = {i for past in run.steps[: number - 1] for i in past.suppressed}
        assert {i for i, role in roles.items() if role == "suppressed before"} == earlier
    last = run.at_step(len(run.steps))
    assert all(last.role(i) != "in play" for i in above)  # at the last step every box is decided


def test_yolo_v2_anchors_are_fractions_of_the_image():
    anchors = detection.yolo_v2_anchors()
    assert len(anchors) == 5 and anchors[0] == pytest.approx((1.3221 / 13, 1.73145 / 13))
    assert all(0 < w < 1 and 0 < h < 1 for w, h in anchors)


def test_nms_keeps_overlapping_boxes_of_different_classes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 9]])
    assert detection.non_max_suppression(boxes, [0.9, 0.8, 0.7], [0, 1, 0]) == [0, 1]
    assert detection.non_max_suppression(boxes, [0.9, 0.8, 0.7]) == [0]
    with pytest.raises(ValueError, match="must match"):
        detection.non_max_suppression(boxes, [0.9, 0.8])


# -- grid and anchors -----------------------------------------------------------------------------


def test_course_grid_assignment_and_target_volume():
    # 300×300 image, 3×3 grid: a tall pedestrian and a wide car share the centre cell.
    boxes = [(130, 60, 170, 240), (60, 120, 240, 180)]
    anchors = [(40, 180), (180, 60)]  # anchor 1 tall, anchor 2 wide
    assignments = detection.assign_to_grid(boxes, 300, 300, 3, anchors)
    assert [(a.row, a.column, a.anchor) for a in assignments] == [(1, 1, 0), (1, 1, 1)]
    assert assignments[0].anchor_iou == 1.0
    assert (assignments[0].bx, assignments[0].by) == (0.5, 0.5)
    assert assignments[1].bw == pytest.approx(1.8)  # wider than its cell: bw > 1
    volume, lost = detection.target_volume(assignments, [0, 1], grid=3, num_anchors=2, num_classes=3)
    assert volume.shape == (3, 3, 2, 8) and not lost
    np.testing.assert_allclose(volume[1, 1, 0], [1, 0.5, 0.5, 1.8, 0.4, 1, 0, 0])
    np.testing.assert_allclose(volume[1, 1, 1], [1, 0.5, 0.5, 0.6, 1.8, 0, 1, 0])
    assert volume[..., 0].sum() == 2


def test_two_objects_on_one_slot_are_reported_lost():
    boxes = [(130, 60, 170, 240), (140, 70, 160, 230)]
    assignments = detection.assign_to_grid(boxes, 300, 300, 3, [(40, 180)])
    volume, lost = detection.target_volume(assignments, [0, 0], 3, 1, 3)
    assert [a.object_index for a in lost] == [1] and volume[..., 0].sum() == 1


def test_yolo_target_volume_shape():
    assignments = detection.assign_to_grid([(0, 0, 10, 10)], 608, 608, 19, [(10, 10)] * 5)
    volume, _ = detection.target_volume(assignments, [3], 19, 5, 80)
    assert volume.shape == (19, 19, 5, 85)


def test_midpoint_on_the_last_edge_stays_in_the_grid():
    (assignment,) = detection.assign_to_grid([(280, 280, 300, 300)], 300, 300, 3, [(1, 1)])
    assert (assignment.row, assignment.column) == (2, 2)
    with pytest.raises(ValueError, match="width and a height"):
        detection.assign_to_grid([(0, 0, 1, 1)], 10, 10, 3, [(0, 5)])


def test_kmeans_anchors_find_two_clear_shapes():
    rng = np.random.default_rng(0)
    tall = np.column_stack([rng.normal(30, 2, 20), rng.normal(90, 4, 20)])
    wide = np.column_stack([rng.normal(120, 5, 20), rng.normal(40, 3, 20)])
    anchors = detection.kmeans_anchors(np.vstack([tall, wide]), 2)
    np.testing.assert_allclose(anchors, [np.median(tall, axis=0), np.median(wide, axis=0)], rtol=0.02)
    with pytest.raises(ValueError, match="1 ≤ k"):
        detection.kmeans_anchors(tall, 0)


def test_a_target_volume_beyond_one_jobs_memory_is_refused_before_allocating(monkeypatch):
    monkeypatch.setenv("CNNLAB_JOB_MEMORY_MB", "100")
    assignments = detection.assign_to_grid([(10, 10, 50, 50)], 100, 100, 64, [(20, 20)] * 10)
    with pytest.raises(UserError, match=r"A 64×64×10×1005 target would need about 329 MB.*Lower S, B or C"):
        detection.target_volume(assignments, [0], 64, 10, 1000)


def test_a_picture_too_small_for_boxes_is_refused_with_its_size():
    detection.check_room_for_boxes(32, 32)
    with pytest.raises(UserError, match="The picture is 1×40 pixels"):
        detection.check_room_for_boxes(1, 40)


def test_typed_objects_are_checked_row_by_row_and_named_by_number():
    objects = detection.labelled_objects([("car", 0, 0, 10, 20), ("pedestrian", 5, 5, 6, 9)])
    assert objects == [((0.0, 0.0, 10.0, 20.0), 1), ((5.0, 5.0, 6.0, 9.0), 0)]
    with pytest.raises(UserError, match=r"^Object 2 must have x2 > x1"):
        detection.labelled_objects([("car", 0, 0, 10, 20), ("car", 9, 0, 3, 20)])
    with pytest.raises(UserError, match=r"^Object 1 needs a class\.$"):
        detection.labelled_objects([(None, 0, 0, 10, 20)])


def test_anchor_fractions_become_pixels_and_an_anchor_is_centred_on_its_object():
    pixels = detection.anchor_shapes(np.array([[0.5, 0.25]]), 200, 100)
    assert pixels.tolist() == [[100.0, 25.0]]
    for bad in (np.zeros((0, 2)), np.array([[0.5, np.nan]]), np.array([[0.0, 0.3]])):
        with pytest.raises(UserError, match="at least one anchor"):
            detection.anchor_shapes(bad, 200, 100)
    assert detection.centred_on((10, 20, 30, 60), (8, 4)) == (16.0, 38.0, 24.0, 42.0)


def test_the_close_guess_is_near_the_target_and_fills_the_don_t_cares():
    target = detection.localization_target(None, None, 100, 100)
    assert detection.close_guess(target)[0] == pytest.approx(0.05) and (detection.close_guess(target)[1:] == 0.5).all()
    target = detection.localization_target((10, 20, 50, 60), 1, 100, 100)
    guess = detection.close_guess(target)
    assert not np.array_equal(guess, target) and np.abs(guess - target).max() <= 0.05 + 1e-12
