"""Object detection (course week 3): YOLO11 and YOLO26 on your image (boxes, masks or
keypoints, the course's landmarks), the localization target, IoU, non-max suppression step
by step, grid cells and anchor boxes, sliding windows and their convolutional
implementation, region proposals with Faster R-CNN, several images, a video and the live
camera.

One image, chosen at the top, feeds every lab. Each lab is a fragment, so using one reruns
only that lab."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st
import torch

from core.detection import batch, detectors, sliding_windows, tracking
from core.detection import boxes as detection
from core.detection.tracking import TrackedFrame
from core.runtime import weights
from core.runtime.errors import UserError
from core.runtime.examples import PHOTOS
from core.runtime.images import ACCEPTED_EXTENSIONS, fit_within
from core.runtime.jobs import JobHandle
from ui import state
from ui.boxes import DrawnBox, boxes_figure
from ui.camera import live_camera
from ui.errors import shown_user_errors, user_errors_shown
from ui.fields import bounded_number
from ui.image_input import DISPLAY_SIDE, display_jpeg, image_input, png_bytes
from ui.jobs import JobView, run_job
from ui.model_status import weights_ready
from ui.models import infer, loaded, on_device, pretrained
from ui.page import ModelPanel, models_side_by_side, page_header, section_tabs
from ui.video import chosen_video, run_video_job, video_job_view

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
# YOLO9000's five anchors for Pascal VOC (yolo-voc.cfg), in cells of its 13×13 grid.


def selected_yolo() -> str:
    """The YOLO11 detection weights of the size chosen in the first tab, which the other labs use."""
    return detectors.yolo_weights_name(state.YOLO_SIZE.get("n"))


def latest_detections(image: np.ndarray) -> tuple[detectors.Detection, ...]:
    """YOLO's detections on this very image, if the first tab has run on it."""
    found = state.LATEST_DETECTIONS.get()
    return found[1] if found and found[0] is image else ()


def box_inputs(label: str, default: tuple[float, ...], width: int, height: int, key: str) -> detection.Box | None:
    """Four whole-pixel fields for an (x1, y1, x2, y2) box (so its areas, and the arithmetic
    shown with them, are exact); None, with a message, when it is not a box."""
    columns = st.columns(4)
    values = [
        bounded_number(f"{label} {name}", 0, limit, round(value), key=f"{key}-{name}-{width}x{height}", where=column)
        for column, name, value, limit in zip(columns, ("x1", "y1", "x2", "y2"), default, (width, height) * 2)
    ]
    if None in values:
        return None
    with shown_user_errors():
        return detection.check_box(values, label)
    return None


# -- YOLO ------------------------------------------------------------------------------------------


@st.fragment
@user_errors_shown
@on_device
def yolo_section(device: torch.device, image: np.ndarray) -> None:
    st.subheader("YOLO on your image")
    settings = yolo_settings()
    if settings is None:
        return
    name, options = settings
    st.caption(
        f"Your own model: a .pt file is a pickle, and loading one runs whatever code it holds, so this server loads "
        f"no model a visitor uploads. Its operator can put .pt and .onnx detection models in {weights.MODELS_DIR_ENV}; "
        f"they appear under Generation as “{OPERATORS}”."
    )
    if not weights_ready(name, "detection on your image", key="det-download"):
        st.caption("The IoU, NMS, grid, sliding-window and localization labs in the other tabs work without it.")
        st.image(display_jpeg(image), caption=f"Your image, {image.shape[1]}×{image.shape[0]}", width=480)
        return
    classes = class_filter(infer(detectors.YOLO_CLASS_NAMES, name, None, device), "det-classes")
    with st.spinner(f"Running {name} on {device}…"):
        result = infer(detectors.YOLO_DETECT, name, image, device, classes=classes, **options)
    state.LATEST_DETECTIONS.set((image, result.detections))
    original_column, annotated_column = st.columns(2)
    original_column.image(display_jpeg(image), caption=f"Original {image.shape[1]}×{image.shape[0]}")
    annotated_column.image(
        fit_within(result.annotated(), DISPLAY_SIDE),
        output_format="JPEG",
        caption=f"{name} at {options['imgsz']} px on {device}" + (", masks drawn" if result.has_masks else ""),
    )
    for column, (stage, ms) in zip(st.columns(3), result.speed_ms.items()):
        column.metric(stage.replace("process", "-process").capitalize(), f"{ms:.1f} ms")
    if not result.detections:
        among = " among the chosen classes" if classes else ""
        st.info(
            f"No detections above confidence {options['conf']:.2f}{among}. Lower the threshold or choose other classes."
        )
        return
    show_detections(name, result)
    if result.keypoints is not None:
        show_landmarks(result)


