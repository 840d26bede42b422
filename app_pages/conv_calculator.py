"""Conv calculator (course week 1): sizes, convolution step by step, edges on your image,
pooling, layer tables, why convolutions, and 1×1 / 1D / 3D convolutions.

Each section is a fragment, so using one reruns only that section."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.foundations import conv, costs
from core.runtime.device import pick_device
from core.runtime.examples import PHOTOS
from core.runtime.images import fit_within
from ui.errors import shown_user_errors
from ui.fields import bounded_number
from ui.image_input import DISPLAY_SIDE, display_jpeg, image_input
from ui.layer_table import layer_frame, with_separators
from ui.matrix import MAX_SIDE, cells_figure, matrix_editor, show_matrix
from ui.page import page_header, section_tabs

MAX_EDGE_SIDE = 2048
MAX_STEP_PADDING = 8  # a padded 16×16 input stays a readable 32×32 heat map
POOL_DISPLAY_WIDTH = 480  # the input photo's width on screen in the pooling section


def whole(label: str, value: int, key: str, where=st) -> int:
    """A whole-number field; range checks are core's, so bad values get core's message."""
    return int(where.number_input(label, value=value, step=1, key=key))


@st.fragment
def output_size_section() -> None:
    st.subheader("Output size")
    size_h, size_w, filter_col, stride_col, dilation_col = st.columns(5)
    n_h = whole("n_H (input height)", 6, "os-nh", size_h)
    n_w = whole("n_W (input width)", 6, "os-nw", size_w)
    f = whole("f (filter size)", 3, "os-f", filter_col)
    s = whole("s (stride)", 1, "os-s", stride_col)
    d = whole("d (dilation)", 1, "os-d", dilation_col)
    p = padding_choice(f)
    out_h = out_w = None
    if p is not None:
        with shown_user_errors():
            out_h, out_w = conv.output_size(n_h, f, p, s, d), conv.output_size(n_w, f, p, s, d)
    if out_h is None:
        return
    f_term = "f" if d == 1 else "d(f-1)-1"
    f_value = str(f) if d == 1 else f"{d}({f}-1)-1"
    for name, n, out in (("H", n_h, out_h), ("W", n_w, out_w)):
        st.latex(
            rf"n_{{{name}}}' = \left\lfloor \frac{{n + 2p - {f_term}}}{{s}} \right\rfloor + 1"
            rf" = \left\lfloor \frac{{{n} + 2 \cdot {p} - {f_value}}}{{{s}}} \right\rfloor + 1 = {out}"
        )
        dropped = conv.dropped_by_floor(n, f, p, s, d)
        if dropped:
            st.warning(
                f"The windows do not tile the {name} side exactly: the floor drops the last {dropped} "
                "row(s)/column(s) of the padded input."
            )
    st.success(f"Output: {out_h} × {out_w} (padding p = {p})")
    transposed_size_part()


def padding_choice(f: int) -> int | None:
    """p for "valid", "same" (saying when an even f makes it off by one) or as typed."""
    preset = st.segmented_control("Padding", ["valid", "same", "custom"], default="valid", key="os-preset") or "valid"
    if preset == "custom":
        return whole("p (padding)", 1, "os-p")
    if preset == "valid":
        return 0
    p = None
    with shown_user_errors():
        p = conv.same_padding(f)
    if p is not None and f % 2 == 0:
        st.info(
            f"With an even f = {f}, p = (f − 1)/2 = {(f - 1) / 2} is not whole: "
            f"p = {p} is used, so 'same' is off by one."
        )
    return p


def transposed_size_part() -> None:
    st.markdown("**Transposed convolution** (upsampling, e.g. in U-Net)")
    labels, defaults = ["i (input)", "f", "p", "s", "d", "output padding"], [2, 3, 1, 2, 1, 1]
    columns = st.columns(len(labels))
    i, tf, tp, ts, td, op = (
        whole(label, default, f"tr-{index}", column)
        for index, (label, default, column) in enumerate(zip(labels, defaults, columns))
    )
    out = None
    with shown_user_errors():
        out = conv.transposed_output_size(i, tf, tp, ts, td, op)
    if out is not None:
        st.latex(
            rf"o = s(i-1) - 2p + d(f-1) + \text{{output\_padding}} + 1"
            rf" = {ts}({i}-1) - 2\cdot{tp} + {td}({tf}-1) + {op} + 1 = {out}"
        )


STEP_PRESETS = {
    "Course 6×6 example, vertical filter": (conv.COURSE_6X6, conv.COURSE_VERTICAL_FILTER),
    "Step image 10 | 0 (light to dark)": (np.array([[10, 10, 10, 0, 0, 0]] * 6), conv.COURSE_VERTICAL_FILTER),
    "Step image 0 | 10 (dark to light)": (np.array([[0, 0, 0, 10, 10, 10]] * 6), conv.COURSE_VERTICAL_FILTER),
}


@st.fragment
def step_by_step_section() -> None:
    st.subheader("Convolution step by step")
    preset = st.selectbox("Start from", list(STEP_PRESETS), key="sb-preset")
    x_default, k_default = STEP_PRESETS[preset]
    left, right = st.columns(2)
    with left:
        x = matrix_editor("Input", x_default, "sb-input")
    with right:
        k = matrix_editor("Filter", k_default, "sb-filter")
    stride_col, padding_col, flip_col = st.columns(3)
    stride = bounded_number("Stride s", 1, MAX_SIDE, 1, key="sb-s", where=stride_col)
    padding = bounded_number("Padding p", 0, MAX_STEP_PADDING, 0, key="sb-p", where=padding_col)
    flipped = flip_col.toggle(
        "Textbook convolution (flip the filter)",
        key="sb-flip",
        help="Mathematics flips the filter; deep learning's 'convolution' is cross-correlation.",
    )
    if x is None or k is None or stride is None or padding is None:
        return
    used = np.flip(k, axis=(0, 1)) if flipped else k
    with shown_user_errors() as outcome:
        output = conv.cross_correlate(x, used, stride, padding)
    if outcome.failed:
        return
    st.markdown(
        f"**Output** ({output.shape[0]} × {output.shape[1]}, {'convolution' if flipped else 'cross-correlation'}):"
    )
    show_matrix(output)
    row_col, col_col = st.columns(2)
    row = bounded_number("Output row", 0, output.shape[0] - 1, 0, key="sb-row", where=row_col)
    col = bounded_number("Output column", 0, output.shape[1] - 1, 0, key="sb-col", where=col_col)
    if row is None or col is None:
        return
    step = conv.window_step(x, used, row, col, stride, padding)
    padded, (f_h, f_w) = conv.pad(x, padding), used.shape
    unpadded = (padding, padding, *x.shape) if padding else None
    st.plotly_chart(cells_figure(padded, (step.top, step.left, f_h, f_w), unpadded), key="sb-figure")
    window = padded[step.top : step.top + f_h, step.left : step.left + f_w]
    terms = " + ".join(f"({a:g})({b:g})" for a, b in zip(window.ravel(), used.ravel()))
    st.markdown(f"Cell ({row}, {col}) = {terms} = **{step.total:g}**")
    if flipped:
        st.caption("The filter used is the one you typed, flipped left–right and top–bottom.")


@st.fragment
def edge_section() -> None:
    st.subheader("Edge detection on your image")
    image = image_input("edges", examples=PHOTOS)
    if image is None:
        return
    if max(image.shape[:2]) > MAX_EDGE_SIDE:
        st.info(f"The image is {image.shape[1]}×{image.shape[0]}; it is shrunk to fit {MAX_EDGE_SIDE}×{MAX_EDGE_SIDE}.")
        image = fit_within(image, MAX_EDGE_SIDE)
    family_col, direction_col, mode_col = st.columns(3)
    family = family_col.selectbox("Filter", [*conv.VERTICAL_EDGE_FILTERS, "Custom 3×3"], key="edge-filter")
    horizontal = (
        direction_col.radio(
            "Edges", ["vertical", "horizontal"], horizontal=True, key="edge-direction", disabled=family == "Custom 3×3"
        )
        == "horizontal"
    )
    per_channel = mode_col.radio("Input", ["gray", "RGB (3×3×3 filter)"], horizontal=True, key="edge-mode") != "gray"
    absolute = st.toggle("Absolute value (edge strength, either direction)", value=True, key="edge-abs")
    if family == "Custom 3×3":
        kernel = matrix_editor("Custom filter", np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]]), "edge-custom")
        if kernel is None:
            return
        if kernel.shape != (3, 3):
            st.error("The custom filter must be 3×3.")
            return
    else:
        kernel = conv.edge_filter(family, horizontal)
        show_matrix(kernel, "The filter (per channel when RGB is chosen)")
    with shown_user_errors() as outcome:
        device = pick_device()
    if outcome.failed:
        return
    with shown_user_errors() as outcome:
        response = conv.edge_map(image, kernel, per_channel, str(device))
    if outcome.failed:
        return
    original_col, edges_col = st.columns(2)
    original_col.image(display_jpeg(image), caption=f"Input {image.shape[1]}×{image.shape[0]}×3", width="stretch")
    edges_col.image(
        fit_within(conv.to_display(response, absolute), DISPLAY_SIDE),
        width="stretch",
        output_format="JPEG",
        caption=f"Edge map {response.shape[1]}×{response.shape[0]} (n − f + 1 = n − 2), on {device}",
    )


POOL_PRESETS = {
    "Course max-pool example": (np.array([[1, 3, 2, 1], [2, 9, 1, 1], [1, 3, 2, 3], [5, 6, 1, 2]]), "max"),
    "Course average-pool example": (np.array([[1, 3, 2, 1], [2, 9, 1, 1], [1, 4, 2, 3], [5, 6, 1, 2]]), "avg"),
}


@st.fragment
def pooling_section() -> None:
    st.subheader("Pooling")
    st.markdown("Pooling has hyperparameters (f, s, max or average) but **no parameters to learn**.")
    preset = st.selectbox("Start from", list(POOL_PRESETS), key="pool-preset")
    values_default, mode_default = POOL_PRESETS[preset]
    values = matrix_editor("Input", values_default, "pool-input")
    f_col, s_col, mode_col = st.columns(3)
    f = whole("f", 2, "pool-f", f_col)
    s = whole("s", 2, "pool-s", s_col)
    mode = mode_col.radio(
        "Mode", ["max", "avg"], index=["max", "avg"].index(mode_default), horizontal=True, key=f"pool-mode-{preset}"
    )
    if values is None:
        return
    with shown_user_errors() as outcome:
        show_matrix(conv.pool(values, f, s, mode), f"{mode} pooling, f = {f}, s = {s}")
    if outcome.failed:
        return
    st.markdown("**On a photo** (each colour channel pooled separately)")
    image = image_input("pool-image", examples=PHOTOS, default_example="chelsea")
    if image is None:
        return
    image = fit_within(image, MAX_EDGE_SIDE)
    with shown_user_errors() as outcome:
        pooled = conv.pool_image(image, f, s, mode, str(pick_device()))
    if outcome.failed:
        return
    before, after = st.columns(2)
    shown = min(image.shape[1], POOL_DISPLAY_WIDTH)  # both drawn at one scale, so the shrinking shows
    before.image(display_jpeg(image), caption=f"Input {image.shape[1]}×{image.shape[0]}×3", width=shown)
    after.image(
        fit_within(pooled, DISPLAY_SIDE),
        caption=f"Pooled {pooled.shape[1]}×{pooled.shape[0]}×3, drawn at the input's scale",
        width=max(1, round(shown * pooled.shape[1] / image.shape[1])),
        output_format="JPEG",
    )


LAYER_COLUMNS = ["type", "f", "s", "p", "filters", "units", "mode"]


def layers_frame(layers: list[costs.Layer]) -> pd.DataFrame:
    return pd.DataFrame([layer.settings() for layer in layers], columns=LAYER_COLUMNS)


def editor_settings(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Editor rows -> settings; blank cells are left out, so core names what is missing."""
    rows = []
    for record in frame.to_dict("records"):
        filled = {key: value for key, value in record.items() if not pd.isna(value)}
        rows.append(
            {
                key: int(value) if isinstance(value, float) and value.is_integer() else value
                for key, value in filled.items()
            }
        )
    return rows


