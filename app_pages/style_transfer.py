"""Neural style transfer (course week 4): Gatys' optimization with live progress and a stop
button; fast style, a network that styles in one pass, on an image, a video or the live
camera; Gram matrices of the style and of the generated image; and what VGG19's layers
respond to (feature maps, and the nine patches that most activate a unit).

The costs and the optimization live in ``core.style.neural_style``, fast style in
``core.style.fast``; the transfer and a video are jobs (``ui.jobs``), the other sections
fragments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
import torch

from core.runtime import weights
from core.runtime.examples import PHOTOS, STYLES, example_image
from core.runtime.jobs import JobHandle
from core.style import fast
from core.style import neural_style as style
from ui import state
from ui.camera import live_camera
from ui.charts import Curve, curves_figure
from ui.errors import shown_user_errors
from ui.fields import bounded_number
from ui.image_input import image_input, png_download
from ui.jobs import JobView, job_handle, run_job
from ui.model_status import weights_ready
from ui.models import loaded, on_device, vgg_features
from ui.page import page_header, section_tabs
from ui.video import chosen_video, run_video_job, video_job_view

SIZES = (64, 128, 256, 384, 512, 768, 1024)
STYLE_WEIGHTS = (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9)
LEARN_LAYERS = {f"Layer {block}": f"conv{block}_1" for block in range(1, 6)}
LEARN_SIDE = 224
LAYER_CHOICES = [
    f"conv{block}_{conv}" for block, convs in enumerate((2, 2, 4, 4, 4), start=1) for conv in range(1, convs + 1)
]  # VGG19's convolutions, for the content layer


def ready(where: str) -> bool:
    return weights_ready("vgg19", "style transfer and the feature viewers", key=f"style-download-{where}")


# -- the transfer -----------------------------------------------------------------------------------------


def settings_panel(device: torch.device) -> style.StyleConfig | None:
    """The run's settings, or None after showing why they cannot be used."""
    largest = style.largest_side(device)
    sizes = [size for size in SIZES if size <= largest]
    default_size = 512 if device.type == "cuda" else 256
    columns = st.columns(4)
    size = columns[0].selectbox(
        "Image size (longest side)",
        sizes,
        index=sizes.index(default_size),
        key="style-size",
        help=f"Up to {largest} px on {device.type}, which bounds the memory a run takes.",
    )
    iterations = bounded_number("Iterations", 1, 2000, 150, key="style-iterations", where=columns[1])
    init = columns[2].selectbox("Start from", ["content", "noise", "style"], key="style-init")
    optimizer = columns[3].selectbox(
        "Optimizer", ["adam", "lbfgs"], format_func={"adam": "Adam", "lbfgs": "L-BFGS"}.get, key="style-optimizer"
    )
    columns = st.columns(4)
    beta = columns[0].select_slider(
        "Style weight β (α = 1)",
        STYLE_WEIGHTS,
        value=style.StyleConfig.style_weight,
        format_func=lambda v: f"{v:.0e}",
        key="style-beta",
    )
    tv_weight = bounded_number(
        "Total-variation weight", 0.0, 1e6, 0.0, number_format="%.3g", key="style-tv", where=columns[1]
    )
    scale = columns[2].slider(
        "Style scale",
        0.25,
        2.0,
        1.0,
        0.05,
        key="style-scale",
        help="The style image's size relative to the generated image: larger strokes above 1.",
    )
    preserve = columns[3].checkbox("Preserve the content's colours", key="style-preserve")
    more = advanced_settings()
    if None in (iterations, tv_weight) or more is None:
        return None
    with shown_user_errors():
        return style.StyleConfig(
            style_weight=beta,
            tv_weight=tv_weight,
            iterations=iterations,
            image_size=size,
            init=init,
            optimizer=optimizer,
            style_scale=scale,
            preserve_colors=preserve,
            **more,
        )
    return None


def advanced_settings() -> dict | None:
    """The settings under "Layers, learning rate, seed" as ``StyleConfig`` arguments, or None."""
    with st.expander("Layers, learning rate, seed"):
        columns = st.columns(6)
        content_layer = columns[0].selectbox(
            "Content layer", LAYER_CHOICES, index=LAYER_CHOICES.index(style.CONTENT_LAYER), key="style-content-layer"
        )
        weights = {
            name: bounded_number(
                f"λ {name}", 0.0, 10.0, 0.2, step=0.05, key=f"style-lambda-{name}", where=columns[index + 1]
            )
            for index, name in enumerate(style.STYLE_LAYERS)
        }
        columns = st.columns(4)
        numbers = dict(
            learning_rate=bounded_number(
                "Adam learning rate", 1e-4, 1.0, 0.02, number_format="%.4f", key="style-lr", where=columns[0]
            ),
            seed=bounded_number("Seed", 0, 2**31 - 1, 0, key="style-seed", where=columns[1]),
            preview_every=bounded_number("Preview every N steps", 1, 500, 10, key="style-preview", where=columns[2]),
        )
        normalized = columns[3].checkbox("Course normalization of J_content (1 / 4 n_H n_W n_C)", key="style-norm")
    if None in (*numbers.values(), *weights.values()):
        return None
    return dict(content_layer=content_layer, style_weights=weights, normalized_content=normalized, **numbers)