def show_landmarks(result: detectors.DetectionResult) -> None:
    """One person's 17 keypoints and the course's landmark vector."""
    people = [f"{n}: {found.class_name} {found.confidence:.2f}" for n, found in enumerate(result.detections, 1)]
    person = people.index(st.selectbox("Landmarks of", people, key="det-person"))
    st.markdown(
        "**Landmarks** — the course's output for landmark detection: each keypoint's (lᵢx, lᵢy) as fractions of "
        "the image, in a fixed order, so that l5 is always the right ear."
    )
    st.dataframe(pd.DataFrame(result.landmark_rows(person)), hide_index=True)
    vector = ", ".join(f"{value:.3f}" for value in result.landmark_vector(person))
    st.code(f"(l1x, l1y, …, l17x, l17y) = ({vector})", language=None, wrap_lines=True)


YOLO_TASK_TITLES = {"": "Boxes", "-seg": "Instance masks (-seg)", "-pose": "Keypoints (-pose)"}
OPERATORS = "This server's own"


def yolo_settings(key: str = "det") -> tuple[str, dict] | None:
    """The weights' name and ``detect_yolo``'s options as chosen, or None. ``key`` names the
    widgets; the first tab's size is the one the other labs use."""
    family_column, size_column, task_column, imgsz_column = st.columns(4)
    custom = {entry.name: entry for entry in weights.custom_models()}
    family = family_column.selectbox(
        "Generation",
        [*detectors.YOLO_FAMILIES, *([OPERATORS] if custom else [])],
        format_func=lambda f: f if f == OPERATORS else f"YOLO{f}",
        key=f"{key}-family",
        help="YOLO26's head predicts one box per object, so it needs no non-max suppression.",
    )
    if family == OPERATORS:
        name = size_column.selectbox("Model", list(custom), format_func=lambda n: custom[n].file_name, key=f"{key}-own")
        task_column.caption("Output: the model's own boxes.")
    else:
        task = task_column.selectbox(
            "Output", detectors.YOLO_TASKS, format_func=YOLO_TASK_TITLES.get, key=f"{key}-task"
        )
        size = size_column.selectbox(
            "Model",
            detectors.YOLO_SIZES,
            key=f"{key}-size",
            format_func=lambda s: (
                f"YOLO{family}{s} ({weights.get_weights(detectors.yolo_weights_name(s, task, family)).size_mb:.0f} MB)"
            ),
        )
        if key == "det":
            state.YOLO_SIZE.set(size)
        name = detectors.yolo_weights_name(size, task, family)
    imgsz = imgsz_column.selectbox(
        "Image size (pixels)",
        detectors.YOLO_IMAGE_SIZES,
        index=2,
        key=f"{key}-imgsz",
        help="The longer side is resized to this (letterbox), then padded to a multiple of 32.",
    )
    max_column, conf_column, iou_column = st.columns(3)
    max_det = bounded_number("Max detections", 1, 300, 100, key=f"{key}-max", where=max_column)
    conf = conf_column.slider("Confidence threshold", 0.01, 1.0, 0.25, 0.01, key=f"{key}-conf")
    iou = iou_column.slider("NMS IoU threshold", 0.05, 1.0, 0.7, 0.05, key=f"{key}-iou")
    if max_det is None:
        return None
    return name, dict(conf=conf, iou=iou, imgsz=imgsz, max_det=max_det)


def class_filter(names: dict[int, str], key: str) -> tuple[int, ...] | None:
    """The classes chosen to keep (their ids) among the model's ``names``, or None for all."""
    chosen = st.multiselect(
        "Only these classes", list(names.values()), key=key, placeholder=f"All {len(names)} COCO classes"
    )
    return tuple(index for index, class_name in names.items() if class_name in chosen) or None


def show_detections(name: str, result: detectors.DetectionResult) -> None:
    """The detections as a table, counted per class, and the downloads."""
    st.markdown(
        "**Detections** — bx, by: the box's midpoint; bh, bw: its height and width; all as fractions of the image."
    )
    st.dataframe(pd.DataFrame(result.rows()), hide_index=True)
    st.markdown(
        "**Per class:** " + ", ".join(f"{count} × {class_name}" for class_name, count in result.counts().items())
    )
    downloads = st.columns(3)
    downloads[0].download_button(
        "Annotated PNG",
        lambda: png_bytes(result.annotated()),
        f"{name}.png",
        "image/png",
        on_click="ignore",
        key="det-png",
    )
    downloads[1].download_button(
        "Boxes CSV", result.to_csv(), f"{name}-boxes.csv", "text/csv", on_click="ignore", key="det-csv"
    )
    downloads[2].download_button(
        "Boxes JSON", result.to_json(), f"{name}-boxes.json", "application/json", on_click="ignore", key="det-json"
    )


# -- Video with tracking -----------------------------------------------------------------------------


def show_tracks(handle: JobHandle[TrackedFrame]) -> None:
    """The tracks, the count of each class per frame, and their downloads."""
    frames = handle.records
    rows = tracking.track_rows(frames)
    if not rows:
        st.info("No object was tracked in the frames done. Lower the confidence threshold or choose other classes.")
        return
    st.markdown(f"**{len(rows)} tracks** — each object keeps its id from frame to frame.")
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    counts = pd.DataFrame(tracking.counts_per_frame(frames))
    figure = px.line(counts, x="time s", y=[name for name in counts if name not in ("frame", "time s")])
    figure.update_layout(height=280, yaxis_title="objects in the frame", legend_title="class", margin=dict(t=10))
    st.plotly_chart(figure, key="det-video-counts")
    csv_column, json_column = st.columns(2)
    csv_column.download_button(
        "Tracks CSV", tracking.tracks_csv(frames), "tracks.csv", "text/csv", on_click="ignore", key="det-video-csv"
    )
    json_column.download_button(
        "Tracks and boxes JSON",
        tracking.tracks_json(frames),
        "tracks.json",
        "application/json",
        on_click="ignore",
        key="det-video-json",
    )


