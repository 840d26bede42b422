"""Model comparisons (course week 2, "Case Studies"): the classic networks to EfficientNet as
one measured table, their latency on this server, LeNet-5, AlexNet and VGG-16 in the
course's table format, ResNets and the degradation experiment, the Inception module's
bottleneck, and classifying an image with several networks at once.

Counting lives in ``core.architectures.registry``, ``core.architectures.resnets`` and
``core.architectures.inception``; the classification in ``core.architectures.classify``.
"""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch
from pandas.io.formats.style import Styler

from core.architectures import classify, inception, resnets
from core.architectures import registry as arch
from core.architectures.digits import digit_split, digits
from core.runtime import weights
from core.runtime.examples import PHOTOS
from core.runtime.jobs import JobHandle
from ui import state
from ui.charts import accuracy_scatter
from ui.errors import shown_user_errors, user_errors_shown
from ui.fields import bounded_number
from ui.image_input import display_jpeg, image_input
from ui.jobs import JobView, job_handle, run_job
from ui.layer_table import layer_frame, with_separators
from ui.model_status import weights_ready
from ui.models import infer, on_device, pretrained
from ui.page import page_header, section_tabs

CURVES = weights.PROJECT_ROOT / "checkpoints" / "degradation_curves.json"
DEFAULT_LATENCY = ("resnet18", "mobilenet_v3_large", "efficientnet_b0")


@st.cache_data(show_spinner="Counting every network on the meta device…")
def zoo_frame() -> pd.DataFrame:
    rows = []
    for entry in arch.list_architectures():
        stats, published = arch.architecture_stats(entry.name), entry.published()
        rows.append(
            {
                "name": entry.name,
                "model": entry.title,
                "year": entry.year,
                "input": f"{stats.input_size}²",
                "parameters (M)": round(stats.params / 1e6, 3),
                "GMACs": round(stats.macs / 1e9, 3),
                "GFLOPs": round(stats.flops / 1e9, 3),
                "activations (MB, fp32)": round(stats.activation_mb, 1),
                "acc@1 (%)": published.acc1 if published else None,
                "acc@5 (%)": published.acc5 if published else None,
                "weights (MB)": round(published.file_mb, 1) if published else None,
            }
        )
    return pd.DataFrame(rows)


def weights_here(name: str) -> str:
    if name == "lenet5":
        return "shipped (digits)"
    return weights.status_of(weights.REGISTRY[name]) if name in weights.REGISTRY else "–"


@st.fragment
def zoo_section() -> None:
    st.subheader("The case studies in numbers")
    frame = zoo_frame()
    shown = frame.assign(**{"weights here": [weights_here(name) for name in frame["name"]]}).drop(columns="name")
    st.dataframe(shown, hide_index=True)
    st.caption(
        "Parameters counted from each module, MACs = FLOPs / 2 from FlopCounterMode, activations = the values the "
        "input and every convolution, pooling and fully connected layer hold for one image, all at each network's "
        "own input size on PyTorch's meta device. Accuracy (ImageNet-1K, single crop) and file sizes from "
        "torchvision's weights metadata; torchvision's 'GFLOPS' there are these GMACs. Inception v3's 27.2 M "
        "parameters include its auxiliary classifier, which only training runs."
    )
    published = frame.dropna(subset=["acc@1 (%)"])
    st.plotly_chart(accuracy_scatter(published, "GMACs", size="parameters (M)", height=440), key="zoo-macs")
    handle = job_handle(LATENCY.key)
    measured = {m.name: m.latency.median_ms for m in handle.records} if handle is not None else {}
    if measured:
        timed = published[published["name"].isin(measured)].assign(
            **{"latency (ms)": lambda f: [measured[name] for name in f["name"]]}
        )
        st.plotly_chart(accuracy_scatter(timed, "latency (ms)"), key="zoo-latency")
        st.caption("Latency as measured in the Latency tab on this server.")
    else:
        st.caption("Measure latencies in the Latency tab to plot accuracy against time on this server.")