def size_notes(content: np.ndarray, styles: list[np.ndarray], config: style.StyleConfig) -> None:
    """Say when an image is scaled down to the chosen size, or a style image up."""
    if max(content.shape[:2]) > config.image_size:
        st.caption(
            f"The content image ({content.shape[1]}×{content.shape[0]}) is scaled to {config.image_size} px "
            "on its longest side."
        )
    target = round(config.image_size * config.style_scale)
    for index, image in enumerate(styles, start=1):
        if max(image.shape[:2]) < target / 2:
            st.info(
                f"Style image {index} ({image.shape[1]}×{image.shape[0]}) is much smaller than the {target} px "
                "it is used at; it is scaled up, which blurs its strokes. A larger style image, or a smaller "
                "style scale, keeps them sharp."
            )


def cost_curves(history: list[dict[str, float]]) -> go.Figure:
    """Every part of J by step on a log scale, each layer's style cost dotted (the
    total-variation cost only when it has a weight)."""
    steps = list(range(1, len(history) + 1))
    curves = [
        Curve(name, steps, [losses[name] for losses in history], dashed=name.startswith("style "))
        for name in history[0]
        if name != "tv" or any(losses["tv"] for losses in history)
    ]
    return curves_figure(curves, x_title="step", y_title="cost (unweighted parts)", log_y=True)


@on_device
def transfer_section(device: torch.device) -> None:
    """Not a fragment: Stop, a page-level click, interrupts the running optimization."""
    if not ready("transfer"):
        return
    content_column, style_column = st.columns(2)
    with content_column:
        content = image_input("style-content", label="Content image C", default_example="astronaut")
    with style_column:
        style_image = image_input(
            "style-style", label="Style image S", examples=STYLES + PHOTOS, default_example="hubble_deep_field"
        )
        second = None
        blending = st.toggle("Blend a second style", key="style-blend")
        if blending:
            second = image_input(
                "style-second",
                label="Second style image",
                examples=STYLES + PHOTOS,
                default_example="immunohistochemistry",
            )
            share = st.slider("Weight of the second style", 0.0, 1.0, 0.5, 0.05, key="style-share")
    config = settings_panel(device)
    if content is None or style_image is None or config is None or (blending and second is None):
        st.info("Choose a content and a style image to start.")
        return
    styles = [(style_image, 1.0 - share), (second, share)] if blending else [(style_image, 1.0)]
    size_notes(content, [image for image, _ in styles], config)
    run_job(TRANSFER, style.StyleJob(config, content, styles, vgg_features(str(device))))


def show_progress(handle: JobHandle[style.StyleProgress]) -> None:
    """While it runs: the latest preview of G beside the costs so far."""
    preview_column, chart_column = st.columns([1, 2])
    step, preview = latest_preview(handle)
    if preview is not None:
        preview_column.image(preview, caption=f"G at step {step}")
    chart_column.plotly_chart(cost_curves([progress.losses for progress in handle.records]), key="style-curves")


def latest_preview(handle: JobHandle[style.StyleProgress]) -> tuple[int, np.ndarray | None]:
    shown = previews(handle)
    return (max(shown), shown[max(shown)]) if shown else (0, None)


def previews(handle: JobHandle[style.StyleProgress] | None) -> dict[int, np.ndarray]:
    """The run's previews of G by step (the last one is its best image)."""
    return {} if handle is None else {p.step: p.preview for p in handle.records if p.preview is not None}


