"""U-Net segmentation (course week 3): build and inspect a U-Net, the transposed convolution
step by step, the synthetic shapes set, training in the app, the shipped checkpoint on an
image with evaluation against a mask, and pretrained segmenters on real photos.

Each section but training is a fragment, so using one reruns only that section."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
import torch

from core import segmentation as seg
from core.detection.detectors import YOLO_DETECT
from core.runtime import weights
from core.runtime.examples import PHOTOS
from core.runtime.images import enlarged, fit_within
from core.runtime.jobs import JobHandle
from core.segmentation import shapes
from core.segmentation import video as seg_video
from ui.charts import Curve, curves_figure
from ui.errors import shown_user_errors, user_errors_shown
from ui.fields import bounded_number
from ui.image_input import DISPLAY_SIDE, for_display, image_input, png_download
from ui.jobs import JobView, job_handle, run_job
from ui.matrix import cells_figure, matrix_editor, show_matrix
from ui.model_status import weights_ready
from ui.models import infer, loaded, on_device, pretrained
from ui.page import ModelPanel, models_side_by_side, page_header, section_tabs
from ui.video import chosen_video, run_video_job, video_job_view

SHIPPED, DEEPLAB = "unet_shapes", "deeplabv3_mobilenet_v3_large"
LEGEND = " ".join(
    f'<span style="background:rgb{color};color:white;padding:1px 6px;border-radius:4px">{index} {name}</span>'
    for index, (name, color) in enumerate(zip(shapes.CLASSES, shapes.COLORS))
)


def steps(count: int) -> str:
    return f"{count:,} step" + ("" if count == 1 else "s")


# -- the network --------------------------------------------------------------------------------------


PRESETS = {  # name -> (in_channels, classes, base, depth, padding, bilinear, side)
    "Paper: 572² in, 1 channel, 2 classes, valid padding": (1, 2, 64, 4, "valid", False, 572),
    "Shipped checkpoint: 64² RGB, 4 classes": (3, 4, 16, 4, "same", False, 64),
}


PATH_COLOURS = {"contracting": "#1f77b4", "bottleneck": "#9467bd", "expanding": "#2ca02c", "output": "#d62728"}


def unet_figure(table: list[seg.Stage]) -> go.Figure:
    """The U drawn from the shape table: one box per stage, lower as the resolution drops;
    dashed lines are the skip connections."""
    rows = [-level for level in seg.u_levels(table)]
    heights = [0.25 + 0.08 * np.log2(stage.output_shape[0]) for stage in table]
    boxes = [
        dict(
            type="rect",
            x0=index - 0.35,
            x1=index + 0.35,
            y0=row - height / 2,
            y1=row + height / 2,
            fillcolor=PATH_COLOURS[stage.path],
            opacity=0.8,
            line=dict(width=0),
        )
        for index, (stage, row, height) in enumerate(zip(table, rows, heights, strict=True))
    ]
    skips = [
        dict(
            type="line",
            x0=source + 0.35,
            x1=target - 0.35,
            y0=rows[target],
            y1=rows[target],
            line=dict(dash="dash", color="#7f7f7f"),
        )
        for source, target in seg.skip_connections(table)
    ]
    labels = [
        dict(
            x=index,
            y=row - height / 2 - 0.12,
            showarrow=False,
            font=dict(size=10),
            text="×".join(map(str, stage.output_shape)),
        )
        for index, (stage, row, height) in enumerate(zip(table, rows, heights, strict=True))
    ]
    path = go.Scatter(
        x=list(range(len(table))), y=rows, mode="lines", line=dict(color="#bbbbbb"), hoverinfo="skip", showlegend=False
    )
    figure = go.Figure(path)
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    figure.update_layout(
        shapes=boxes + skips, annotations=labels, height=320, margin=dict(l=10, r=10, t=10, b=10)
    )  # set at once: add_shape copies every shape drawn so far
    return figure


@st.fragment
def unet_section() -> None:
    st.subheader("The U-Net, layer by layer")
    table = None
    config = unet_settings(st.selectbox("Preset", list(PRESETS), key="unet-preset"))
    if config is not None:
        with shown_user_errors():
            table = seg.shape_table(config.pop("height"), config.pop("width"), **config)
    if table is None:
        return
    st.metric("Parameters", f"{sum(stage.params for stage in table):,}")
    st.plotly_chart(unet_figure(table), key="unet-figure")
    rows = [
        {
            "stage": stage.name,
            "path": stage.path,
            "output C×H×W": " × ".join(map(str, stage.output_shape)),
            "skip concatenated": " × ".join(map(str, stage.skip_shape)) if stage.skip_shape else "",
            "parameters": f"{stage.params:,}",
        }
        for stage in table
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption(
        "Counted from the module's parameters; shapes from running it on PyTorch's meta device. Each 3×3 "
        "convolution is followed by batch norm and ReLU (batch norm is not in the paper: 2 parameters per channel)."
    )


def unet_settings(preset: str) -> dict | None:
    """``seg.shape_table``'s arguments as typed (starting from ``preset``), or None."""
    channels, classes, base, depth, padding, bilinear, side = PRESETS[preset]
    columns = st.columns(4)
    numbers = dict(
        in_channels=bounded_number("Input channels", 1, 16, channels, key=f"unet-in-{preset}", where=columns[0]),
        num_classes=bounded_number("Classes", 1, 256, classes, key=f"unet-classes-{preset}", where=columns[1]),
        base_channels=bounded_number("Base channels", 1, 256, base, key=f"unet-base-{preset}", where=columns[2]),
        depth=bounded_number("Depth (poolings)", 1, 7, depth, key=f"unet-depth-{preset}", where=columns[3]),
    )
    columns = st.columns(4)
    paddings, upsamplings = ["same", "valid"], ["transposed conv", "bilinear + 1×1"]
    padding = columns[0].radio(
        "Padding", paddings, index=paddings.index(padding), horizontal=True, key=f"unet-padding-{preset}"
    )
    upsampling = columns[1].radio(
        "Upsampling", upsamplings, index=int(bilinear), horizontal=True, key=f"unet-up-{preset}"
    )
    numbers.update(
        height=bounded_number("Input height", 1, 4096, side, key=f"unet-h-{preset}", where=columns[2]),
        width=bounded_number("Input width", 1, 4096, side, key=f"unet-w-{preset}", where=columns[3]),
    )
    if None in numbers.values():
        return None
    return {**numbers, "padding": padding, "bilinear": upsampling != "transposed conv"}