@on_device
def latency_section(device: torch.device) -> None:
    st.subheader("Latency on this server")
    entries = arch.list_architectures()
    names = st.multiselect(
        "Networks",
        [entry.name for entry in entries],
        default=list(DEFAULT_LATENCY),
        format_func=lambda name: arch.get_architecture(name).title,
        key="latency-names",
    )
    columns = st.columns(4)
    batch = bounded_number("Batch size", 1, 1024, 1, key="latency-batch", where=columns[0])
    resolution = bounded_number(
        "Resolution (px, 0: each network's own)", 0, 1024, 0, key="latency-resolution", where=columns[3]
    )
    cuda = device.type == "cuda"
    channels_last = columns[1].toggle(
        "Channels-last",
        key="latency-cl",
        disabled=not cuda,
        help="On CUDA: NHWC memory layout, which cuDNN's fastest kernels use.",
    )
    low_precision = columns[2].toggle(
        "bfloat16 autocast", key="latency-bf16", disabled=not cuda, help="On CUDA: matrix units in bfloat16."
    )
    st.caption(
        "The networks get random weights: a forward pass costs the same arithmetic whatever the values, so the "
        "time is the trained network's. Median of 10 passes after 2 warm-ups, synchronized (CUDA events on a GPU), "
        "under torch.inference_mode."
    )
    job = None
    if batch is not None and resolution is not None and names:
        job = arch.LatencyJob(tuple(names), batch, resolution or None, channels_last, low_precision)
    run_job(LATENCY, job)


def latency_rows(handle: JobHandle[arch.ModelLatency]) -> list[dict]:
    return [
        {
            "model": arch.get_architecture(measured.name).title,
            "device": handle.device_name,
            "batch": measured.batch,
            "input": f"{measured.resolution}²",
            "median ms": round(measured.latency.median_ms, 2),
            "images / s": round(measured.throughput, 1),
            "peak memory (MB)": None if measured.peak_bytes is None else round(measured.peak_bytes / 1e6, 1),
        }
        for measured in handle.records
    ]


def keep_latency_rows(previous: JobHandle[arch.ModelLatency]) -> None:
    """The table keeps every network timed in this session, the latest first."""
    state.EARLIER_LATENCIES.set(latency_rows(previous) + state.EARLIER_LATENCIES.get([]))


def show_latency(handle: JobHandle[arch.ModelLatency]) -> None:
    st.dataframe(pd.DataFrame(latency_rows(handle) + state.EARLIER_LATENCIES.get([])), hide_index=True)
    st.caption(
        "Peak memory: CUDA's max_memory_allocated on a GPU; on the CPU, how far the server's resident set "
        "rose, which other users' work also moves."
    )


LATENCY = JobView(
    key="latency",
    start="Measure",
    start_icon=":material/timer:",
    kept="the networks timed so far are in the table",
    result=show_latency,
    before_start=keep_latency_rows,
)


def rows_table(rows: list[arch.ModuleRow]) -> Styler:
    """Module rows (named by their dotted names) with thousands separators."""
    return with_separators(layer_frame([row.name for row in rows], rows, kinds=True))


@st.fragment
def classic_section() -> None:
    st.subheader("Classic networks in the course's format")
    claims = {"lenet5": "≈ 60 k parameters", "alexnet": "≈ 60 M parameters", "vgg16": "≈ 138 M parameters"}
    name = st.radio(
        "Network",
        list(claims),
        format_func=lambda n: arch.get_architecture(n).title,
        horizontal=True,
        key="classic-name",
    )
    rows = arch.network_rows(name)
    frame = layer_frame([row.name for row in rows], rows, kinds=True)
    st.dataframe(with_separators(frame), hide_index=True)
    params = sum(row.params for row in rows)
    stats = arch.architecture_stats(name)
    columns = st.columns(3)
    columns[0].metric("Parameters", f"{params:,}", help=f"The course: {claims[name]}")
    columns[1].metric("In fully connected layers", f"{arch.fully_connected_share(rows):.0%}")
    columns[2].metric(
        "Forward activations, one image",
        f"{stats.activation_mb:,.1f} MB" if stats.activation_mb >= 1 else f"{stats.activation_mb * 1e3:,.0f} KB",
        help="float32: the input plus every convolution, pooling and FC output",
    )
    if name == "vgg16":
        st.info(
            f"The course says VGG-16 needs about 96 MB per image for the forward pass. Counting the input and the "
            f"output of every convolution, pooling and fully connected layer once, as above, gives "
            f"{stats.activations:,} values, {stats.activation_mb:.0f} MB in float32; keeping each ReLU's output "
            "separately as well (no in-place ReLU) would add the convolutions' outputs again. Most of it sits in "
            "the first layers, as the course says."
        )