def tracks_so_far(handle: JobHandle[TrackedFrame]) -> None:
    last = handle.last.record
    ids = {found.track_id for frame in handle.records for found in frame.found}
    st.caption(
        f"{len(ids)} tracks so far; frame {last.index:,} at {last.time_s:.1f} s took {last.work_ms:.0f} ms "
        "to detect, track and draw."
    )


TRACKING = video_job_view(
    "det-video",
    "Track objects",
    "the video so far plays and its tracks are kept",
    "tracked.mp4",
    show_tracks,
    live=tracks_so_far,
)


@on_device
def video_section(device: torch.device) -> None:
    st.subheader("YOLO with tracking on your video")
    st.caption(
        "Detection on every frame, as on one image; the tracker (ByteTrack, or BoT-SORT with camera-motion "
        "compensation) predicts where each object moves and matches the new boxes to it, so it keeps one id."
    )
    video = chosen_video("det-video")
    tracker = st.radio("Tracker", list(tracking.TRACKERS), horizontal=True, key="det-video-tracker")
    work = tracking_work(device, "det-video", "tracking on your video", tracker)
    if video is not None:
        run_video_job(TRACKING, work, video)


@on_device
def camera_section(device: torch.device) -> None:
    st.subheader("YOLO on your camera, live")
    st.caption(
        "Your browser streams its camera to this server (WebRTC); each frame goes through YOLO and the tracker and "
        "comes back drawn. Change the thresholds or the classes while it streams. A still photo: the Camera choice "
        "at the top of the page."
    )
    work = tracking_work(device, "det-live", "the live camera", "ByteTrack")
    if work is not None:
        live_camera("det-live", work, device)


def tracking_work(device: torch.device, key: str, purpose: str, tracker: str) -> tracking.YoloTracking | None:
    """YOLO with ``tracker`` as chosen in the widgets named ``key``; None after saying what is missing."""
    chosen = chosen_yolo(device, key, purpose)
    if chosen is None:
        return None
    name, model, classes, options = chosen
    return tracking.YoloTracking(name, weights.SharedModel(name, model), tracker, classes, options)


def chosen_yolo(device: torch.device, key: str, purpose: str) -> tuple[str, object, list[int] | None, dict] | None:
    """The YOLO weights, model, class filter and options chosen in the widgets named ``key``;
    None after saying what is missing."""
    settings = yolo_settings(key)
    if settings is None:
        return None
    name, options = settings
    if not weights_ready(name, purpose, key=f"{key}-download"):
        return None
    model = loaded(name, device)
    if model is None:
        return None
    return name, model, class_filter(model.names, f"{key}-classes"), options


# -- Several images ---------------------------------------------------------------------------------


def show_batch(handle: JobHandle[batch.ImageDetections]) -> None:
    """Every box in one table, each image's drawing, and the downloads."""
    images = handle.records
    for image in images:
        if image.skipped:
            st.warning(f"Skipped {image.name}: {image.skipped}")
    done = [image for image in images if image.result is not None]
    if not done:
        return
    rows = batch.batch_rows(done)
    st.markdown(f"**{len(rows):,} boxes in {len(done)} images** — bx, by, bh, bw as fractions of each image.")
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.image(
        [image.drawing_png for image in done],
        caption=[f"{image.name}: {len(image.result.detections)} found" for image in done],
        width=240,
    )
    downloads = st.columns(2)
    downloads[0].download_button(
        "Boxes CSV", batch.batch_csv(done), "boxes.csv", "text/csv", on_click="ignore", key="det-batch-csv"
    )
    downloads[1].download_button(
        "Drawings (.zip)",
        lambda: batch.drawings_zip(done),
        "detections.zip",
        "application/zip",
        on_click="ignore",
        icon=":material/folder_zip:",
        key="det-batch-zip",
    )


BATCH = JobView(
    key="det-batch",
    start="Detect on every image",
    start_icon=":material/burst_mode:",
    kept="the images done so far are kept",
    result=show_batch,
)