# -- transposed convolution ---------------------------------------------------------------------------


@st.fragment
def transposed_section() -> None:
    st.subheader("Transposed convolution, step by step")
    left, right = st.columns(2)
    with left:
        x = matrix_editor("Input", np.array([[2, 1], [3, 2]]), "tc-input")
    with right:
        kernel = matrix_editor("Filter", np.array([[1, 2, 1], [2, 0, 1], [0, 2, 1]]), "tc-filter")
    columns = st.columns(3)
    stride = bounded_number("Stride s", 1, 8, 2, key="tc-stride", where=columns[0])
    padding = bounded_number("Padding p", 0, 16, 1, key="tc-padding", where=columns[1])
    output_padding = bounded_number(
        "Output padding", 0, 7, 1, key="tc-output-padding", help="Must be smaller than the stride.", where=columns[2]
    )
    if x is None or kernel is None or None in (stride, padding, output_padding):
        return
    with shown_user_errors() as outcome:
        result = seg.transposed_convolution(x, kernel, stride, padding, output_padding)
    if outcome.failed:
        return
    f, size = kernel.shape[0], result.output.shape
    st.latex(
        rf"o = s(i-1) - 2p + f + \text{{output\_padding}} = {stride}({x.shape[0]}-1) - 2\cdot{padding} + {f} + "
        rf"{output_padding} = {size[0]}" + (rf"\ \ (\times {size[1]})" if size[1] != size[0] else "")
    )
    count = len(result.placements)
    step = st.slider("Placement", 1, count, count, key=f"tc-step-{count}") if count > 1 else 1
    figure_column, text_column = st.columns([3, 2])
    placement, rows, columns = result.placements[step - 1], *result.output.shape
    figure = cells_figure(
        result.canvas_after(step),
        (placement.top, placement.left, f, f),
        (padding, padding, rows, columns),
        colorscale="RdBu",
        zmid=0,
    )
    figure_column.plotly_chart(figure, key="tc-figure")
    text_column.markdown(
        f"**Placement {step} of {count}:** input ({placement.row}, {placement.column}) = {placement.value:g} times the "
        f"filter, added at rows {placement.top}–{placement.top + f - 1}, "
        f"columns {placement.left}–{placement.left + f - 1} "
        f"(orange). Overlapping placements add up. The dashed square is what is left after cropping p = {padding} "
        f"from each side"
        + (f" (output padding {output_padding} keeps {output_padding} more at the end)." if output_padding else ".")
    )
    text_column.markdown("**Output**")
    with text_column:
        show_matrix(result.output)
    reference = seg.conv_transpose2d_reference(x, kernel, stride, padding, output_padding)
    if np.allclose(reference, result.output):
        text_column.success(
            f"PyTorch agrees: F.conv_transpose2d(x, w, stride={stride}, padding={padding}, "
            f"output_padding={output_padding}) gives the same {rows}×{columns} matrix."
        )
    else:
        text_column.error("PyTorch's conv_transpose2d gives a different result.")


