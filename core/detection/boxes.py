"""Object detection, the course's week 3: localization targets, IoU, non-max suppression,
grid cells and anchor boxes.

Boxes are (x1, y1, x2, y2) in pixels unless a name says otherwise. The course writes a
box as its midpoint and size, (bx, by, bh, bw). Papers: Redmon et al. 2016, "You Only Look
Once" (grid cells, IoU, NMS); Redmon & Farhadi 2017, "YOLO9000" (anchor boxes and k-means
anchors with the 1 − IoU distance). Our ``iou`` and ``non_max_suppression`` show the steps;
tests prove they equal ``torchvision.ops.box_iou`` and ``torchvision.ops.batched_nms``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.runtime.budget import check_fits
from core.runtime.errors import UserError

Box = tuple[float, float, float, float]  # (x1, y1, x2, y2)

COURSE_CLASSES = ("pedestrian", "car", "motorcycle")  # c1, c2, c3; "background" is pc = 0
COURSE_SCORE_THRESHOLD = 0.6  # discard boxes with pc <= 0.6
COURSE_IOU_THRESHOLD = 0.5  # suppress boxes with IoU >= 0.5 with a picked box; also "correct if IoU >= 0.5"


def check_box(box: Sequence[float], name: str = "The box") -> Box:
    """``box`` as four floats, or a ``UserError`` saying what is wrong with it (blank or
    non-numeric cells of a table included)."""
    if len(box) != 4:
        raise UserError(f"{name} needs four numbers x1, y1, x2, y2; it has {len(box)}.")
    try:
        x1, y1, x2, y2 = (float(value) for value in box)
    except (TypeError, ValueError):
        raise UserError(f"{name} needs four numbers x1, y1, x2, y2.") from None
    if not np.isfinite([x1, y1, x2, y2]).all():
        raise UserError(f"{name} has a coordinate that is not a number.")
    if x2 <= x1 or y2 <= y1:
        raise UserError(f"{name} must have x2 > x1 and y2 > y1 (it is {x1:g}, {y1:g}, {x2:g}, {y2:g}).")
    return x1, y1, x2, y2


MIN_PICTURE_SIDE = 32  # on a smaller picture the labs' boxes collapse to a pixel or two


def check_room_for_boxes(width: int, height: int) -> None:
    """Refuse a picture too small to draw two distinct boxes on, with its size in the message."""
    if min(width, height) < MIN_PICTURE_SIDE:
        raise UserError(
            f"The picture is {width}×{height} pixels: boxes on it would collapse to a pixel or two, and their "
            f"areas to 0 or 1. This lab needs at least {MIN_PICTURE_SIDE}×{MIN_PICTURE_SIDE}; choose a larger image."
        )


# -- IoU -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overlap:
    """Intersection, union and their ratio for two boxes ("Intersection over union")."""

    intersection: float
    union: float
    intersection_box: Box | None  # (x1, y1, x2, y2) of the shared area; None when the boxes do not meet

    @property
    def iou(self) -> float:
        return self.intersection / self.union if self.union > 0 else 0.0


def overlap(a: Sequence[float], b: Sequence[float]) -> Overlap:
    """Areas of the intersection and the union of two (x1, y1, x2, y2) boxes, and the
    intersection itself: from the larger of the two left/top edges to the smaller of the
    two right/bottom edges."""
    ax1, ay1, ax2, ay2 = a
    bx1, by1, bx2, by2 = b
    x1, y1, x2, y2 = max(ax1, bx1), max(ay1, by1), min(ax2, bx2), min(ay2, by2)
    width, height = max(0.0, x2 - x1), max(0.0, y2 - y1)
    intersection = width * height
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - intersection
    box = (float(x1), float(y1), float(x2), float(y2)) if intersection > 0 else None
    return Overlap(float(intersection), float(union), box)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes, in [0, 1]."""
    return overlap(a, b).iou


# -- Localization target ---------------------------------------------------------------------