def show_result(handle: JobHandle[style.StyleProgress]) -> None:
    """Content, style and the best G side by side, the curves and the download."""
    job: style.StyleJob = handle.job
    history = [progress.losses for progress in handle.records]
    result = job.result(handle.last.record)
    best = min(losses["total"] for losses in history)
    st.caption(
        f"The lowest J was {best:.4g}, after {len(history)} of {job.config.iterations} steps. Shown: the best G."
    )
    columns = st.columns(3)
    columns[0].image(job.content, caption="Content C")
    columns[1].image(job.styles[0][0], caption="Style S")
    columns[2].image(result, caption=f"Generated G ({result.shape[1]}×{result.shape[0]})")
    png_download("Download G (PNG)", result, "style-transfer.png", key="style-download-png")
    st.plotly_chart(cost_curves(history), key="style-curves-final")
    st.dataframe(
        pd.DataFrame([{"cost": name, "value": f"{value:.5g}"} for name, value in history[-1].items()]), hide_index=True
    )


TRANSFER = JobView(
    key="style",
    start="Run style transfer",
    start_icon=":material/brush:",
    kept="the best image so far is kept",
    live=show_progress,
    result=show_result,
)


# -- fast style ---------------------------------------------------------------------------------------------

FAST_ON = ("An image", "A video", "The live camera")
FAST_FROM = ("A style image", "One of 26 trained styles")
NO_SECOND = "none"


@on_device
def fast_section(device: torch.device) -> None:
    """Not a fragment: a video's Stop is a page-level click."""
    st.markdown(
        "A network trained once on J(G) styles any image in one pass (Ghiasi et al., 2017): a MobileNet reads "
        "the style image into 100 numbers, the style vector, and a transform network conditioned on them turns "
        "the content into G. Strength moves the vector from the content's own (0) to the style's (1). The "
        "network works at 384 px on the longer side; G is scaled back to the content's size. Or take one of the "
        "26 styles that one network learned together (Dumoulin et al., 2017), or a mix of two: the mix combines "
        "their normalization parameters into a style between them."
    )
    stylizer = loaded("fast_style", device)
    if stylizer is None:
        return
    on = st.radio("Apply it to", FAST_ON, horizontal=True, key="fast-on")
    source = st.radio("Style from", FAST_FROM, horizontal=True, key="fast-from")
    content_column, style_column = st.columns(2)
    content = None
    if on == FAST_ON[0]:
        with content_column:
            content = image_input("fast-content", label="Content image C", default_example="astronaut")
    with style_column:
        if source == FAST_FROM[0]:
            style_image = image_input(
                "fast-style", label="Style image S", examples=STYLES + PHOTOS, default_example="hubble_deep_field"
            )
            presets = None
        else:
            style_image, presets = None, preset_choice(stylizer, content)  # the widgets offer only valid numbers
    strength = st.slider(
        "Strength",
        0.0,
        1.0,
        1.0,
        0.05,
        key="fast-strength",
        help="With a style image: from the content's own style vector (0) to the style's (1). With a trained "
        "style: from the content's pixels (0) to G's (1).",
    )
    if style_image is None and presets is None:
        st.info("Choose a style image.")
        return
    if on == FAST_ON[0]:
        if content is not None:
            fast_image(device, stylizer, content, style_image, presets, strength)
        return
    with shown_user_errors():
        if presets is not None:
            work = fast.FastStyleVideo(
                weights.SharedModel("fast_style", stylizer), tuple(presets.tolist()), strength, presets=True
            )
        else:
            vector = tuple(stylizer.style_vector(style_image).ravel().tolist())
            work = fast.FastStyleVideo(weights.SharedModel("fast_style", stylizer), vector, strength)
        if on == FAST_ON[1]:
            video = chosen_video("fast-video")
            if video is not None:
                run_video_job(FAST_VIDEO, work, video)
        else:
            live_camera("fast-live", work, device)


def preset_choice(stylizer: fast.FastStyle, content: np.ndarray | None) -> np.ndarray:
    """The 26 styles on the content (or the astronaut), and the weights of the one or two chosen."""
    shown = content if content is not None else example_image("astronaut")
    with st.expander("The 26 trained styles on this image", expanded=True), shown_user_errors():
        with st.spinner("Styling a thumbnail 26 times…"):
            sheet = state.PRESET_SHEETS.get(shown, "sheet", lambda: stylizer.preset_sheet(shown, side=96))
        st.image(sheet, caption=[f"{number}" for number in range(1, fast.PRESET_COUNT + 1)], width=72)
    numbers = list(range(1, fast.PRESET_COUNT + 1))
    first = st.selectbox("Trained style", numbers, index=0, key="fast-preset")
    second = st.selectbox("Mixed with", [NO_SECOND, *numbers], key="fast-preset-second")
    if second == NO_SECOND:
        return fast.preset_weights(first - 1)
    mix = st.slider(f"Share of style {second}", 0.0, 1.0, 0.5, 0.05, key="fast-preset-mix")
    return fast.preset_weights(first - 1, int(second) - 1, mix)


