"""Transfer learning and data augmentation (course week 2, "Transfer Learning", "Data
Augmentation"): your own classes from a few photos each, the course's three regimes and
training from scratch side by side on an ImageNet backbone, a trained model on a new photo
or the live camera and exported as ONNX with a model card, an offline transfer experiment
on handwritten digits, and an augmentation gallery with AlexNet's PCA colour shift.

The regimes live in ``core.transfer.regimes``, the augmentations in ``core.transfer.augment``, the
use of a trained model in ``core.transfer.deploy``. Training is a job (``ui.jobs``); the
classes and the training are not fragments, because the Train tab must see a change of the
classes at once, nor is the classifier, whose camera connection lives with the page; the
other sections are fragments. The photos stay in this browser session.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import replace
from functools import partial

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
import torch

from core.media.live import FrameRecorder
from core.runtime import weights
from core.runtime.errors import UserError
from core.runtime.images import ACCEPTED_EXTENSIONS, load_image
from core.runtime.jobs import JobHandle
from core.transfer import augment, deploy
from core.transfer import regimes as transfer
from ui import state
from ui.camera import live_camera
from ui.charts import Curve, curves_figure
from ui.errors import shown_user_errors
from ui.fields import bounded_number
from ui.image_input import display_jpeg, image_input
from ui.jobs import JobView, job_handle, run_job
from ui.model_status import weights_ready
from ui.models import on_device
from ui.page import page_header, section_tabs

MAX_NOTICES = 10  # skipped files named after an import
MAX_EARLIER = 20  # summary rows of the trainings before the last one


def photo_set() -> transfer.PhotoSet:
    return state.PHOTO_SET.setdefault(transfer.PhotoSet)


def classes_section() -> None:
    """Every change happens in a widget's callback, before the page draws, so every tab
    shows the set as it now stands; messages about the change are said once. Not a
    fragment: a fragment's rerun would leave the Train tab showing the set as it was."""
    st.subheader("Your classes")
    st.markdown(
        f"{transfer.MAX_CLASSES} classes at most, {transfer.MIN_PHOTOS}–{transfer.MAX_PHOTOS} photos each "
        "(the course's example: Tigger, Misty, neither). The photos stay in this browser session."
    )
    photos = photo_set()
    for kind, notice in state.TRANSFER_NOTICES.pop([]):
        getattr(st, kind)(notice)
    name_column, add_column = st.columns([3, 1], vertical_alignment="bottom")
    name_column.text_input("New class", key="transfer-new-class", max_chars=40, placeholder="e.g. Tigger")
    add_column.button("Add class", key="transfer-add-class", icon=":material/add:", on_click=add_class)
    for index, (label, images) in enumerate(photos.photos.items()):
        with st.container(border=True):
            title, delete = st.columns([4, 1])
            count = f"{len(images)} photo{'s' if len(images) != 1 else ''}"
            title.markdown(f"**{label}** · {count}")
            delete.popover("Delete", icon=":material/delete:").button(
                f"Delete {label} and its {count}",
                key=f"transfer-delete-{index}",
                type="primary",
                on_click=photos.photos.pop,
                args=(label,),
            )
            key = f"transfer-upload-{index}-{len(images)}"  # a new uploader once its files are added
            st.file_uploader(
                f"Add photos to {label}",
                type=list(ACCEPTED_EXTENSIONS),
                accept_multiple_files=True,
                key=key,
                on_change=add_uploads,
                args=(label, key),
            )
            if images:
                st.image([display_jpeg(image) for image in images[:12]], width=72)
                review_photos(index, label, images)
    if photos.classes and st.toggle("Add photos with the camera", key="transfer-camera-on"):
        label = st.selectbox("Add each shot to", photos.classes, key="transfer-camera-class")
        st.camera_input("Take a photo", key="transfer-camera", on_change=add_uploads, args=(label, "transfer-camera"))
    if photos.classes and st.toggle("Record from the live camera", key="transfer-record-on"):
        record_section()
    export_column, import_column = st.columns(2)
    export_column.download_button(
        "Export the set (.zip)",
        photos.export,
        file_name="cnn-lab-classes.zip",
        disabled=not photos.total,
        icon=":material/download:",
        key="transfer-export",
    )
    upload = import_column.file_uploader("Import a set (.zip)", type=["zip"], key="transfer-import")
    replaces = f" (replaces the {photos.total} photos here)" if photos.total else ""
    import_column.button(f"Import{replaces}", key="transfer-import-go", disabled=upload is None, on_click=import_set)