@on_device
def batch_section(device: torch.device) -> None:
    st.subheader("YOLO on several images")
    uploads = st.file_uploader(
        f"Upload up to {batch.MAX_IMAGES} images",
        type=list(ACCEPTED_EXTENSIONS),
        accept_multiple_files=True,
        key="det-batch-upload",
    )
    chosen = chosen_yolo(device, "det-batch", "detection on several images")
    if not uploads:
        st.info(f"Upload up to {batch.MAX_IMAGES} images: one table of every box, and a zip of the drawings.")
        return
    if len(uploads) > batch.MAX_IMAGES:
        left_out = ", ".join(upload.name for upload in uploads[batch.MAX_IMAGES :])
        st.warning(f"A batch takes {batch.MAX_IMAGES} images; the first {batch.MAX_IMAGES} are used, not {left_out}.")
    files = [(upload.name, upload.getvalue()) for upload in uploads[: batch.MAX_IMAGES]]
    if chosen is not None:
        name, model, classes, options = chosen
        run_job(BATCH, batch.DetectionBatch(name, weights.SharedModel(name, model), files, classes, options))


# -- Localization target --------------------------------------------------------------------------


@st.fragment
def localization_section(image: np.ndarray) -> None:
    st.subheader("Classification with localization: the target y")
    height, width = image.shape[:2]
    found = latest_detections(image)
    options = ["A box you enter", *(f"YOLO: {d.class_name} {d.confidence:.2f}" for d in found)]
    source = st.selectbox(
        "Box", options, key="loc-source", help="YOLO's detections appear here once the first tab has run on this image."
    )
    if source == options[0]:
        box = box_inputs("Box", (0.25 * width, 0.25 * height, 0.75 * width, 0.75 * height), width, height, "loc")
    else:
        box = found[options.index(source) - 1].box
    labels = [
        *(f"{name} (c{index + 1})" for index, name in enumerate(detection.COURSE_CLASSES)),
        "background (no object)",
    ]
    label = st.radio("Class", labels, index=1, horizontal=True, key="loc-class")
    if box is None:
        return
    class_index = labels.index(label)
    has_object = class_index < len(detection.COURSE_CLASSES)
    target = detection.localization_target(
        box if has_object else None, class_index if has_object else None, width, height
    )
    figure_column, vector_column = st.columns([3, 2])
    drawn = [DrawnBox(box, PALETTE[1], label.split(" (")[0], width=3)] if has_object else []
    figure_column.plotly_chart(boxes_figure(image, drawn, height=380), key="loc-figure")
    names = ["pc", "bx", "by", "bh", "bw", *(f"c{index + 1}" for index in range(len(detection.COURSE_CLASSES)))]
    vector_column.latex(
        r"y = \begin{bmatrix}"
        + r"\\".join("?" if np.isnan(value) else f"{value:.3g}" for value in target)
        + r"\end{bmatrix}"
    )
    vector_column.caption("? = don't care: with no object, the other entries are not used.")
    st.markdown("**Loss for a prediction ŷ** (edit it):")
    guess = detection.close_guess(target)
    edited = st.data_editor(
        pd.DataFrame([guess], columns=names), hide_index=True, key=f"loc-guess-{target.tobytes().hex()}"
    )
    predicted = edited.to_numpy(dtype=float, na_value=np.nan)[0]
    if not np.isfinite(predicted).all():
        st.error("Every component of ŷ needs a number.")
        return
    loss = detection.localization_loss(predicted, target)
    if has_object:
        st.latex(r"\mathcal{L}(\hat y, y) = \sum_{i=1}^{8} (\hat y_i - y_i)^2 = " + f"{loss:.4g}")
    else:
        st.latex(r"\mathcal{L}(\hat y, y) = (\hat y_1 - y_1)^2 = " + f"{loss:.4g}" + r"\quad (p_c = 0)")


# -- IoU ----------------------------------------------------------------------------------------


@st.fragment
def iou_section(image: np.ndarray) -> None:
    st.subheader("Intersection over union")
    height, width = image.shape[:2]
    box_a = box_inputs("A", (0.2 * width, 0.2 * height, 0.6 * width, 0.7 * height), width, height, "iou-a")
    box_b = box_inputs("B", (0.35 * width, 0.3 * height, 0.8 * width, 0.8 * height), width, height, "iou-b")
    if box_a is None or box_b is None:
        return
    parts = detection.overlap(box_a, box_b)
    drawn = [DrawnBox(box_a, PALETTE[0], "A", 3), DrawnBox(box_b, PALETTE[1], "B", 3)]
    if parts.intersection_box is not None:
        drawn.append(DrawnBox(parts.intersection_box, PALETTE[2], width=0, fill=PALETTE[2], opacity=0.45))
    figure_column, numbers_column = st.columns([3, 2])
    figure_column.plotly_chart(boxes_figure(image, drawn, height=420), key="iou-figure")
    numbers_column.metric("Intersection (px²)", f"{parts.intersection:,.0f}")
    numbers_column.metric("Union (px²)", f"{parts.union:,.0f}")
    numbers_column.latex(rf"\text{{IoU}} = \frac{{{parts.intersection:,.0f}}}{{{parts.union:,.0f}}} = {parts.iou:.3f}")
    if parts.iou >= detection.COURSE_IOU_THRESHOLD:
        numbers_column.success(f'IoU {parts.iou:.3f} ≥ 0.5: "correct" by the course\'s convention.')
    else:
        numbers_column.warning(f"IoU {parts.iou:.3f} < 0.5: not counted as a correct localization.")


# -- Non-max suppression ------------------------------------------------------------------------------