def fast_image(
    device: torch.device,
    stylizer: fast.FastStyle,
    content: np.ndarray,
    style_image: np.ndarray | None,
    presets: np.ndarray | None,
    strength: float,
) -> None:
    """G beside C and S (or the trained style), its times, its download, and its costs beside
    Gatys' result."""
    with shown_user_errors(), st.spinner("Styling…"):
        if presets is not None:
            settings = (tuple(presets.tolist()), strength)
            result = state.FAST_PRESETS.get(
                content, settings, lambda: fast.fast_preset(stylizer, content, presets, strength)
            )
        else:
            result = fast_result(stylizer, content, style_image, strength)
        columns = st.columns(3)
        columns[0].image(content, caption="Content C")
        if style_image is not None:
            columns[1].image(style_image, caption="Style S")
        else:
            columns[1].markdown(f"**Trained style:** {fast.preset_words(presets)}")
        columns[2].image(result.image, caption=f"Fast style G ({result.image.shape[1]}×{result.image.shape[0]})")
        reading = f"Reading the style: {result.style_ms:.0f} ms (once per style). " if style_image is not None else ""
        st.caption(f"{reading}Styling the content: {result.stylize_ms:.0f} ms (every image or frame).")
        png_download("Download G (PNG)", result.image, "fast-style.png", key="fast-download-png")
        if style_image is not None:
            compare_with_gatys(device, content, style_image, result)


def fast_result(
    stylizer: fast.FastStyle, content: np.ndarray, style_image: np.ndarray, strength: float
) -> fast.FastResult:
    """Styled once per (content, style, strength) in this session, not on every rerun."""

    def make() -> tuple[np.ndarray, fast.FastResult]:
        return style_image, fast.fast_style(stylizer, content, style_image, strength)

    used, result = state.FAST_RESULTS.get(content, (id(style_image), strength), make)
    if used is not style_image:  # another image has taken the id of one that is gone
        state.FAST_RESULTS.clear()
        used, result = state.FAST_RESULTS.get(content, (id(style_image), strength), make)
    return result


def compare_with_gatys(
    device: torch.device, content: np.ndarray, style_image: np.ndarray, result: fast.FastResult
) -> None:
    """Fast style's G and the last finished optimization's G on the same C and S: time, and
    the costs measured by the same VGG19 (when its weights are here)."""
    handle = job_handle(TRANSFER.key)
    finished = handle is not None and handle.last is not None and not handle.active
    job: style.StyleJob | None = handle.job if finished else None
    same = (
        job is not None
        and len(job.styles) == 1
        and np.array_equal(job.content, content)
        and np.array_equal(job.styles[0][0], style_image)
    )
    if not weights.get_weights("vgg19").is_cached():
        st.caption("The costs J_content and J_style of G need VGG19's weights (the Models & weights page).")
        return
    rows = [("Fast style", (result.style_ms + result.stylize_ms) / 1e3, result.image)]
    if same:
        rows.append((f"Gatys, {len(handle.steps)} steps", handle.elapsed_s, job.result(handle.last.record)))
    key = (id(result), id(handle) if same else None, len(handle.steps) if same else 0)
    kept = state.FAST_COSTS.get()
    if kept is not None and kept[0] == key and kept[1] is result:
        measured = kept[2]
    else:
        features = vgg_features(str(device))
        with st.spinner("Measuring J_content and J_style with VGG19…"):
            measured = [(name, s, style.image_costs(features, content, style_image, g)) for name, s, g in rows]
        state.FAST_COSTS.set((key, result, measured))
    table = [
        {"G made by": name, "time s": f"{s:.3g}", "J_content": f"{j['content']:.4g}", "J_style": f"{j['style']:.4g}"}
        for name, s, j in measured
    ]
    st.dataframe(pd.DataFrame(table), hide_index=True)
    if not same:
        st.caption("Run the Style transfer tab on the same two images to compare with Gatys' optimization here.")


def show_fast_video(handle: JobHandle[None]) -> None:
    frames = handle.records
    if frames:
        st.caption(f"{len(frames):,} frames styled, {np.median([frame.work_ms for frame in frames]):.0f} ms each.")


FAST_VIDEO = video_job_view(
    "fast-video", "Style the video", "the video styled so far plays", "fast-style.mp4", show_fast_video
)


# -- Gram matrices ----------------------------------------------------------------------------------------