def review_photos(index: int, label: str, images: list[np.ndarray]) -> None:
    """Every photo of the class, numbered, and deleting some or all of them."""
    with st.expander(f"Review and delete ({len(images)})"):
        numbers = list(range(1, len(images) + 1))
        st.image([display_jpeg(image) for image in images], width=72, caption=[str(n) for n in numbers])
        chosen = st.multiselect("Photos to delete", numbers, key=f"transfer-remove-{index}-{len(images)}")
        delete_column, all_column = st.columns(2)
        delete_column.button(
            f"Delete {len(chosen)} photo{'s' if len(chosen) != 1 else ''}",
            key=f"transfer-remove-go-{index}",
            disabled=not chosen,
            on_click=delete_photos,
            args=(label, [n - 1 for n in chosen]),
        )
        all_column.button(
            f"Delete all {len(images)}",
            key=f"transfer-remove-all-{index}",
            on_click=delete_photos,
            args=(label, list(range(len(images)))),
        )


def delete_photos(label: str, indices: list[int]) -> None:
    removed = photo_set().remove_photos(label, indices)
    say("success", f"Deleted {removed} photo{'s' if removed != 1 else ''} of {label}.")


@on_device
def record_section(device: torch.device) -> None:
    """The live camera's frames into a class, at a chosen rate, while Recording is on."""
    photos = photo_set()
    recorder = state.FRAME_RECORDER.setdefault(lambda: FrameRecorder(transfer.STORED_SIDE))
    class_column, rate_column, record_column = st.columns(3, vertical_alignment="bottom")
    label = class_column.selectbox("Record into", photos.classes, key="transfer-record-class")
    rate = rate_column.slider("Frames a second", 1, 10, 5, key="transfer-record-rate")
    recording = record_column.toggle(
        "Recording", key="transfer-recording", on_change=recording_switched, help="Off: recording stops at once."
    )
    recorder.set(recording, rate)
    live_camera("transfer-record", recorder, device)
    recorded_frames(recorder, label)


def recording_switched() -> None:
    """Before the page draws: a stop keeps, in the class, what was recorded up to it."""
    recorder = state.FRAME_RECORDER.get()
    if recorder is not None and not st.session_state["transfer-recording"]:
        recorder.set(False, st.session_state["transfer-record-rate"])
        keep_recorded(recorder, st.session_state["transfer-record-class"])


def keep_recorded(recorder: FrameRecorder, label: str) -> bool:
    """The frames recorded since the last call, added to ``label`` within the caps; False
    (with a message, the recording switched off) once the class or the set is full."""
    photos, frames = photo_set(), recorder.take()
    if not frames or label not in photos.photos:
        return True
    try:
        photos.add_photos(label, frames)
    except UserError as error:
        st.session_state["transfer-recording"] = False
        say("warning", f"Recording stopped: {error}")
        return False
    return True


@st.fragment(run_every=1.0)
def recorded_frames(recorder: FrameRecorder, label: str) -> None:
    """Every second: the frames recorded since, added to ``label`` within the caps."""
    if not keep_recorded(recorder, label):
        st.rerun()
    photos = photo_set().photos
    if label in photos:
        st.caption(f"{label}: {len(photos[label])} photos")


def say(kind: str, message: str) -> None:
    """Keep a message (``kind``: "success", "warning" or "error") for the section's next drawing."""
    state.TRANSFER_NOTICES.setdefault(list).append((kind, message))


def add_class() -> None:
    """Add the typed class; the field empties for the next one (a refused name stays to be edited)."""
    try:
        photo_set().add_class(st.session_state["transfer-new-class"])
    except UserError as error:
        say("error", str(error))
        return
    st.session_state["transfer-new-class"] = ""


def add_uploads(label: str, key: str) -> None:
    """Decode each file of the uploader (or camera) ``key``; a file that is not an image is
    skipped with its name, the rest kept."""
    files = st.session_state.get(key)
    files = files if isinstance(files, list) else [files] if files is not None else []
    decoded = []
    for upload in files:
        try:
            decoded.append(load_image(upload.getvalue()))
        except UserError as error:
            say("warning", f"Skipped {upload.name}: {error}")
    if not decoded:
        return
    try:
        added = photo_set().add_photos(label, decoded)
    except UserError as error:
        say("error", str(error))
        return
    if added < len(decoded):
        say(
            "warning",
            f"Added {added} of {len(decoded)} photos to {label}: a class holds at most "
            f"{transfer.MAX_PHOTOS} and all classes {transfer.MAX_TOTAL_PHOTOS}.",
        )