@st.fragment
@user_errors_shown
@on_device
def nms_section(device: torch.device, image: np.ndarray) -> None:
    st.subheader("Non-max suppression, step by step")
    (boxes, scores, classes), class_names, canvas = nms_candidates(device, image)
    if len(scores) == 0:
        st.info("The model proposed no candidate boxes with a score of at least 0.05 on this image.")
        return
    score_column, iou_column, class_column = st.columns(3)
    score_threshold = score_column.slider("Discard boxes with pc ≤", 0.0, 0.99, 0.6, 0.01, key="nms-score")
    iou_threshold = iou_column.slider("Suppress IoU ≥", 0.05, 1.0, 0.5, 0.05, key="nms-iou")
    per_class = class_column.toggle(
        "Per class", value=True, key="nms-per-class", help="Off: one box can suppress a box of another class."
    )
    run = detection.nms_steps(boxes, scores, classes if per_class else None, score_threshold, iou_threshold)
    if not run.steps:
        st.warning(f"Every box has pc ≤ {score_threshold:.2f}, so nothing is left to pick. Lower the threshold.")
        return
    step = (
        st.slider("Step", 1, len(run.steps), len(run.steps), key=f"nms-step-{len(run.steps)}")
        if len(run.steps) > 1
        else 1
    )
    current, state = run.steps[step - 1], run.at_step(step)
    drawn = nms_boxes(run, state, boxes, scores, [class_names[int(c)] for c in classes])
    figure_column, text_column = st.columns([3, 2])
    figure_column.plotly_chart(boxes_figure(canvas, drawn, height=420), key="nms-figure")
    text_column.markdown(
        f"**{len(scores)} candidates**, {len(run.below_threshold)} discarded with pc ≤ {score_threshold:.2f}.  \n"
        f"**Step {step}:** pick the largest remaining pc, "
        f"{class_names[int(classes[current.pick])]} {scores[current.pick]:.2f} (red), and output it; "
        f"discard {len(current.suppressed)} box(es) with IoU ≥ {iou_threshold:.2f} (orange, dashed).  \n"
        f"Kept so far: green. Suppressed earlier: grey. Still in play: thin blue."
    )
    text_column.metric("Kept after all steps", f"{len(run.kept)} of {len(scores)}")
    table = pd.DataFrame(
        {
            "step": range(1, len(run.steps) + 1),
            "picked": [f"{class_names[int(classes[s.pick])]} {scores[s.pick]:.2f}" for s in run.steps],
            "suppressed": [len(s.suppressed) for s in run.steps],
        }
    )
    text_column.dataframe(table, hide_index=True, height=min(300, 38 + 35 * len(table)))
    nms_free_comparison(device, image, iou_threshold)


def nms_free_comparison(device: torch.device, image: np.ndarray, iou_threshold: float) -> None:
    """YOLO26 on the same image: its end-to-end head's boxes, and how many of them the steps
    above would still remove."""
    st.markdown(
        "**What this step becomes in YOLO26.** Its head is trained to give each object one prediction (a "
        "one-to-one assignment of predictions to objects), so its output needs only the pc threshold, no "
        "non-max suppression. Below: YOLO26 of the same size on your image, and the course's NMS run on its "
        "boxes at the IoU above."
    )
    name = detectors.yolo_weights_name(state.YOLO_SIZE.get("n"), "", "26")
    if not weights_ready(name, "the comparison with YOLO26's NMS-free head", key="nms-download-26"):
        return
    with st.spinner(f"Running {name}…"):
        result = infer(detectors.YOLO_DETECT, name, image, device)
    found = result.detections
    boxes = np.array([d.box for d in found], dtype=float).reshape(-1, 4)
    scores = np.array([d.confidence for d in found], dtype=float)
    classes = np.array([d.class_id for d in found])
    check = detection.nms_steps(boxes, scores, classes, 0.0, iou_threshold)
    removed = len(found) - len(check.kept)
    figure_column, text_column = st.columns([3, 2])
    drawn = [
        DrawnBox(d.box, PALETTE[2] if i in check.kept else PALETTE[1], f"{d.class_name} {d.confidence:.2f}", width=3)
        for i, d in enumerate(found)
    ]
    figure_column.plotly_chart(boxes_figure(image, drawn, height=420), key="nms-free-figure")
    text_column.metric(f"{name}'s boxes (pc ≥ 0.25)", f"{len(found)}")
    text_column.metric(f"Of them NMS at IoU {iou_threshold:.2f} would remove", f"{removed}")
    text_column.caption(
        "Green: what NMS keeps. Orange: what it would remove (none, for a head that learned one box per object)."
    )