def midpoint_form(box: Sequence[float], width: float, height: float) -> tuple[float, float, float, float]:
    """(bx, by, bh, bw) of a pixel box, normalized to an image of ``width`` × ``height``."""
    x1, y1, x2, y2 = box
    return (x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (y2 - y1) / height, (x2 - x1) / width


def localization_target(
    box: Sequence[float] | None, class_index: int | None, width: float, height: float, num_classes: int = 3
) -> np.ndarray:
    """The course's y = [pc, bx, by, bh, bw, c1, …, cC] for one image.

    With no object (``box`` None), pc = 0 and the other entries are "don't care" (NaN).
    """
    target = np.full(5 + num_classes, np.nan)
    if box is None:
        target[0] = 0.0
        return target
    if class_index is None or not 0 <= class_index < num_classes:
        raise UserError(f"The class must be one of 1…{num_classes}.")
    target[0] = 1.0
    target[1:5] = midpoint_form(box, width, height)
    target[5:] = 0.0
    target[5 + class_index] = 1.0
    return target


def close_guess(target: np.ndarray) -> np.ndarray:
    """A prediction ŷ near ``target`` but not equal to it (each entry pulled 10 % towards
    0.5; "don't care" entries 0.5), for a first look at the loss."""
    return np.where(np.isnan(target), 0.5, 0.9 * target + 0.05)


def localization_loss(predicted: Sequence[float], target: Sequence[float]) -> float:
    """Squared error over all components when pc = 1; only (ŷ1 − y1)² when pc = 0."""
    predicted, target = np.asarray(predicted, dtype=float), np.asarray(target, dtype=float)
    if target[0] == 1:
        return float(((predicted - target) ** 2).sum())
    return float((predicted[0] - target[0]) ** 2)


# -- Non-max suppression ---------------------------------------------------------------------


@dataclass(frozen=True)
class NmsStep:
    """One round of the course's loop: the box picked, and the boxes it suppressed."""

    pick: int
    suppressed: tuple[int, ...]


@dataclass(frozen=True)
class NmsRun:
    """A whole NMS run: boxes discarded by the score filter, then one step per kept box."""

    below_threshold: tuple[int, ...]
    steps: tuple[NmsStep, ...]

    @property
    def kept(self) -> list[int]:
        return [step.pick for step in self.steps]

    def at_step(self, step: int) -> NmsState:
        """Where every box stands when step ``step`` (1-based) is being taken."""
        current, done = self.steps[step - 1], self.steps[: step - 1]
        return NmsState(
            current.pick,
            frozenset(current.suppressed),
            frozenset(index for past in done for index in past.suppressed),
            frozenset(past.pick for past in done),
        )


@dataclass(frozen=True)
class NmsState:
    """The boxes at one step: the one picked now and those it suppresses, those suppressed
    and picked at earlier steps; every other box above the threshold is still in play."""

    pick: int
    suppressed_now: frozenset[int]
    suppressed_before: frozenset[int]
    kept_before: frozenset[int]

    def role(self, index: int) -> str:
        """ "pick", "suppressed now", "suppressed before", "kept" or "in play"."""
        if index == self.pick:
            return "pick"
        if index in self.suppressed_now:
            return "suppressed now"
        if index in self.suppressed_before:
            return "suppressed before"
        if index in self.kept_before:
            return "kept"
        return "in play"


def nms_steps(
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray | None = None,
    score_threshold: float = COURSE_SCORE_THRESHOLD,
    iou_threshold: float = COURSE_IOU_THRESHOLD,
) -> NmsRun:
    """The course's algorithm, step by step, for (N, 4) ``boxes`` and (N,) ``scores``.

    Discard boxes with pc <= ``score_threshold``. While boxes remain: pick the one with the
    largest pc and output it; discard every remaining box of the same class whose IoU with
    it is >= ``iou_threshold``. Per class, as the course does for each of its classes: a
    box never suppresses a box of another class.
    """
    boxes, scores = np.asarray(boxes, dtype=float).reshape(-1, 4), np.asarray(scores, dtype=float).ravel()
    classes = np.zeros(len(scores), dtype=int) if classes is None else np.asarray(classes).ravel()
    if not len(boxes) == len(scores) == len(classes):
        raise UserError(f"Got {len(boxes)} boxes, {len(scores)} scores and {len(classes)} classes; they must match.")
    below = tuple(int(index) for index in np.flatnonzero(scores <= score_threshold))
    remaining = [int(index) for index in np.argsort(-scores, kind="stable") if scores[index] > score_threshold]
    steps = []
    while remaining:
        pick, *rest = remaining
        suppressed = tuple(
            index
            for index in rest
            if classes[index] == classes[pick] and iou(boxes[pick], boxes[index]) >= iou_threshold
        )
        steps.append(NmsStep(pick, suppressed))
        remaining = [index for index in rest if index not in suppressed]
    return NmsRun(below, tuple(steps))


def non_max_suppression(
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray | None = None,
    score_threshold: float = COURSE_SCORE_THRESHOLD,
    iou_threshold: float = COURSE_IOU_THRESHOLD,
) -> list[int]:
    """Indices of the boxes NMS keeps, by decreasing score (see ``nms_steps``)."""
    return nms_steps(boxes, scores, classes, score_threshold, iou_threshold).kept


def synthetic_candidates(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A made-up scene on a 640×480 canvas: three objects of classes 0, 1, 1, each found by
    several overlapping candidate boxes, plus a few stray low-score boxes.

    Returns (N, 4) boxes, (N,) scores and (N,) class indices.
    """
    rng = np.random.default_rng(seed)
    objects = [((60, 80, 260, 400), 0), ((300, 150, 520, 330), 1), ((420, 60, 600, 200), 1)]
    boxes, scores, classes = [], [], []
    for (x1, y1, x2, y2), class_index in objects:
        width, height = x2 - x1, y2 - y1
        for rank in range(5):
            jitter = rng.normal(0, 0.08, 4) * [width, height, width, height]
            boxes.append(np.array([x1, y1, x2, y2]) + jitter)
            scores.append(0.95 - 0.1 * rank - rng.uniform(0, 0.05))
            classes.append(class_index)
    for _ in range(4):
        x, y = rng.uniform(0, 540), rng.uniform(0, 380)
        boxes.append(np.array([x, y, x + rng.uniform(40, 100), y + rng.uniform(40, 100)]))
        scores.append(rng.uniform(0.2, 0.55))
        classes.append(int(rng.integers(0, 2)))
    return np.clip(np.array(boxes), 0, [640, 480, 640, 480]), np.array(scores), np.array(classes)


# -- Grid cells and anchor boxes ---------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    """Where one object goes in the S×S×B×(5+C) target: its midpoint's cell and best anchor.

    bx, by: the midpoint inside the cell, in [0, 1); bh, bw: the size in cell units (can be > 1).
    """

    object_index: int
    row: int
    column: int
    anchor: int
    anchor_iou: float
    bx: float
    by: float
    bh: float
    bw: float


COURSE_ANCHORS = ((0.15, 0.6), (0.6, 0.2))  # (w, h) as fractions of the image: one tall, one wide
# YOLO9000's five anchors for Pascal VOC (yolo-voc.cfg), in cells of its 13×13 grid (Redmon & Farhadi 2017).
YOLO_V2_ANCHORS_CELLS = (
    (1.3221, 1.73145),
    (3.19275, 4.00944),
    (5.05587, 8.09892),
    (9.47112, 4.84053),
    (11.2364, 10.0071),
)
YOLO_V2_GRID = 13


def yolo_v2_anchors() -> tuple[tuple[float, float], ...]:
    """YOLO9000's anchors as fractions of the image (cells ÷ 13), so they fit a grid of any S."""
    return tuple((w / YOLO_V2_GRID, h / YOLO_V2_GRID) for w, h in YOLO_V2_ANCHORS_CELLS)


def shape_iou(a_wh: Sequence[float], b_wh: Sequence[float]) -> float:
    """IoU of two boxes of sizes (w, h) placed on the same midpoint: how well an anchor fits."""
    intersection = min(a_wh[0], b_wh[0]) * min(a_wh[1], b_wh[1])
    return intersection / (a_wh[0] * a_wh[1] + b_wh[0] * b_wh[1] - intersection)


def labelled_objects(
    rows: Sequence[Sequence[object]], classes: Sequence[str] = COURSE_CLASSES
) -> list[tuple[Box, int]]:
    """Objects typed as table rows (class name, x1, y1, x2, y2) as (box, class index); the
    first row with a bad box or a class not in ``classes`` is refused by its number."""
    objects = []
    for number, (name, *box) in enumerate(rows, start=1):
        checked = check_box(box, f"Object {number}")
        if name not in classes:
            raise UserError(f"Object {number} needs a class.")
        objects.append((checked, list(classes).index(name)))
    return objects


def anchor_shapes(fractions: np.ndarray, width: int, height: int) -> np.ndarray:
    """Anchors typed as (w, h) fractions of the picture, in pixels; at least one, each side > 0."""
    if len(fractions) == 0 or not np.isfinite(fractions).all() or (fractions <= 0).any():
        raise UserError("Give at least one anchor, each with a width and a height greater than 0.")
    return fractions * [width, height]


def centred_on(box: Sequence[float], shape: Sequence[float]) -> Box:
    """A box of ``shape`` (w, h) with the midpoint of ``box``: the anchor as it fits an object."""
    x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    w, h = shape
    return x - w / 2, y - h / 2, x + w / 2, y + h / 2


def assign_to_grid(
    boxes: Sequence[Sequence[float]], width: float, height: float, grid: int, anchors: Sequence[Sequence[float]]
) -> list[Assignment]:
    """Give each pixel box the cell holding its midpoint and the anchor (w, h in pixels) with
    the best shape IoU, as the course's anchor box algorithm does."""
    if grid < 1:
        raise UserError("The grid needs at least 1×1 cells.")
    if len(anchors) < 1 or any(len(anchor) != 2 or min(anchor) <= 0 for anchor in anchors):
        raise UserError("Each anchor box needs a width and a height greater than 0.")
    cell_width, cell_height = width / grid, height / grid
    assignments = []
    for index, box in enumerate(boxes):
        x1, y1, x2, y2 = box
        x, y = (x1 + x2) / 2, (y1 + y2) / 2
        column, row = min(int(x // cell_width), grid - 1), min(int(y // cell_height), grid - 1)
        fits = [shape_iou((x2 - x1, y2 - y1), anchor) for anchor in anchors]
        best = int(np.argmax(fits))
        assignments.append(
            Assignment(
                index,
                row,
                column,
                best,
                fits[best],
                x / cell_width - column,
                y / cell_height - row,
                (y2 - y1) / cell_height,
                (x2 - x1) / cell_width,
            )
        )
    return assignments


def target_volume(
    assignments: Sequence[Assignment], classes: Sequence[int], grid: int, num_anchors: int, num_classes: int
) -> tuple[np.ndarray, list[Assignment]]:
    """The S×S×B×(5+C) training target, and the assignments that did not fit.

    Each (cell, anchor) slot holds [pc, bx, by, bh, bw, c1…cC]; empty slots have pc = 0.
    A second object that lands on a slot already taken is what anchor boxes cannot
    capture (the course's cases (a) and (b)); it is returned as lost.
    """
    shape = (grid, grid, num_anchors, 5 + num_classes)
    check_fits(math.prod(shape) * 8, f"A {grid}×{grid}×{num_anchors}×{5 + num_classes} target", "S, B or C")
    volume = np.zeros(shape)
    lost = []
    for assignment in assignments:
        slot = volume[assignment.row, assignment.column, assignment.anchor]
        if slot[0] == 1:
            lost.append(assignment)
            continue
        slot[:5] = 1, assignment.bx, assignment.by, assignment.bh, assignment.bw
        slot[5 + classes[assignment.object_index]] = 1
    return volume, lost


def kmeans_anchors(sizes: np.ndarray, k: int, seed: int = 0, iterations: int = 100) -> np.ndarray:
    """k anchor shapes (w, h) fitted to box sizes with the distance 1 − IoU (YOLO9000, §2).

    Each box joins the anchor it overlaps most when both share a midpoint; each anchor
    moves to the median size of its boxes. Returns (k, 2) anchors sorted by area.
    """
    sizes = np.asarray(sizes, dtype=float).reshape(-1, 2)
    if not 1 <= k <= len(sizes):
        raise UserError(f"k-means needs 1 ≤ k ≤ the number of boxes ({len(sizes)}); k = {k}.")
    rng = np.random.default_rng(seed)
    anchors = sizes[rng.choice(len(sizes), size=k, replace=False)]
    for _ in range(iterations):
        fits = np.array([[shape_iou(size, anchor) for anchor in anchors] for size in sizes])  # (N, k)
        nearest = fits.argmax(axis=1)
        moved = np.array(
            [np.median(sizes[nearest == j], axis=0) if (nearest == j).any() else anchors[j] for j in range(k)]
        )
        if np.allclose(moved, anchors):
            break
        anchors = moved
    return anchors[np.argsort(anchors.prod(axis=1))]