def import_set() -> None:
    upload = st.session_state.get("transfer-import")
    try:
        imported, skipped = transfer.PhotoSet.from_export(upload.getvalue())
    except UserError as error:
        say("error", str(error))
        return
    state.PHOTO_SET.set(imported)
    say("success", f"Imported {imported.total} photos in {len(imported.classes)} classes.")
    for reason in skipped[:MAX_NOTICES]:
        say("warning", f"Skipped {reason}")
    if len(skipped) > MAX_NOTICES:
        say("warning", f"… and {len(skipped) - MAX_NOTICES:,} more files skipped.")


def augment_settings(prefix: str, where=st) -> augment.AugmentSettings | None:
    """The augmentation sliders (shared by the gallery and training)."""
    columns = where.columns(4)
    values = dict(
        mirror=columns[0].toggle("Mirror", value=True, key=f"{prefix}-mirror"),
        crop_scale=columns[1].slider("Crop keeps ≥ (area)", 0.1, 1.0, 0.6, 0.05, key=f"{prefix}-crop"),
        rotation=columns[2].slider("Rotation ±°", 0, 90, 15, key=f"{prefix}-rotation"),
        shear=columns[3].slider("Shear ±°", 0, 45, 10, key=f"{prefix}-shear"),
    )
    columns = where.columns(4)
    values.update(
        warp=columns[0].slider("Local warping (elastic α)", 0, 200, 0, 10, key=f"{prefix}-warp"),
        rgb_offset=columns[1].slider("RGB shift ± levels", 0, 64, 20, key=f"{prefix}-offset"),
        jitter=columns[2].slider("Colour jitter", 0.0, 0.8, 0.2, 0.05, key=f"{prefix}-jitter"),
        pca_sigma=columns[3].slider("PCA colour σ", 0.0, 0.5, 0.1, 0.01, key=f"{prefix}-pca"),
    )
    with shown_user_errors(where):
        return augment.AugmentSettings(**values)
    return None


def train_section() -> None:
    st.subheader("Three regimes and training from scratch, side by side")
    backbone_name = st.radio(
        "Backbone",
        list(transfer.BACKBONES),
        horizontal=True,
        key="transfer-backbone",
        format_func=lambda name: transfer.BACKBONES[name].title,
    )
    backbone = transfer.BACKBONES[backbone_name]
    settings, augmentation = training_settings(backbone)
    photos = photo_set()
    try:
        training, validation = transfer.split(photos)
    except UserError as error:
        st.info(f"{error} Add photos in the “Your classes” tab.")
        show_trainings(job_handle(TRAINING.key))
        return
    st.caption(
        f"{len(training)} photos to train on, {len(validation)} held out (a fifth of each class, at least one); "
        "photos resized to 224×224."
    )
    have_weights = weights_ready(
        backbone.weights_name, f"regimes (a)–(c) on {backbone.title}", key=f"transfer-download-{backbone_name}"
    )
    if not have_weights:
        st.caption(
            "Without the ImageNet weights only (d) from scratch can run; the Offline tab shows a real transfer "
            "experiment that needs no download."
        )
        settings = settings and replace(settings, regimes=tuple(r for r in settings.regimes if r == "scratch"))
    job = None
    if settings is not None and settings.regimes:
        job = transfer.RegimesJob(
            backbone,
            partial(weights.load_pretrained, backbone.weights_name) if have_weights else None,
            tuple(photos.classes),
            training,
            validation,
            settings,
            augmentation,
        )
    run_job(TRAINING, job)