def nms_candidates(
    device: torch.device, image: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], dict, np.ndarray]:
    """(boxes, scores, classes), the class names and the picture to draw on: the YOLO model's
    own candidates on ``image`` when its weights are here (collected once per image), else a
    made-up scene."""
    name = selected_yolo()
    model = None
    if weights.get_weights(name).is_cached():
        with shown_user_errors():
            model = pretrained(name, str(device))
    if model is None:
        candidates = detection.synthetic_candidates()
        st.caption(
            f"A made-up scene: {len(candidates[1])} candidate boxes for three objects. With {name}'s weights cached, "
            "the model's own candidates on your image are used instead."
        )
        return candidates, dict(enumerate(detection.COURSE_CLASSES)), np.full((480, 640, 3), 236, np.uint8)
    cached = state.NMS_CANDIDATES.get()
    if not cached or cached[0] is not image or cached[1] != name:  # the model runs once per image
        with st.spinner(f"Collecting {name}'s candidate boxes…"):
            cached = (image, name, detectors.yolo_candidates(model, image, device))
        state.NMS_CANDIDATES.set(cached)
    st.caption(f"{name}'s candidates on your image before suppression (its NMS switched off; scores ≥ 0.05).")
    return cached[2], model.names, image


def nms_boxes(run, state, boxes: np.ndarray, scores: np.ndarray, labels: list[str]) -> list[DrawnBox]:
    """Every candidate above the threshold, lowest score first, drawn by its role at this step."""
    drawn = []
    for index in np.argsort(scores):
        if index in run.below_threshold:
            continue
        label = f"{labels[index]} {scores[index]:.2f}"
        drawn.append(
            {
                "pick": DrawnBox(boxes[index], PALETTE[3], "pick: " + label, width=4),
                "suppressed now": DrawnBox(boxes[index], PALETTE[1], width=2, dash="dash"),
                "suppressed before": DrawnBox(boxes[index], "#9a9a9a", width=1, dash="dot", opacity=0.6),
                "kept": DrawnBox(boxes[index], PALETTE[2], label, width=4),
                "in play": DrawnBox(boxes[index], PALETTE[0], width=1),
            }[state.role(int(index))]
        )
    return drawn


# -- Grid cells and anchor boxes ---------------------------------------------------------------------


GRID_PRESETS = {  # name -> (S, anchors, C)
    "Course: 3×3 grid, 2 anchors, 3 classes": (3, detection.COURSE_ANCHORS, 3),
    "YOLO9000: 19×19 grid, 5 anchors, 80 classes": (19, detection.yolo_v2_anchors(), 80),
}


@st.fragment
def anchors_section(image: np.ndarray) -> None:
    st.subheader("Grid cells and anchor boxes")
    objects = grid_objects(image)
    if not objects:
        return
    preset = st.selectbox("Preset", list(GRID_PRESETS), key="grid-preset")
    grid_column, anchor_column = st.columns([1, 2])
    settings = grid_settings(preset, objects, grid_column)
    anchors = None if settings is None else anchor_boxes(preset, objects, image, grid_column, anchor_column)
    if anchors is None:
        return
    grid, num_classes = settings
    height, width = image.shape[:2]
    assignments = detection.assign_to_grid([box for box, _ in objects], width, height, grid, anchors)
    with shown_user_errors() as outcome:
        volume, lost = detection.target_volume(assignments, [c for _, c in objects], grid, len(anchors), num_classes)
    if outcome.failed:
        return
    show_assignments(image, objects, anchors, grid, assignments)
    s, b, depth = grid, len(anchors), 5 + num_classes
    st.markdown(
        f"Target volume **{s} × {s} × {b} × {depth}** = {volume.size:,} numbers ({s}×{s}×{b * depth} as the network "
        f"outputs it): {int(volume[..., 0].sum())} of {s * s * b} (cell, anchor) slots hold an object; every other "
        "slot has pc = 0. bx, by are the midpoint inside its cell (0–1); bh, bw are in cell units and can exceed 1."
    )
    for a in lost:
        st.warning(
            f"Object {a.object_index + 1} lands on cell ({a.row}, {a.column}), anchor {a.anchor + 1}, which "
            "another object already holds: anchor boxes cannot represent both (a finer grid or more anchors help)."
        )
    st.info(
        "YOLO11 is anchor-free: at each position of three feature maps (strides 8, 16, 32) it predicts the "
        "distances from that point to the four sides of the box (as distributions, the DFL head), and training "
        "matches objects to positions with a task-aligned assigner rather than by anchor shape.",
        icon=":material/info:",
    )


def grid_objects(image: np.ndarray) -> list[tuple[detection.Box, int]]:
    """YOLO's detections, or the objects typed in a table; empty after saying why."""
    height, width = image.shape[:2]
    found = latest_detections(image)
    if found and st.toggle("Use YOLO's detections as the objects", value=True, key="grid-yolo"):
        return [(d.box, d.class_id) for d in found]
    st.markdown("**Objects** (pixels; edit, add or delete rows):")
    default = pd.DataFrame(
        {
            "class": ["pedestrian", "car"],
            "x1": [0.44 * width, 0.2 * width],
            "y1": [0.2 * height, 0.4 * height],
            "x2": [0.56 * width, 0.8 * width],
            "y2": [0.8 * height, 0.62 * height],
        }
    ).round()
    classes = st.column_config.SelectboxColumn("class", options=list(detection.COURSE_CLASSES), required=True)
    table = st.data_editor(
        default,
        num_rows="dynamic",
        hide_index=True,
        key=f"grid-objects-{width}x{height}",
        column_config={"class": classes},
    )
    objects = []
    with shown_user_errors():
        objects = detection.labelled_objects(list(table.itertuples(index=False)))
        if not objects:
            st.info("Add at least one object to assign it to the grid.")
    return objects