@st.fragment
@on_device
def gram_section(device: torch.device) -> None:
    if not ready("gram"):
        return
    st.markdown(
        "The style matrix of layer l: $G_{kk'} = \\sum_i \\sum_j a_{ijk}\\, a_{ijk'}$, how strongly "
        "channels k and k′ fire together. Shown per position (÷ n_H n_W) for the first 64 channels."
    )
    columns = st.columns(2)
    with columns[0]:
        image = image_input("gram-image", label="Image", examples=STYLES + PHOTOS, default_example="hubble_deep_field")
    layer = columns[1].selectbox("Layer", style.STYLE_LAYERS, key="gram-layer")
    if image is None:
        return
    extractor = style.VGGFeatures(vgg_features(str(device)), [layer]).to(device)
    shown = [("this image", image)]
    shown_previews = previews(job_handle(TRANSFER.key))
    if shown_previews:
        steps = list(shown_previews)
        step = st.select_slider(
            "Generated image G at step",
            steps,
            value=steps[-1],
            key="gram-step",
            help="The previews of the last run (the last one is its best image): watch G's Gram "
            "matrix approach the style's.",
        )
        shown.append((f"G at step {step}", shown_previews[step]))
    figures = st.columns(len(shown))
    for index, (column, (title, pixels)) in enumerate(zip(figures, shown)):
        with st.spinner(f"Gram matrix of {title} at {layer}…"):
            gram = style.image_gram(extractor, style.to_tensor(pixels, 256).to(device), layer)[:64, :64].cpu()
        figure = px.imshow(
            gram.numpy(), color_continuous_scale="Magma", labels=dict(x="k′", y="k", color="G / n_H n_W")
        )
        figure.update_layout(height=380, margin=dict(t=30), title=f"{layer}, {title}")
        column.plotly_chart(figure, key=f"gram-{index}")
    if len(shown) == 1:
        st.caption("Run a style transfer to compare with the generated image's Gram matrix as it converges.")


# -- what deep ConvNets learn -------------------------------------------------------------------------------


@st.fragment
@on_device
def learn_section(device: torch.device) -> None:
    if not ready("learn"):
        return
    st.markdown(
        "Pick a unit (a channel) in a layer and find the nine image patches that activate it most, over the "
        "example photos and your image; deeper layers respond to larger, more complex patterns "
        "(Zeiler and Fergus, 2013)."
    )
    columns = st.columns(2)
    with columns[0]:
        image = image_input("learn-image", label="Your image", default_example="chelsea")
    layer = LEARN_LAYERS[columns[1].radio("Layer", list(LEARN_LAYERS), horizontal=True, key="learn-layer")]
    features = vgg_features(str(device))
    extractor = style.VGGFeatures(features, [layer]).to(device)
    channels = extractor.features[style.layer_names(features)[layer] - 1].out_channels
    unit = bounded_number(f"Unit (0 … {channels - 1})", 0, channels - 1, 0, key=f"learn-unit-{layer}", where=columns[1])
    field_ = style.receptive_field(features, layer)
    columns[1].caption(
        f"{layer}: {channels} channels; each unit sees a {field_.size}×{field_.size} px patch "
        f"(stride {field_.stride}) of a {LEARN_SIDE}-px image."
    )
    if image is None or unit is None:
        return
    names = [photo.name for photo in PHOTOS + STYLES]
    pictures = [style.to_tensor(example_image(name), LEARN_SIDE) for name in names] + [
        style.to_tensor(image, LEARN_SIDE)
    ]
    with st.spinner(f"Running VGG19 to {layer} on {len(pictures)} images…"):
        activations = style.layer_activations(extractor, [picture.to(device) for picture in pictures], layer)
    st.image(
        style.feature_montage(activations[-1]),
        caption=f"The first 16 of {channels} feature maps of {layer} for your image",
        clamp=True,
    )
    patches = style.top_patches(activations, [picture.shape[-2:] for picture in pictures], field_, unit)
    crops = [style.patch_image(pictures, patch) for patch in patches]
    st.image(
        crops,
        width=96,
        caption=[f"{(names + ['your image'])[patch.image_index]}: {patch.activation:.2f}" for patch in patches],
    )
    st.caption(f"The nine patches where unit {unit} of {layer} is largest, over {len(pictures)} images.")


SECTIONS = {
    "Style transfer": transfer_section,
    "Fast style": fast_section,
    "Gram matrices": gram_section,
    "What ConvNets learn": learn_section,
}

if __name__ == "__main__":  # Streamlit runs pages as __main__
    page_header(
        "Neural style transfer",
        "Course week 4 — J(G) = α J_content(C, G) + β J_style(S, G) minimized over G's pixels with VGG19 "
        "(Gatys et al., 2015); the costs live in `core.style.neural_style` and are tested against loops of "
        "the formulas.",
    )
    section_tabs(SECTIONS)