def training_settings(
    backbone: transfer.Backbone,
) -> tuple[transfer.TrainingSettings | None, augment.AugmentSettings | None]:
    """The regimes, k, epochs and learning rate chosen (None after saying what is wrong), and
    the Augmentation tab's settings when augmentation is on."""
    regimes = st.multiselect(
        "Regimes",
        transfer.REGIMES,
        default=list(transfer.REGIMES),
        format_func=transfer.REGIME_TITLES.get,
        key="transfer-regimes",
    )
    columns = st.columns(4)
    blocks = backbone.block_count
    frozen = columns[0].slider(f"k: blocks frozen in (b), of {blocks}", 0, blocks, min(3, blocks), key="transfer-k")
    epochs = bounded_number("Epochs", 1, 50, 8, key="transfer-epochs", where=columns[1])
    learning_rate = bounded_number(
        "Learning rate", 1e-5, 1e-1, 1e-3, number_format="%.5f", key="transfer-lr", where=columns[2]
    )
    augmented = columns[3].toggle(
        "Augment (b)–(d)", key="transfer-augment", help="The Augmentation tab's settings, drawn anew every epoch."
    )
    augmentation = state.AUGMENTATION.get(augment.AugmentSettings()) if augmented else None
    if None in (epochs, learning_rate):
        return None, augmentation
    return transfer.TrainingSettings(tuple(regimes), frozen, epochs, learning_rate), augmentation


def accuracy_curves(runs: dict[str, transfer.RegimeRun]) -> go.Figure:
    """Each regime's validation accuracy by epoch, and its training accuracy dotted."""
    curves = []
    for regime, run in runs.items():
        epochs, title = [progress.epoch for progress in run.history], transfer.REGIME_TITLES[regime]
        validation = [progress.validation_accuracy for progress in run.history]
        training = [progress.train_accuracy for progress in run.history]
        curves += [
            Curve(f"{title} (validation)", epochs, validation, markers=True),
            Curve(f"{title[:3]} training", epochs, training, dashed=True),
        ]
    return curves_figure(curves, x_title="epoch", y_title="accuracy", y_range=(0, 1.05), height=360)


def summary_rows(runs: dict[str, transfer.RegimeRun]) -> list[dict]:
    """One row per regime of a training: its last epoch's accuracies and its median epoch time."""
    return [
        {
            "regime": transfer.REGIME_TITLES[regime],
            "backbone": run.backbone.title,
            "epochs": run.last.epoch,
            "training accuracy": round(run.last.train_accuracy, 3),
            "validation accuracy": round(run.last.validation_accuracy, 3),
            "seconds per epoch": round(run.median_epoch_seconds, 3),
            "augmented": run.augmented,
        }
        for regime, run in runs.items()
    ]


def regime_runs(handle: JobHandle | None) -> dict[str, transfer.RegimeRun]:
    """The regimes the last training of this session has trained so far."""
    return {} if handle is None or handle.active else handle.job.runs(handle.records)


def keep_earlier(previous: JobHandle) -> None:
    """When a new training starts, the last one's rows move to the earlier trainings."""
    earlier = summary_rows(regime_runs(previous)) + state.EARLIER_TRAININGS.get([])
    state.EARLIER_TRAININGS.set(earlier[:MAX_EARLIER])


def show_live_curves(handle: JobHandle) -> None:
    st.plotly_chart(accuracy_curves(handle.job.runs(handle.records)), key="transfer-curves")


def show_trainings(handle: JobHandle | None) -> None:
    """The last training's curves, table, confusion matrices and downloads, and the rows of
    the trainings before it."""
    runs = regime_runs(handle)
    if runs:
        for regime, run in runs.items():
            if run.stopped:
                st.caption(
                    f"{transfer.REGIME_TITLES[regime]} stopped after epoch {run.last.epoch} of {run.planned_epochs}."
                )
        st.plotly_chart(accuracy_curves(runs), key="transfer-curves-kept")
        st.dataframe(pd.DataFrame(summary_rows(runs)), hide_index=True)
        st.caption(
            "Regime (a) trains only the new softmax on features the frozen network computed once, so its "
            "epochs take a fraction of the others'."
        )
    earlier = state.EARLIER_TRAININGS.get()
    if earlier:
        st.markdown(
            f"**Earlier trainings in this session** (the last {MAX_EARLIER} rows): train again with "
            "augmentation on or off to see its effect on validation accuracy."
        )
        st.dataframe(pd.DataFrame(earlier), hide_index=True, key="transfer-earlier")
    for column, (regime, run) in zip(st.columns(max(1, len(runs))), runs.items()):
        show_confusion_and_download(column, regime, run)