# -- synthetic data --------------------------------------------------------------------------------------


@st.fragment
def data_section() -> None:
    st.subheader("The synthetic shapes set")
    st.markdown(
        "Circles, squares and triangles of random size, rotation, colour and texture, overlapping, on flat, "
        "gradient or striped backgrounds with noise. Every pixel is labelled: " + LEGEND,
        unsafe_allow_html=True,
    )
    columns = st.columns(3)
    seed = bounded_number("Seed", 0, 2**31 - 1, 0, key="data-seed", where=columns[0])
    size = columns[1].selectbox("Size", [48, 64, 96, 128], index=1, key="data-size")
    count = bounded_number("Samples", 1, 24, 8, key="data-count", where=columns[2])
    if seed is None or count is None:
        return
    samples = [shapes.make_sample(seed, index, size) for index in range(count)]
    grid = st.columns(4)
    for index, (image, labels, _) in enumerate(samples):
        grid[index % 4].image(
            np.concatenate([enlarged(image, 192), enlarged(shapes.colorize(labels), 192)], axis=1),
            caption=f"sample {index}: image | labels",
        )
    first_image, first_labels, _ = samples[0]
    downloads = st.columns(2)
    png_download("Sample 0 image (PNG)", first_image, f"shapes-{seed}-0.png", "data-image", downloads[0])
    mask_label = "Sample 0 mask (PNG, class numbers)"
    png_download(mask_label, first_labels, f"shapes-{seed}-0-mask.png", "data-mask", downloads[1])


# -- training ------------------------------------------------------------------------------------------------


def loss_and_scores(history: list[seg.Progress]) -> go.Figure:
    """The loss by step, and each epoch's validation scores on the right axis."""
    scores = [(p.step, p.validation) for p in history if p.validation is not None]
    steps = [step for step, _ in scores]
    accuracy, iou = [s.pixel_accuracy for _, s in scores], [s.mean_iou for _, s in scores]
    curves = [
        Curve("loss", [p.step for p in history], [p.loss for p in history]),
        Curve("pixel accuracy (validation)", steps, accuracy, markers=True, right_axis=True),
        Curve("mean IoU (validation)", steps, iou, markers=True, right_axis=True),
    ]
    return curves_figure(curves, x_title="step", y_title="loss", right_title="score")


def show_training(handle: JobHandle[seg.Progress]) -> None:
    """The curves, the last validation scores and the validation samples, live and kept."""
    history = handle.records
    st.plotly_chart(loss_and_scores(history), key="train-curves")
    validated = [progress for progress in history if progress.validation is not None]
    if validated:
        last = validated[-1]
        st.caption(
            f"Epoch {last.epoch}: validation mean IoU {last.validation.mean_iou:.3f}, "
            f"pixel accuracy {last.validation.pixel_accuracy:.3f}."
        )
        st.image(enlarged(last.samples, 480), caption="validation images | true labels | the model's labels")