def grid_settings(preset: str, objects: list[tuple[detection.Box, int]], where) -> tuple[int, int] | None:
    """The grid side S and the number of classes C, or None after saying what is wrong."""
    grid_default, _, classes_default = GRID_PRESETS[preset]
    grid = bounded_number("Grid S (S×S cells)", 1, 64, grid_default, key=f"grid-s-{preset}", where=where)
    needed = max(class_index for _, class_index in objects) + 1
    num_classes = bounded_number(
        "Classes C", 1, 1000, max(classes_default, needed), key=f"grid-c-{preset}", where=where
    )
    if grid is None or num_classes is None:
        return None
    if num_classes < needed:
        st.error(f"The objects use {needed} classes, so C must be at least {needed}.")
        return None
    return grid, num_classes


def anchor_boxes(preset: str, objects: list[tuple[detection.Box, int]], image: np.ndarray, settings_column, column):
    """The anchors in pixels, (B, 2): fitted by k-means to the objects, or typed as fractions."""
    height, width = image.shape[:2]
    anchors = None
    if settings_column.toggle("Fit anchors with k-means (1 − IoU)", key="grid-kmeans"):
        most = len(objects)
        k = bounded_number("k anchors", 1, most, min(2, most), key="grid-k", where=settings_column)
        if k is None:
            return None
        anchors = detection.kmeans_anchors(np.array([(b[2] - b[0], b[3] - b[1]) for b, _ in objects]), k)
        column.dataframe(pd.DataFrame(anchors / [width, height], columns=["w", "h"]).round(3), hide_index=False)
    else:
        edited = column.data_editor(
            pd.DataFrame(GRID_PRESETS[preset][1], columns=["w", "h"]).round(3),
            num_rows="dynamic",
            key=f"grid-anchors-{preset}",
            column_config={side: st.column_config.NumberColumn(side, min_value=0.001, format="%.3f") for side in "wh"},
        )
        with shown_user_errors():
            anchors = detection.anchor_shapes(edited.to_numpy(dtype=float, na_value=np.nan), width, height)
    column.caption("Anchor shapes (w, h) as fractions of the image width and height.")
    return anchors