@st.fragment
def network_table_section() -> None:
    st.subheader("Network table")
    preset = st.selectbox("Preset", list(costs.PRESETS), key="net-preset")
    shape_default, layers_default = costs.PRESETS[preset]
    h_col, w_col, c_col = st.columns(3)
    shape = (
        whole("Input H", shape_default[0], f"net-h-{preset}", h_col),
        whole("Input W", shape_default[1], f"net-w-{preset}", w_col),
        whole("Input C", shape_default[2], f"net-c-{preset}", c_col),
    )
    edited = st.data_editor(
        layers_frame(layers_default),
        num_rows="dynamic",
        key=f"net-layers-{preset}",
        hide_index=True,
        column_config={
            "type": st.column_config.SelectboxColumn("type", options=list(costs.LAYER_KINDS), required=True),
            "mode": st.column_config.SelectboxColumn("mode", options=["max", "avg"]),
            **{
                name: st.column_config.NumberColumn(name, step=1, format="%d")
                for name in ["f", "s", "p", "filters", "units"]
            },
        },
    )
    layers = [costs.Layer.from_settings(row) for row in editor_settings(edited)]
    with shown_user_errors() as outcome:
        rows = costs.layer_table(shape, layers)
    if outcome.failed:
        return
    table = layer_frame([row.label for row in rows], rows, total=True)
    st.dataframe(with_separators(table), hide_index=True)
    st.caption("MACs are multiply–accumulates (1 MAC = 2 FLOPs); biases and pooling comparisons are not counted.")
    st.download_button("Download CSV", table.to_csv(index=False), file_name="layer_table.csv", mime="text/csv")
    if layers:
        if costs.matches_torch(shape, layers):
            st.success(
                "PyTorch agrees: the model below, built and run on a zero input, has these shapes, parameters and "
                "MACs (FlopCounterMode)."
            )
        else:
            st.error("PyTorch disagrees with the table; please report this network.")
        st.code(costs.sequential_code(shape, layers), language="python")