@st.fragment
def resnet_section() -> None:
    st.subheader("The residual block")
    st.latex(
        r"a^{[l+2]} = g\left(z^{[l+2]} + a^{[l]}\right)\quad\text{or, when the shape changes,}\quad "
        r"a^{[l+2]} = g\left(z^{[l+2]} + W_s\, a^{[l]}\right)"
    )
    columns = st.columns(4)
    n = bounded_number("n (input side)", 1, 512, 56, key="block-n", where=columns[0])
    c_in = bounded_number("input channels", 1, 2048, 64, key="block-in", where=columns[1])
    c_out = bounded_number("output channels", 1, 2048, 128, key="block-out", where=columns[2])
    stride = columns[3].radio("stride", [1, 2], index=1, horizontal=True, key="block-stride")
    if None not in (n, c_in, c_out):
        block = resnets.residual_block_cost(n, c_in, c_out, stride)
        shortcut = "identity (no parameters)" if block.identity else f"1×1 projection W_s: {block.shortcut_params:,}"
        st.markdown(
            f"a[l] {' × '.join(map(str, block.input_shape))} → a[l+2] "
            f"{' × '.join(map(str, block.output_shape))}: main path {block.main_params:,} parameters; "
            f"shortcut {shortcut}."
        )
    st.markdown("**ResNet-34, stage by stage** (3, 4, 6 and 3 blocks):")
    st.dataframe(rows_table(resnets.resnet34_stages()), hide_index=True)
    degradation_figures()


def degradation_figures() -> None:
    st.subheader("Theory and reality: plain against residual networks")
    record = json.loads(CURVES.read_text())
    handle = job_handle(DEGRADATION.key)
    live = degradation_curves(handle) if handle is not None and not handle.active else None
    curves = live or record["training_error"]
    figure = go.Figure()
    for label, values in curves.items():
        figure.add_trace(
            go.Scatter(
                x=list(range(1, len(values) + 1)),
                y=values,
                name=label,
                mode="lines+markers",
                line=dict(dash="dash" if label.startswith("plain") else "solid"),
            )
        )
    figure.update_layout(
        height=360, xaxis_title="epoch", yaxis_title="training error", yaxis_type="log", margin=dict(t=10)
    )
    st.plotly_chart(figure, key="degradation-curves")
    config = record["config"]
    source = (
        "this session's live run"
        if live
        else f"the run shipped with CNN Lab (`{record['command']}`, {record['seconds']:.0f} s on {record['device']})"
    )
    st.caption(
        f"Training error on scikit-learn's 1,797 digits, {config['epochs']} epochs, the same widths and batch "
        f"norm in every network: {source}. The deeper plain network ends with the higher error; the deeper "
        "ResNet does not."
    )
    norms = record["gradient_norms"]
    figure = go.Figure([go.Scatter(y=norms[label], name=label, mode="lines") for label in norms])
    figure.update_layout(
        height=300,
        xaxis_title="3×3 convolution (input side first)",
        yaxis_type="log",
        yaxis_title="‖∂L/∂W‖ at initialization",
        margin=dict(t=10),
    )
    st.plotly_chart(figure, key="degradation-gradients")
    spread = resnets.gradient_spread(norms)
    st.caption(
        "Gradient norms per layer for one batch before training: they vary "
        + ", ".join(f"{spread[label]:,.0f}× across {label}" for label in norms)
        + "."
    )


def degradation_live_section() -> None:
    st.subheader("Run the experiment here")
    run_job(DEGRADATION, resnets.DegradationJob())


def degradation_curves(handle: JobHandle[resnets.DegradationProgress]) -> dict[str, list[float]]:
    """Each network's training error by epoch, as far as the run got."""
    curves: dict[str, list[float]] = {}
    for progress in handle.records:
        curves.setdefault(progress.network, []).append(progress.training_error)
    return curves