def show_assignments(image, objects, anchors, grid: int, assignments) -> None:
    """Each object's cell shaded, its box, the anchor it went to centred on it, and the table."""
    height, width = image.shape[:2]
    cell_width, cell_height = width / grid, height / grid
    colours = [PALETTE[a.anchor % len(PALETTE)] for a in assignments]
    drawn = [
        DrawnBox(
            (a.column * cell_width, a.row * cell_height, (a.column + 1) * cell_width, (a.row + 1) * cell_height),
            colour,
            width=0,
            fill=colour,
            opacity=0.3,
        )
        for a, colour in zip(assignments, colours)
    ]
    for (box, _), a, colour in zip(objects, assignments, colours):
        drawn.append(DrawnBox(box, colour, f"object {a.object_index + 1} → anchor {a.anchor + 1}", 3))
        drawn.append(DrawnBox(detection.centred_on(box, anchors[a.anchor]), "white", width=2, dash="dot"))
    points = [((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, "white") for box, _ in objects]
    st.plotly_chart(boxes_figure(image, drawn, grid=grid, height=460, points=points), key="grid-figure")
    st.caption(
        "Shaded: the cell holding each object's midpoint (dot). Dotted white: the anchor shape that fits the "
        "object best, centred on it."
    )
    rows = [
        {
            "object": a.object_index + 1,
            "cell (row, col)": f"({a.row}, {a.column})",
            "anchor": a.anchor + 1,
            "IoU with anchor": round(a.anchor_iou, 3),
            **{name: round(getattr(a, name), 3) for name in ("bx", "by", "bh", "bw")},
        }
        for a in assignments
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


# -- Sliding windows ---------------------------------------------------------------------------------------


@st.cache_data(max_entries=32, show_spinner=False)
def windows_compared(side: int, device: str) -> sliding_windows.Comparison:
    """Both ways timed once per (side, device) for every session: a rerun of the whole page
    (any click in another tab) does not time them again."""
    return sliding_windows.compare(sliding_windows.WindowClassifier.seeded(0), side, side, device)


@st.fragment
@on_device
def sliding_windows_section(device: torch.device) -> None:
    st.subheader("Sliding windows and their convolutional implementation")
    st.markdown(
        "The course's classifier for a 14×14×3 window: CONV 5×5, 16 filters → 10×10×16 → MAX POOL 2×2 → 5×5×16 → "
        "FC 400 → FC 400 → softmax over 4 classes. Its twin turns FC 400 into 400 filters of 5×5×16 and the next "
        "layers into 1×1 convolutions, reusing the very same weight tensors, and runs on a whole larger image at once."
    )
    extra = bounded_number("Also try a square image of side (14 + 2k)", 14, 200, 60, step=2, key="sw-side")
    rows = []
    sides = dict.fromkeys((16, 28) + ((extra,) if extra is not None else ()))
    with st.spinner(f"Timing both ways on {device}…"):
        for side in sides:
            with shown_user_errors() as outcome:
                result = windows_compared(side, str(device))
            if outcome.failed:
                continue
            rows.append(
                {
                    "input": f"{side}×{side}×3",
                    "windows": f"{result.grid[0]}×{result.grid[1]} = {result.grid[0] * result.grid[1]:,}",
                    "max |difference|": f"{result.max_abs_difference:.1e}",
                    "MACs, window by window": f"{result.window_macs:,}",
                    "MACs, convolutional": f"{result.convolutional_macs:,}",
                    "ms, window by window": round(result.window_ms, 3),
                    "ms, convolutional": round(result.convolutional_ms, 3),
                    "× faster": round(result.window_ms / result.convolutional_ms, 1),
                }
            )
    if not rows:
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.markdown(
        "Both ways give the same softmax for every window (the largest difference is rounding). The windows overlap, "
        "so the twin computes the shared first convolution once instead of once per window, and it never copies the "
        "windows out of the image. With a handful of windows (16×16 has 4) both take a fraction of a millisecond "
        "and fixed per-call costs decide; with hundreds of overlapping windows the convolutional form is several "
        "times faster."
    )
    st.caption(
        f"Weights are random (seed 0): this shows that the two computations give the same numbers, not a trained "
        f"classifier. MACs = FLOPs / 2 from torch's FlopCounterMode; times are medians of 10 runs after 3 warm-up "
        f"runs, both on {device} (`core.runtime.latency`), once per size on this server."
    )


# -- Region proposals ---------------------------------------------------------------------------------------


@st.fragment
def region_proposals_section(image: np.ndarray) -> None:
    st.subheader("Region proposals: Faster R-CNN beside YOLO")
    st.markdown(
        "R-CNN classifies about 2,000 proposed regions one at a time; Fast R-CNN classifies them all with one "
        "convolutional pass; Faster R-CNN proposes the regions with a network too (its RPN). YOLO skips proposals."
    )
    threshold = st.slider("Score threshold (both)", 0.05, 1.0, 0.5, 0.05, key="rp-threshold")
    yolo_name = selected_yolo()
    rcnn = weights.get_weights("fasterrcnn_resnet50_fpn")

    def faster_rcnn(device: torch.device) -> tuple[np.ndarray, str]:
        model, categories = pretrained(rcnn.name, str(device)), detectors.coco_categories(rcnn.pretrained_tag)
        result = detectors.detect_faster_rcnn(model, categories, image, device, threshold)
        return result.annotated(), f"Faster R-CNN: {len(result.detections)} boxes, {result.speed_ms['total']:.0f} ms"

    def yolo(device: torch.device) -> tuple[np.ndarray, str]:
        result = infer(detectors.YOLO_DETECT, yolo_name, image, device, conf=threshold)
        return (
            result.annotated(),
            f"{yolo_name}: {len(result.detections)} boxes, {sum(result.speed_ms.values()):.0f} ms",
        )

    models_side_by_side(
        [
            ModelPanel(rcnn.name, "Faster R-CNN", "rp-download-rcnn", faster_rcnn),
            ModelPanel(yolo_name, "YOLO", "rp-download-yolo", yolo),
        ],
        "Run both on the image",
        key="rp-run",
    )


def on_the_picture(lab: Callable[[np.ndarray], None], boxes: bool = True) -> Callable[[np.ndarray | None], None]:
    """A lab that needs the page's picture: without one it says how to choose one; a lab
    that draws ``boxes`` says so when the picture is too small for them."""

    def run(picture: np.ndarray | None) -> None:
        if picture is None:
            st.info("Choose an example, upload an image or take a photo above to use this lab.")
            return
        if boxes:
            try:
                detection.check_room_for_boxes(picture.shape[1], picture.shape[0])
            except UserError as error:
                st.warning(str(error))
                return
        lab(picture)

    return run


SECTIONS = {
    "YOLO detection": on_the_picture(yolo_section, boxes=False),
    "Localization target": on_the_picture(localization_section),
    "IoU": on_the_picture(iou_section),
    "Non-max suppression": on_the_picture(nms_section),
    "Grid & anchors": on_the_picture(anchors_section),
    "Sliding windows": lambda picture: sliding_windows_section(),  # needs no picture
    "Region proposals": on_the_picture(region_proposals_section, boxes=False),
    "Several images": lambda picture: batch_section(),  # its own uploads
    "Video": lambda picture: video_section(),  # its own upload
    "Live camera": lambda picture: camera_section(),
}

if __name__ == "__main__":  # Streamlit runs pages as __main__; benchmarks import the sections
    page_header(
        "Object detection",
        "Course week 3 — the labs below compute with `core.detection.boxes`; tests check them against torchvision.ops.",
    )
    section_tabs(SECTIONS, image_input("det", examples=PHOTOS, default_example="astronaut"))