@st.fragment
def why_convolutions_section() -> None:
    st.subheader("Why convolutions")
    cols = st.columns(7)
    labels = ["H", "W", "C", "f", "filters", "s", "p"]
    defaults = [32, 32, 3, 5, 6, 1, 0]
    h, w, c, f, filters, s, p = (
        whole(label, default, f"why-{label}", column) for label, default, column in zip(labels, defaults, cols)
    )
    with shown_user_errors() as outcome:
        numbers = costs.conv_vs_dense((h, w, c), f, filters, s, p)
    if outcome.failed:
        return
    out = " × ".join(map(str, numbers.conv.shape))
    conv_col, dense_col = st.columns(2)
    conv_col.metric("Conv layer parameters", f"{numbers.conv.params:,}", help=f"({f}·{f}·{c} + 1) · {filters}")
    dense_col.metric(
        "Fully connected parameters",
        f"{numbers.dense_weights + numbers.dense_biases:,}",
        help=f"{numbers.inputs:,} × {numbers.outputs:,} weights + {numbers.dense_biases:,} biases",
    )
    st.markdown(
        f"{h} × {w} × {c} → {out}: the conv layer has **{numbers.conv.params:,}** parameters; a fully connected layer "
        f"between the same volumes has {numbers.inputs:,} × {numbers.outputs:,} = "
        f"**{numbers.dense_weights:,}** weights (≈ {numbers.dense_weights / numbers.conv.params:,.0f}× more). "
        "Parameter sharing and sparse connections make the difference."
    )