TRAINING = JobView(
    key="train",
    start="Train",
    kept="the model so far is kept for “Segment an image”",
    live=show_training,
    result=show_training,
)


def train_section() -> None:
    st.subheader("Train a U-Net here")
    config = training_config()
    if config is not None:
        st.caption(
            f"A U-Net with {config.base_channels} base channels and depth {config.depth}, Adam with a one-cycle "
            "learning rate, cross-entropy plus soft Dice loss; validation on 64 images of another seed."
        )
    run_job(TRAINING, None if config is None else seg.TrainingJob(config))


def training_config() -> seg.TrainingConfig | None:
    """The settings typed, or None after saying what is wrong with them."""
    defaults = seg.TrainingConfig()
    columns = st.columns(5)
    epochs = bounded_number("Epochs", 1, 200, defaults.epochs, key="train-epochs", where=columns[0])
    learning_rate = bounded_number(
        "Learning rate", 1e-5, 1.0, defaults.learning_rate, number_format="%.4f", key="train-lr", where=columns[1]
    )
    batch_size = bounded_number("Batch size", 1, 256, defaults.batch_size, key="train-batch", where=columns[2])
    image_size = int(columns[3].selectbox("Image size", [32, 48, 64, 96, 128], index=1, key="train-size"))
    train_images = bounded_number(
        "Training images", 8, 20_000, defaults.train_images, key="train-count", where=columns[4]
    )
    if None in (epochs, learning_rate, batch_size, train_images):
        return None
    with shown_user_errors() as outcome:
        seg.check_input_size(image_size, image_size, defaults.depth, "same")
    if outcome.failed:
        return None
    return seg.TrainingConfig(
        epochs=epochs,
        learning_rate=learning_rate,
        batch_size=batch_size,
        image_size=image_size,
        train_images=train_images,
    )


def trained_here() -> seg.TrainingJob | None:
    """The training job of this session once it has ended with at least one step."""
    handle = job_handle(TRAINING.key)
    return handle.job if handle is not None and not handle.active and handle.steps else None


# -- inference on an image ------------------------------------------------------------------------------------


@st.fragment
@user_errors_shown
@on_device
def segment_section(device: torch.device) -> None:
    st.subheader("Segment an image")
    chosen = segmenting_model(device)
    picked = None if chosen is None else segment_input(chosen[1])
    if picked is None:
        return
    (model, side), (image, truth) = chosen, picked
    alpha = st.slider("Overlay opacity", 0.0, 1.0, 0.6, 0.05, key="segment-alpha")
    with st.spinner(f"Segmenting the {image.shape[1]}×{image.shape[0]} image on {device}…"):
        if model is None:
            labels = infer(seg.UNET_LABELS, SHIPPED, image, device, side=side)
        else:
            labels = seg.predict_labels(model, image, device, side)
        shown = fit_within(labels, DISPLAY_SIDE, labels=True)  # blended at display size: a 6000² photo is 36 MP
        overlay = for_display(shapes.overlay(fit_within(image, DISPLAY_SIDE), shown, alpha))
    columns = st.columns(3 if truth is not None else 2)
    columns[0].image(overlay, caption=f"Overlay, {image.shape[1]}×{image.shape[0]}")
    if truth is not None:
        columns[1].image(for_display(shapes.colorize(truth)), caption="True labels (the sample's own)")
    columns[-1].image(for_display(shapes.colorize(shown)), caption="Predicted labels")
    st.markdown(LEGEND, unsafe_allow_html=True)
    shares = shapes.class_shares(labels)
    st.markdown("**Pixels per class:** " + ", ".join(f"{name} {share:.1%}" for name, share in shares.items()))
    png_download("Predicted mask (PNG, class numbers)", labels, "predicted-mask.png", "segment-mask-download")
    show_scores(labels, truth)