def show_live_degradation(handle: JobHandle[resnets.DegradationProgress]) -> None:
    st.line_chart(pd.DataFrame({label: pd.Series(errors) for label, errors in degradation_curves(handle).items()}))


DEGRADATION = JobView(
    key="degradation",
    start="Train the four networks",
    kept="the curves so far are drawn above",
    live=show_live_degradation,
)


@st.fragment
def inception_section() -> None:
    st.subheader("The Inception module and its 1×1 bottleneck")
    st.markdown(
        "The course's example: a 5×5 'same' convolution with 32 filters on 28×28×192, directly and "
        "through a 1×1 bottleneck of 16 channels."
    )
    (direct,) = inception.branches(inception.COURSE_DIRECT)
    (cheap,) = inception.branches(inception.COURSE_BOTTLENECK)
    st.latex(
        rf"28^2 \cdot 32 \cdot 5^2 \cdot 192 = {direct.multiplications:,}\qquad"
        rf"28^2 \cdot 16 \cdot 192 + 28^2 \cdot 32 \cdot 5^2 \cdot 16 = {cheap.bottleneck:,} + "
        rf"{cheap.main:,} = {cheap.multiplications:,}"
    )
    st.markdown("**Build a module** (the default is GoogLeNet's inception (3a)):")
    spec = None
    values = inception_settings()
    if values is not None:
        with shown_user_errors():
            spec = inception.InceptionSpec(**values)
            shape, counted = inception.measured(spec)
    if spec is not None:
        show_inception_module(spec, shape, counted)
    st.markdown("**GoogLeNet's nine modules** (torchvision's, which adds batch norm):")
    st.dataframe(rows_table(inception.googlenet_modules()), hide_index=True)


INCEPTION_FIELDS = {
    "n": "n (input side)",
    "channels": "input channels",
    "ones": "1×1",
    "reduce3": "3×3 reduce",
    "threes": "3×3",
    "reduce5": "5×5 reduce",
    "fives": "5×5",
    "pool_projection": "pool proj",
}


def inception_settings() -> dict[str, int] | None:
    """``InceptionSpec``'s fields as typed, starting from GoogLeNet's (3a), or None."""
    defaults = inception.GOOGLENET_3A
    values = {
        field: bounded_number(
            label,
            1 if field in ("n", "channels") else 0,
            4096,
            getattr(defaults, field),
            key=f"inception-{field}",
            where=column,
        )
        for column, (field, label) in zip(st.columns(len(INCEPTION_FIELDS)), INCEPTION_FIELDS.items())
    }
    return None if None in values.values() else values


def show_inception_module(spec: inception.InceptionSpec, shape: tuple[int, ...], counted: int) -> None:
    """Each branch's multiplications, the output, and whether PyTorch counts the same."""
    found = inception.branches(spec)
    rows = [(b.name, b.channels, b.bottleneck, b.main, b.multiplications) for b in found]
    frame = pd.DataFrame(rows, columns=["branch", "output channels", "bottleneck", "main", "multiplications"])
    st.dataframe(frame.style.format({c: "{:,}" for c in ("bottleneck", "main", "multiplications")}), hide_index=True)
    total = sum(branch.multiplications for branch in found)
    st.markdown(f"Output {shape[0]}×{shape[1]}×{shape[2]} (the branches concatenated), **{total:,}** multiplications.")
    if counted == total and shape[2] == spec.output_channels:
        st.success(
            "PyTorch agrees: the module built from these branches has this output and FlopCounterMode counts "
            "these multiplications."
        )
    else:
        st.error("PyTorch counts differently; please report these settings.")


@st.fragment
def classify_section() -> None:
    digits_part()
    imagenet_part()