ND_PRESETS = {
    "1×1: 28×28×192 → 32 filters": (2, (28, 28, 192), [(1, 32, 1, 0)]),
    "3D: 14×14×14×1 → 16 × 5×5×5 → 32 × 5×5×5×16": (3, (14, 14, 14, 1), [(5, 16, 1, 0), (5, 32, 1, 0)]),
    "1D: 14×1 signal → 16 × 5 → 32 × 5×16 (course ECG example)": (1, (14, 1), [(5, 16, 1, 0), (5, 32, 1, 0)]),
}


@st.fragment
def nd_section() -> None:
    st.subheader("1×1, 1D and 3D convolutions")
    preset = st.selectbox("Preset", list(ND_PRESETS), key="nd-preset")
    dims, shape_default, layers_default = ND_PRESETS[preset]
    text = st.text_input(
        "Input shape (spatial sizes, then channels)", ", ".join(map(str, shape_default)), key=f"nd-shape-{preset}"
    )
    edited = st.data_editor(
        pd.DataFrame(layers_default, columns=["f", "filters", "s", "p"]),
        num_rows="dynamic",
        key=f"nd-layers-{preset}",
        hide_index=True,
        column_config={
            name: st.column_config.NumberColumn(name, step=1, format="%d") for name in ["f", "filters", "s", "p"]
        },
    )
    with shown_user_errors() as outcome:
        shape = costs.parse_shape(text)
        chain = costs.conv_chain(shape, [costs.ConvSpec.from_settings(row) for row in editor_settings(edited)])
    if outcome.failed:
        return
    inputs = [shape] + [cost.shape for cost in chain[:-1]]
    rows = [
        {
            "layer": number,
            "input": " × ".join(map(str, before)),
            "output": " × ".join(map(str, cost.shape)),
            "parameters": cost.params,
            "MACs": cost.macs,
        }
        for number, (before, cost) in enumerate(zip(inputs, chain), start=1)
    ]
    if rows:
        st.dataframe(pd.DataFrame(rows).style.format({"parameters": "{:,}", "MACs": "{:,}"}), hide_index=True)
        dims = len(shape) - 1
        st.caption(f"{dims}-D convolution: each filter spans {'f' + {1: '', 2: '²', 3: '³'}[dims]} × channels values.")


SECTIONS = {
    "Output size": output_size_section,
    "Step by step": step_by_step_section,
    "Edge detection": edge_section,
    "Pooling": pooling_section,
    "Network table": network_table_section,
    "Why convolutions": why_convolutions_section,
    "1×1, 1D, 3D": nd_section,
}

if __name__ == "__main__":  # Streamlit runs pages as __main__; benchmarks import the sections
    page_header(
        "Conv calculator",
        "Course week 1 — every number below is computed by `core.foundations.conv` and `core.foundations.costs` "
        "and checked "
        "against PyTorch "
        "in the tests.",
    )
    section_tabs(SECTIONS)