def show_confusion_and_download(column, regime: str, run: transfer.RegimeRun) -> None:
    if run.last.confusion is not None:
        figure = px.imshow(
            run.last.confusion,
            x=list(run.classes),
            y=list(run.classes),
            text_auto=True,
            labels=dict(x="predicted", y="true"),
            color_continuous_scale="Blues",
        )
        figure.update_layout(height=260, margin=dict(t=30), title=regime, coloraxis_showscale=False)
        column.plotly_chart(figure, key=f"transfer-confusion-{regime}")
    column.download_button(
        f"Download ({regime})",
        partial(transfer.export_model, run.network, list(run.classes), run.backbone, regime),
        file_name=f"cnn-lab-{regime}.pt",
        key=f"transfer-download-model-{regime}",
    )


TRAINING = JobView(
    key="transfer",
    start="Train",
    kept="what was trained is kept",
    live=show_live_curves,
    result=show_trainings,
    before_start=keep_earlier,
)


CLASSIFY_ON = ("A photo", "The live camera")


@on_device
def classify_section(device: torch.device) -> None:
    """Not a fragment: the live camera's connection lives with the page."""
    st.subheader("Use a trained model")
    handle = job_handle(TRAINING.key)
    runs = regime_runs(handle)
    if not runs:
        st.info("Train a regime in the Train tab first.")
        return
    regime = st.radio(
        "Model", list(runs), format_func=transfer.REGIME_TITLES.get, horizontal=True, key="transfer-classify-regime"
    )
    run = runs[regime]
    verdict = transfer.held_out_verdict(run.last.validation_accuracy, run.held_out, len(list(run.classes)))
    if not verdict.better_than_chance:
        st.warning(
            f"This model got {verdict.correct} of its {verdict.total} held-out photos right; a model guessing "
            f"among {len(run.classes)} classes does at least as well {verdict.p_value:.0%} of the time, so its "
            "answers are no finding. More photos per class, or regime (a) with ImageNet weights, give a model "
            "that has learned something."
        )
    if st.radio("Classify", CLASSIFY_ON, horizontal=True, key="transfer-classify-on") == CLASSIFY_ON[0]:
        classify_photo(device, run, verdict.better_than_chance)
    else:
        st.caption("Each camera frame through the model: its top classes drawn over the frame as bars.")
        live_camera("transfer-live", deploy.LiveClassifier.of(run), device)
    export_panel(run, handle.job)


def classify_photo(device: torch.device, run: transfer.RegimeRun, finding: bool) -> None:
    image = image_input("transfer-query", label="Photo", default_example="chelsea")
    if image is None:
        return
    with st.spinner("Classifying…"):
        answer = transfer.classify_photo(run.network, image, list(run.classes), run.backbone, device)
    left, right = st.columns([1, 2])
    left.image(display_jpeg(image), width=240)
    if finding:
        right.metric("Most likely", answer[0][0], help=f"probability {answer[0][1]:.1%}")
    right.dataframe(pd.DataFrame(answer, columns=["class", "probability"]), hide_index=True)


def export_panel(run: transfer.RegimeRun, job: transfer.RegimesJob) -> None:
    """The model as ONNX (made and checked on request) and its model card."""
    st.markdown("**Export**: the PyTorch file is under each confusion matrix in the Train tab.")
    onnx_column, card_column = st.columns(2)
    exported = state.ONNX_EXPORT.get()
    if onnx_column.button("Make the ONNX file", icon=":material/deployed_code:", key="transfer-onnx-make"):
        with st.spinner("Exporting to ONNX and checking it with onnxruntime…"):
            held_out = [image for image, _ in job.validation]
            exported = (id(run.network), deploy.export_onnx(run, held_out))
        state.ONNX_EXPORT.set(exported)
    if exported is not None and exported[0] == id(run.network):
        onnx = exported[1]
        onnx_column.download_button(
            "Download ONNX",
            onnx.data,
            f"cnn-lab-{run.regime}.onnx",
            "application/octet-stream",
            on_click="ignore",
            icon=":material/download:",
            key="transfer-onnx-download",
        )
        onnx_column.caption(
            f"Checked: onnxruntime's logits on the {onnx.photos_checked} held-out photos equal PyTorch's within "
            f'{deploy.ONNX_TOLERANCE:g} (largest difference {onnx.largest_difference:.1e}). Input "image": '
            f"RGB in [0, 1] resized to {run.backbone.side}², normalized by the mean and std in the file's metadata, "
            "beside the class names."
        )
    counts = Counter(job.classes[label] for _, label in [*job.training, *job.validation])
    pretrained = None if run.regime == "scratch" else weights.get_weights(run.backbone.weights_name).title
    augmentation = str(job.augmentation) if run.augmented else None
    card_column.download_button(
        "Model card (JSON)",
        partial(deploy.model_card, run, dict(counts), pretrained, augmentation, datetime.date.today()),
        f"cnn-lab-{run.regime}-card.json",
        "application/json",
        on_click="ignore",
        icon=":material/description:",
        key="transfer-card-download",
    )