def digits_part() -> None:
    st.subheader("LeNet-5 on handwritten digits (works offline)")
    model = pretrained("lenet5_digits", "cpu")
    images, labels = digits()
    _, held_out = digit_split()
    manifest = classify.lenet_manifest(weights.get_weights("lenet5_digits").cache_path())
    source = st.radio("Digit", ["A held-out digit", "A photo of a digit"], horizontal=True, key="digit-kind")
    if source == "A held-out digit":
        index = bounded_number(f"Held-out digit (0 … {len(held_out) - 1})", 0, len(held_out) - 1, 0, key="digit-index")
        if index is None:
            return
        digit, truth = classify.to_lenet_input(images[held_out[index : index + 1]]), str(int(labels[held_out[index]]))
    else:
        photo = image_input("digit", label="Photo of one digit")
        if photo is None:
            return
        with shown_user_errors() as outcome:
            digit, truth = classify.digit_from_photo(photo), None
        if outcome.failed:
            st.image(display_jpeg(photo), width=240)
            return
    top = classify.classify_digit(model, digit)
    left, right = st.columns([1, 3])
    left.image(digit[0, 0].numpy(), caption="LeNet-5's 32×32 input", width=160, clamp=True)
    if truth is None and (doubts := classify.digit_photo_doubts(photo, [p for _, p in top])):
        right.warning("This is no reading of a digit. " + " ".join(doubts), icon=":material/help:")
    right.dataframe(pd.DataFrame(top, columns=["digit", "probability"]), hide_index=True)
    if truth is not None:
        right.markdown(f"True label: **{truth}** — " + ("right." if top[0][0] == truth else "wrong."))
    st.caption(
        f"LeNet-5 trained by `{manifest['command']}` on {manifest['split']['train']:,} digits; "
        f"{manifest['held_out_accuracy']:.1%} right on the {manifest['split']['held_out']} held-out ones."
    )


@user_errors_shown
@on_device
def imagenet_part(device: torch.device) -> None:
    st.subheader("ImageNet networks side by side")
    chosen = st.multiselect(
        "Networks",
        weights.CLASSIFIERS,
        default=["resnet18", "mobilenet_v3_large"],
        format_func=lambda name: arch.get_architecture(name).title,
        key="classify-names",
    )
    ten_crop = st.toggle("10-crop (corners, centre and their mirrors, averaged)", key="classify-ten")
    image = image_input("classify", examples=PHOTOS, default_example="chelsea")
    ready = [
        name
        for name in chosen
        if weights_ready(name, f"{arch.get_architecture(name).title} classification", key=f"classify-download-{name}")
    ]
    if image is None or not ready:
        if image is not None:
            st.image(display_jpeg(image), width=320, caption="Your image")
        return
    predictions = {}
    columns = st.columns(len(ready))
    for column, name in zip(columns, ready):
        entry = weights.get_weights(name)
        with st.spinner(f"{arch.get_architecture(name).title} on {device}…"):
            prediction = infer(
                classify.IMAGENET_CLASSIFICATION,
                name,
                image,
                device,
                weights_tag=entry.pretrained_tag,
                ten_crop=ten_crop,
            )
        predictions[name] = prediction
        column.markdown(
            f"**{arch.get_architecture(name).title}** · {prediction.seconds * 1e3:.0f} ms, "
            f"{prediction.crops} crop{'s' if prediction.crops > 1 else ''}"
        )
        column.dataframe(pd.DataFrame(prediction.top, columns=["class", "probability"]), hide_index=True)
    if len(predictions) > 1:
        categories = classify.imagenet_categories(weights.get_weights(ready[0]).pretrained_tag)
        cost = classify.ensemble_cost(list(predictions), 10 if ten_crop else 1)
        st.markdown(
            f"**Ensemble of {len(predictions)}** (mean probabilities) — costs {cost:.1f}× "
            f"{arch.get_architecture(ready[0]).title} on one crop:"
        )
        st.dataframe(
            pd.DataFrame(classify.ensemble(list(predictions.values()), categories), columns=["class", "probability"]),
            hide_index=True,
        )


SECTIONS = {
    "Zoo": zoo_section,
    "Latency": latency_section,
    "Classic networks": classic_section,
    "ResNets": resnet_section,
    "Degradation, live": degradation_live_section,
    "Inception": inception_section,
    "Classify": classify_section,
}

if __name__ == "__main__":  # Streamlit runs pages as __main__
    page_header(
        "Model comparisons",
        "Course week 2 — LeNet-5 to EfficientNet counted on PyTorch's meta device (`core.architectures.registry`), "
        "timed on this server, and run on your image.",
    )
    section_tabs(SECTIONS)