def segmenting_model(device: torch.device, key: str = "segment") -> tuple[seg.UNet | None, int] | None:
    """The U-Net chosen (None: the shipped checkpoint, ``SHIPPED``; or the one trained in this
    session) and the side it was trained at; ``key`` names the widgets."""
    trained = trained_here()
    choices = ["Shipped checkpoint"] + (["Trained in this session"] if trained else [])
    choice = st.radio("U-Net", choices, horizontal=True, key=f"{key}-model")
    if choice == "Trained in this session" and trained is not None:
        side, done = trained.config.image_size, job_handle(TRAINING.key).last.record.step
        st.caption(f"The U-Net trained in this session: {steps(done)} on {side}×{side} images.")
        return trained.model.eval(), side
    if not weights_ready(SHIPPED, "the shipped U-Net", key=f"{key}-download"):
        return None
    manifest = seg.checkpoint_manifest(weights.get_weights(SHIPPED).cache_path())
    side, test = manifest["config"]["image_size"], manifest["fresh_test"]
    st.caption(
        f"The shipped checkpoint: trained on {side}×{side} synthetic shapes; mean IoU "
        f"{test['mean_iou']:.3f} on {test['images']} fresh images."
    )
    return None, side


def segment_input(side: int) -> tuple[np.ndarray, np.ndarray | None] | None:
    """A fresh synthetic sample with its true labels, or the user's image without."""
    source = st.radio("Segment", ["A fresh synthetic sample", "Your image"], horizontal=True, key="segment-input")
    if source == "A fresh synthetic sample":
        columns = st.columns(2)
        seed = bounded_number("Seed (not used in training)", 0, 2**31 - 1, 777, key="segment-seed", where=columns[0])
        index = bounded_number("Sample", 0, 10**6, 0, key="segment-index", where=columns[1])
        if seed is None or index is None:
            return None
        image, truth, _ = shapes.make_sample(seed, index, side)
        return image, truth
    image = image_input("segment", label="Your image", examples=PHOTOS, default_example="coffee")
    if image is None:
        return None
    st.caption(
        f"The network was trained on {side}×{side} synthetic shapes: the image is scaled to {side} px on its "
        "longer side for it, and the labels scaled back. On a photo it marks shape-like regions, not objects."
    )
    return image, None


def show_scores(labels: np.ndarray, truth: np.ndarray | None) -> None:
    """IoU and Dice per class against the sample's labels or an uploaded mask."""
    upload = st.file_uploader(
        "Ground-truth mask to score against (PNG: class numbers, or legend colours)", type=["png"], key="segment-truth"
    )
    with shown_user_errors() as outcome:
        if upload is not None:
            truth = seg.load_mask(upload.getvalue(), len(shapes.CLASSES), shapes.COLORS)
        scores = None if truth is None else seg.segmentation_scores(labels, truth, len(shapes.CLASSES))
    if outcome.failed or scores is None:
        return
    st.metric(
        "Mean IoU", f"{scores.mean_iou:.3f}", help="Mean over the classes present in the truth or the prediction."
    )
    st.dataframe(
        pd.DataFrame({"class": shapes.CLASSES, "IoU": scores.iou.round(3), "Dice": scores.dice.round(3)}),
        hide_index=True,
    )
    st.caption(
        f"Pixel accuracy {scores.pixel_accuracy:.3f}. "
        + ("Scored against the sample's own labels." if upload is None else "Scored against your mask.")
    )


# -- real photos -------------------------------------------------------------------------------------------------


@st.fragment
def real_photos_section() -> None:
    st.subheader("Real photos: pretrained segmenters")
    st.markdown(
        "DeepLabV3 (MobileNetV3, 20 Pascal VOC classes) labels every pixel; YOLO11n-seg draws a mask per "
        "object instance. Both need their pretrained weights."
    )
    image = image_input("segment-photo", examples=PHOTOS, default_example="motorcycle")
    if image is None:
        return
    deeplab = weights.get_weights(DEEPLAB)

    def semantic(device: torch.device) -> tuple[np.ndarray, str]:
        result = infer(seg.SEMANTIC_SEGMENTATION, deeplab.name, image, device, weights_tag=deeplab.pretrained_tag)
        return result.overlay, "DeepLabV3: " + ", ".join(f"{name} {share:.0%}" for name, share in result.shares.items())

    def instances(device: torch.device) -> tuple[np.ndarray, str]:
        found = infer(YOLO_DETECT, "yolo11n-seg", image, device)
        return found.annotated(), f"YOLO11n-seg: {len(found.detections)} instances"

    models_side_by_side(
        [
            ModelPanel(deeplab.name, "DeepLabV3", "photo-download-deeplab", semantic),
            ModelPanel("yolo11n-seg", "YOLO11n-seg", "photo-download-yolo", instances),
        ],
        "Segment the photo",
        key="photo-run",
    )