@st.cache_data(max_entries=64, show_spinner=False)
def offline_result(shots: int, seed: int) -> transfer.OfflineResult:
    """The experiment is deterministic: each (shots, seed) runs once for every session."""
    return transfer.offline_experiment(weights.load_pretrained("digits_0to4"), shots, seed)


@st.fragment
def offline_section() -> None:
    st.subheader("Offline: transfer between handwritten digits")
    st.markdown(
        "A small CNN (three 3×3 convolutions of 64 channels, batch norm, global pooling) that CNN Lab "
        "pretrains on scikit-learn's digits **0–4** is frozen; only a new softmax is trained, on a few "
        "examples of each digit **5–9** it never saw — regime (a). The same head on the same network "
        "with random weights is the reference."
    )
    columns = st.columns(2)
    shots = bounded_number("Examples per digit", 1, 100, 5, key="offline-shots", where=columns[0])
    seed = bounded_number("Seed (which examples)", 0, 1000, 0, key="offline-seed", where=columns[1])
    if shots is None or seed is None:
        return
    with st.spinner("Training the two softmax layers…"):
        result = offline_result(shots, seed)
    columns = st.columns(2)
    columns[0].metric("Pretrained on 0–4", f"{result.pretrained_accuracy:.1%}")
    columns[1].metric("Untrained backbone", f"{result.untrained_accuracy:.1%}")
    st.caption(
        f"Accuracy on the other {result.tested} digits 5–9, from {shots} example{'s' if shots > 1 else ''} of "
        "each (chance: 20 %). Features learned on other digits separate new ones better than random "
        "features do."
    )


@st.cache_data(max_entries=8, show_spinner=False)
def augmented_copies(image: np.ndarray, settings: augment.AugmentSettings, seed: int) -> list[np.ndarray]:
    """The seeded gallery, drawn once per (image, settings, seed): a rerun of the whole page
    (any click in the Train tab) does not draw it again."""
    return augment.gallery(image, settings, seed)


@st.fragment
def augmentation_section() -> None:
    st.subheader("Data augmentation")
    image = image_input("gallery-image", label="Image", default_example="chelsea")
    settings = augment_settings("gallery")
    if settings is not None:
        state.AUGMENTATION.set(settings)
    seed = bounded_number("Seed", 0, 10_000, 0, key="gallery-seed")
    if image is None or settings is None or seed is None:
        return
    with st.spinner("Drawing 16 augmented copies…"):
        copies = augmented_copies(image, settings, seed)
    st.image(copies, width=150)
    shift = augment.pca_shift(image, settings.pca_sigma, np.random.default_rng(seed))
    st.markdown(
        "**PCA colour augmentation** (AlexNet): the principal components p_i of this image's RGB values "
        "(0–1), their eigenvalues λ_i and the spread √λ_i of the pixels along each, and one draw "
        "α_i ~ N(0, σ²). The shift follows the colours the photo already varies in."
    )
    st.dataframe(
        pd.DataFrame(
            {
                "p_i (R, G, B)": [np.round(v, 3).tolist() for v in shift.eigenvectors.T],
                "λ_i": np.round(shift.eigenvalues, 5),
                "√λ_i": np.round(shift.spreads, 4),
                "α_i": np.round(shift.alphas, 4),
            }
        ),
        hide_index=True,
    )
    st.latex(
        r"\Delta = \sum_i \alpha_i \sqrt{\lambda_i}\, \mathbf{p}_i = ("
        + ", ".join(f"{value * 255:+.2f}" for value in shift.shift)
        + r")\ \text{levels added to every pixel}"
    )


SECTIONS = {
    "Your classes": classes_section,
    "Train": train_section,
    "Classify": classify_section,
    "Offline": offline_section,
    "Augmentation": augmentation_section,
}

if __name__ == "__main__":  # Streamlit runs pages as __main__
    page_header(
        "Transfer learning",
        "Course week 2 — your own classes on an ImageNet backbone in the course's three regimes, a transfer between "
        "digits that needs no download, and data augmentation; `core.transfer.regimes` and `core.transfer.augment`.",
    )
    section_tabs(SECTIONS)