# -- video ----------------------------------------------------------------------------------------------


def show_segmented_video(handle: JobHandle[seg_video.Shares]) -> None:
    """Each class's share of every frame, and the CSV."""
    shares = pd.DataFrame(seg_video.share_rows(handle.records))
    classes = [name for name in shares if name not in ("frame", "time s")]
    if not classes:
        st.info("Only background was found in the frames done.")
        return
    legend = {name: f"rgb{color}" for name, color in zip(shapes.CLASSES, shapes.COLORS)}  # the U-Net's colours
    figure = px.line(shares, x="time s", y=classes, color_discrete_map=legend)
    figure.update_layout(height=280, yaxis_title="share of the frame", yaxis_tickformat=".0%", legend_title="class")
    st.plotly_chart(figure, key="segment-video-shares")
    st.download_button(
        "Class shares CSV",
        seg_video.shares_csv(handle.records),
        "class-shares.csv",
        "text/csv",
        on_click="ignore",
        key="segment-video-csv",
    )


SEGMENTING = video_job_view(
    "segment-video",
    "Segment the video",
    "the video so far plays and its shares are kept",
    "segmented.mp4",
    show_segmented_video,
)


@on_device
def video_section(device: torch.device) -> None:
    st.subheader("Segment a video")
    st.caption(
        "Every frame segmented as one image. Instance masks per object over a video: the Object detection page's "
        "Video tab with its -seg models."
    )
    video = chosen_video("segment-video")
    choice = st.radio("Model", ["U-Net", "DeepLabV3 (Pascal VOC)"], horizontal=True, key="segment-video-network")
    work = unet_video(device) if choice == "U-Net" else deeplab_video(device)
    if video is not None:
        run_video_job(SEGMENTING, work, video)


def unet_video(device: torch.device) -> seg_video.UNetVideo | None:
    chosen = segmenting_model(device, "segment-video")
    alpha = st.slider("Overlay opacity", 0.0, 1.0, 0.6, 0.05, key="segment-video-alpha")
    if chosen is None:
        return None
    model, side = chosen
    if model is not None:  # trained in this session: it travels whole
        return seg_video.UNetVideo("trained here", weights.SharedModel(None, model), side, alpha)
    return seg_video.UNetVideo(SHIPPED, weights.SharedModel(SHIPPED, pretrained(SHIPPED, str(device))), side, alpha)


def deeplab_video(device: torch.device) -> seg_video.TorchvisionVideo | None:
    if not weights_ready(DEEPLAB, "DeepLabV3", key="segment-video-download-deeplab"):
        return None
    model = loaded(DEEPLAB, device)
    if model is None:
        return None
    return seg_video.TorchvisionVideo(
        DEEPLAB, weights.SharedModel(DEEPLAB, model), weights.get_weights(DEEPLAB).pretrained_tag
    )


SECTIONS = {
    "U-Net": unet_section,
    "Transposed convolution": transposed_section,
    "Synthetic data": data_section,
    "Train": train_section,
    "Segment an image": segment_section,
    "Real photos": real_photos_section,
    "Video": video_section,
}

if __name__ == "__main__":  # Streamlit runs pages as __main__; benchmarks import the sections
    page_header(
        "U-Net segmentation",
        "Course week 3 — the network, the transposed convolution and the metrics live in `core.segmentation`; "
        "tests check them against PyTorch.",
    )
    section_tabs(SECTIONS)
