"""MobileNet cost estimator (course week 2, "MobileNet", "MobileNet Architecture",
"EfficientNet"): a normal against a depthwise-separable convolution in multiplications and
in measured time, MobileNet v1 with its width and resolution multipliers, MobileNetV2's
bottleneck, EfficientNet's compound scaling, and which small network is best on this server.

The arithmetic lives in ``core.architectures.mobilenet`` and ``core.architectures.registry``;
every number is checked against PyTorch in the tests.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from pandas.io.formats.style import Styler

from core.architectures import mobilenet as mn
from core.architectures import registry as arch
from core.runtime.jobs import JobHandle
from ui import state
from ui.charts import accuracy_scatter
from ui.errors import shown_user_errors
from ui.fields import bounded_number
from ui.jobs import JobView, run_job
from ui.page import page_header, section_tabs

REALISTIC = (112, 64, 3, 128)  # MobileNet's second block: 112×112×64 → 128
CONTENDERS = (
    "mobilenet_v2",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "resnet18",
    "resnet50",
)


def volumes_figure(n: int, n_c: int, side: int, n_c_out: int) -> go.Figure:
    """The three volumes side by side, drawn to scale (height = the spatial side, width =
    the channels): the input, after the depthwise step, after the pointwise step."""
    figure = go.Figure()
    scale = 100 / max(n, n_c, n_c_out)
    steps = [
        ("input", n, n_c, "#1f77b4"),
        ("after depthwise", side, n_c, "#ff7f0e"),
        ("after pointwise", side, n_c_out, "#2ca02c"),
    ]
    left = 0.0
    for label, height, depth, color in steps:
        width, tall = depth * scale, height * scale
        figure.add_shape(
            type="rect", x0=left, x1=left + width, y0=0, y1=tall, fillcolor=color, opacity=0.6, line=dict(color=color)
        )
        figure.add_annotation(
            x=left + width / 2, y=tall, text=f"{label}<br>{height}×{height}×{depth}", showarrow=False, yshift=18
        )
        left += width + 30
    figure.update_xaxes(visible=False, range=[-10, left])
    figure.update_yaxes(visible=False, range=[-5, 140])
    figure.update_layout(height=240, margin=dict(l=10, r=10, t=10, b=10))
    return figure


@st.fragment
def separable_section() -> None:
    st.subheader("Normal against depthwise-separable convolution")
    columns = st.columns(6)
    n = bounded_number("n (input side)", 1, 4096, 6, key="sep-n", where=columns[0])
    n_c = bounded_number("n_c (input channels)", 1, 4096, 3, key="sep-nc", where=columns[1])
    f = bounded_number("f (filter side)", 1, 15, 3, key="sep-f", where=columns[2])
    n_c_out = bounded_number("n_c′ (filters)", 1, 4096, 5, key="sep-ncout", where=columns[3])
    s = bounded_number("s (stride)", 1, 8, 1, key="sep-s", where=columns[4])
    p = bounded_number("p (padding)", 0, 16, 0, key="sep-p", where=columns[5])
    if None in (n, n_c, f, n_c_out, s, p):
        return
    with shown_user_errors() as outcome:
        cost = mn.separable_cost(n, n_c, f, n_c_out, s, p)
        by_torch = mn.separable_cost_by_torch(n, n_c, f, n_c_out, s, p)
    if outcome.failed:
        return
    state.SEPARABLE_SIZE.set((n, n_c, f, n_c_out))  # the Measured time tab times this layer too
    st.plotly_chart(volumes_figure(n, n_c, cost.output_side, n_c_out), key="sep-volumes")
    st.dataframe(separable_steps(cost, n_c, f, n_c_out), hide_index=True)
    st.latex(
        rf"\frac{{{cost.separable:,}}}{{{cost.normal:,}}} = {cost.ratio:.3f} = "
        rf"\frac{{1}}{{n_c'}} + \frac{{1}}{{f^2}} = \frac{{1}}{{{n_c_out}}} + \frac{{1}}{{{f * f}}}"
    )
    if by_torch == cost:
        st.success(
            "PyTorch agrees: nn.Conv2d(groups=n_c) and a 1×1 convolution, built without bias, make these "
            "multiplications (FlopCounterMode) and have these parameters."
        )
    else:
        st.error("PyTorch counts differently; please report these settings.")
    st.caption(
        "Multiplications as the course counts them, without biases (MobileNet follows each convolution with batch "
        "norm). The course's example is the default: 6×6×3, 3×3, 5 filters → 4×4×5."
    )


def separable_steps(cost: mn.SeparableCost, n_c: int, f: int, n_c_out: int) -> Styler:
    """The multiplications of each step with the course's formula filled in, and the parameters."""
    side = cost.output_side
    rows = [
        (
            "normal convolution",
            cost.normal,
            f"f·f·n_c · n_out² · n_c′ = {f}·{f}·{n_c} · {side}² · {n_c_out}",
            cost.normal_params,
        ),
        ("depthwise", cost.depthwise, f"f·f · n_out² · n_c = {f}·{f} · {side}² · {n_c}", f * f * n_c),
        ("pointwise (1×1)", cost.pointwise, f"n_c · n_out² · n_c′ = {n_c} · {side}² · {n_c_out}", n_c * n_c_out),
        ("depthwise-separable", cost.separable, "depthwise + pointwise", cost.separable_params),
    ]
    frame = pd.DataFrame(rows, columns=["step", "multiplications", "formula", "parameters"])
    return frame.style.format({"multiplications": "{:,}", "parameters": "{:,}"})


def timing_rows(handle: JobHandle[tuple[str, mn.SeparableTiming]]) -> list[dict]:
    return [
        {
            "layer": label,
            "MACs ratio": round(timing.macs_ratio, 3),
            "time ratio": round(timing.time_ratio, 3),
            "normal ms": round(timing.normal_s * 1e3, 3),
            "separable ms": round(timing.separable_s * 1e3, 3),
            "normal GFLOP/s": round(timing.gflops(False), 1),
            "separable GFLOP/s": round(timing.gflops(True), 1),
        }
        for label, timing in handle.records
    ]


def show_timings(handle: JobHandle[tuple[str, mn.SeparableTiming]]) -> None:
    st.dataframe(pd.DataFrame(timing_rows(handle)), hide_index=True)
    st.caption(
        f"Ratios are separable / normal. On {handle.device_name}: the time ratio stays above the MACs ratio, because "
        "the depthwise step reads and writes a whole activation for a few multiplications per value (low GFLOP/s), "
        "while the normal convolution keeps the arithmetic units busy."
    )


TIMING = JobView(
    key="time",
    start="Time both layers",
    start_icon=":material/timer:",
    kept="the layers timed so far are in the table",
    result=show_timings,
)


def timing_section() -> None:
    st.subheader("Measured time beside the multiplications")
    st.markdown(
        "Fewer multiplications are not the same as less time: a depthwise convolution does little arithmetic per "
        "value it reads, so memory traffic bounds it. Both layers are timed here on this server (same padding), at "
        "the sizes above and at a realistic MobileNet layer; median of 10 after 3 warm-ups."
    )
    sizes = [("MobileNet block: 112×112×64 → 128, 3×3", REALISTIC)]
    yours = state.SEPARABLE_SIZE.get()
    if yours is not None and yours != REALISTIC:
        n, n_c, f, n_c_out = yours
        sizes.insert(0, (f"yours: {n}×{n}×{n_c} → {n_c_out}, {f}×{f}", (n, n_c, f, n_c_out)))
    run_job(TIMING, mn.SeparableTimingJob(tuple(sizes)))


@st.fragment
def mobilenet_v1_section() -> None:
    st.subheader("MobileNet v1: width and resolution multipliers")
    left, right = st.columns(2)
    width = left.select_slider("Width multiplier α", mn.MOBILENET_V1_WIDTHS, value=1.0, key="v1-width")
    resolution = right.select_slider("Resolution", mn.MOBILENET_V1_RESOLUTIONS, value=224, key="v1-resolution")
    rows = mn.mobilenet_v1_table(width, resolution)
    table = pd.DataFrame(
        [
            {"layer": kind, "output": " × ".join(map(str, row.shape)), "parameters": row.params, "MACs": row.macs}
            for kind, row in zip(mn.MOBILENET_V1_LAYERS, rows)
        ]
    )
    params, macs = int(table["parameters"].sum()), int(table["MACs"].sum())
    full = sum(row.macs for row in mn.mobilenet_v1_table(1.0, 224))
    columns = st.columns(4)
    columns[0].metric("Parameters", f"{params / 1e6:.2f} M")
    columns[1].metric("MACs", f"{macs / 1e6:,.0f} M")
    paper = mn.MOBILENET_V1_PAPER_MMACS.get((width, resolution))
    columns[2].metric(
        "Paper (Howard et al.)",
        f"{paper} M" if paper else "–",
        help="Tables 6 and 7 give each width at 224 and 1.0 at each resolution.",
    )
    columns[3].metric(
        "α²ρ² rule",
        f"{mn.width_resolution_rule(width, resolution) * full / 1e6:,.0f} M",
        help="α² ρ² × the cost of 1.0-224; the first layer and the classifier grow only with α.",
    )
    st.dataframe(table.style.format({"parameters": "{:,}", "MACs": "{:,}"}), hide_index=True, height=420)
    st.caption(
        "MACs from FlopCounterMode on the module built on PyTorch's meta device; each convolution's row "
        "includes its batch norm's parameters."
    )


@st.fragment
def bottleneck_section() -> None:
    st.subheader("MobileNetV2's bottleneck block")
    st.markdown(
        "Expansion (1×1 to t·n_c channels), depthwise 3×3, then a *linear* projection (1×1, no ReLU) back "
        "to few channels; a residual connection when the stride is 1 and the shapes match."
    )
    columns = st.columns(5)
    n = bounded_number("n (input side)", 1, 1024, 56, key="v2-n", where=columns[0])
    n_c = bounded_number("n_c", 1, 4096, 24, key="v2-nc", where=columns[1])
    t = bounded_number("expansion t", 1, 16, 6, key="v2-t", where=columns[2])
    n_c_out = bounded_number("n_c′", 1, 4096, 24, key="v2-ncout", where=columns[3])
    s = columns[4].radio("stride", [1, 2], horizontal=True, key="v2-s")
    if None in (n, n_c, t, n_c_out):
        return
    block = mn.bottleneck_cost(n, n_c, t, n_c_out, s)
    side = block.output_side
    parts = [
        ("expansion 1×1", f"{n}×{n}×{block.expanded}" if t > 1 else "(none: t = 1)", block.expansion_macs),
        ("depthwise 3×3", f"{side}×{side}×{block.expanded}", block.depthwise_macs),
        ("projection 1×1 (linear)", f"{side}×{side}×{n_c_out}", block.projection_macs),
    ]
    frame = pd.DataFrame(parts, columns=["part", "output", "MACs"])
    st.dataframe(frame.style.format({"MACs": "{:,}"}), hide_index=True)
    st.markdown(
        f"**{block.macs:,} MACs, {block.params:,} parameters**; residual connection: "
        f"{'yes' if block.residual else 'no (the stride or the channels change the shape)'}."
    )
    st.markdown("**The whole MobileNetV2**, added up from these blocks and its table of (t, c, n, s):")
    table = mn.mobilenet_v2_table()
    rows = [
        {
            "stage": row.stage,
            "t": "" if row.t is None else row.t,
            "c": row.c,
            "n": row.n,
            "s": "" if row.s is None else row.s,
            "input": "×".join(map(str, row.input_shape)),
            "parameters": row.params,
            "MACs": row.macs,
        }
        for row in table.rows()
    ]
    st.dataframe(pd.DataFrame(rows).astype(str), hide_index=True)
    published = arch.get_architecture("mobilenet_v2").published()
    st.markdown(
        f"Totals: **{table.params:,} parameters, {table.macs / 1e9:.3f} GMACs**; torchvision's model has "
        f"{published.params:,} parameters and {published.gmacs} GMACs."
    )


@st.fragment
def efficientnet_section() -> None:
    st.subheader("EfficientNet: compound scaling")
    alpha, beta, gamma = mn.COMPOUND_BASE
    st.latex(
        rf"\text{{depth}} = \alpha^\phi,\ \text{{width}} = \beta^\phi,\ \text{{resolution}} = \gamma^\phi;"
        rf"\quad \alpha = {alpha}, \beta = {beta}, \gamma = {gamma},\ \alpha\beta^2\gamma^2 = "
        rf"{alpha * beta**2 * gamma**2:.2f} \approx 2"
    )
    phi = st.slider("φ", 0.0, 7.0, 1.0, 0.5, key="eff-phi")
    scale = mn.compound_scale(phi)
    columns = st.columns(4)
    columns[0].metric("Depth ×", f"{scale.depth:.2f}")
    columns[1].metric("Width ×", f"{scale.width:.2f}")
    columns[2].metric("Resolution", f"{mn.B0_RESOLUTION * scale.resolution:.0f} px")
    columns[3].metric("FLOPs ×", f"{scale.flops_factor:.1f}", help="(α β² γ²)^φ ≈ 2^φ")
    with st.spinner("Counting B0…B7 on the meta device…"):
        family = mn.efficientnet_family()
    base = family[0][1].macs
    rows = []
    for phi_index, (name, stats) in enumerate(family):
        published = arch.get_architecture(name).published()
        rows.append(
            {
                "model": f"B{phi_index}",
                "resolution": stats.input_size,
                "parameters (M)": stats.params / 1e6,
                "GMACs": stats.macs / 1e9,
                "× B0's MACs": stats.macs / base,
                "rule: 2^φ": 2**phi_index,
                "acc@1 (%)": published.acc1,
            }
        )
    st.dataframe(pd.DataFrame(rows).round(3), hide_index=True)
    st.caption(
        "Measured on the modules torchvision builds (FlopCounterMode, meta device); accuracy from the "
        "weights' metadata. The released B1…B7 use hand-rounded multipliers, so they grow more slowly "
        "than 2^φ."
    )
    st.markdown("**Scale B0 yourself**, one knob at a time:")
    columns = st.columns(3)
    width = bounded_number("width ×", 0.25, 4.0, 1.0, step=0.1, key="eff-width", where=columns[0])
    depth = bounded_number("depth ×", 0.25, 4.0, 1.0, step=0.1, key="eff-depth", where=columns[1])
    resolution = bounded_number("resolution (px)", 32, 1024, 224, step=16, key="eff-resolution", where=columns[2])
    if None in (width, depth, resolution):
        return
    with shown_user_errors() as outcome:
        stats = mn.scaled_efficientnet_stats(width, depth, resolution)
    if outcome.failed:
        return
    st.markdown(
        f"**{stats.params / 1e6:.2f} M parameters, {stats.macs / 1e9:.3f} GMACs** ({stats.macs / base:.2f}× B0's)."
    )


def best_section() -> None:
    """Not a fragment: the latency measurement can be stopped."""
    st.subheader("Which small network is best on this server")
    rows = []
    with st.spinner("Counting the networks on the meta device…"):
        stats_of = {name: arch.architecture_stats(name) for name in CONTENDERS}
    for name in CONTENDERS:
        entry, stats = arch.get_architecture(name), stats_of[name]
        rows.append(
            {
                "model": entry.title,
                "GMACs": stats.macs / 1e9,
                "parameters (M)": stats.params / 1e6,
                "acc@1 (%)": entry.published().acc1,
            }
        )
    frame = pd.DataFrame(rows)
    st.plotly_chart(accuracy_scatter(frame, "GMACs", size="parameters (M)"), key="best-macs")
    st.caption(
        "ImageNet top-1 accuracy of each network's torchvision weights against the MACs of one 224-px image "
        "(each at its own resolution); bubble size is the parameters."
    )
    run_job(replace(BEST, result=partial(show_latency, frame)), arch.LatencyJob(CONTENDERS))


def show_latency(frame: pd.DataFrame, handle: JobHandle[arch.ModelLatency]) -> None:
    measured = {arch.get_architecture(m.name).title: m.latency.median_ms for m in handle.records}
    frame = frame.assign(**{"latency (ms)": [measured.get(title) for title in frame["model"]]}).dropna()
    if frame.empty:
        return
    st.plotly_chart(accuracy_scatter(frame, "latency (ms)"), key="best-latency-figure")
    st.caption(
        "Median of 10 forward passes of one image after warm-up, with random weights (the time does not "
        "depend on their values), float32, on this server's device."
    )


BEST = JobView(
    key="best",
    start="Measure their latency here",
    start_icon=":material/timer:",
    kept="the networks timed so far are plotted",
)


SECTIONS = {
    "Depthwise-separable": separable_section,
    "Measured time": timing_section,
    "MobileNet v1": mobilenet_v1_section,
    "MobileNetV2 bottleneck": bottleneck_section,
    "EfficientNet scaling": efficientnet_section,
    "Best on this device": best_section,
}

if __name__ == "__main__":  # Streamlit runs pages as __main__
    page_header(
        "MobileNet cost estimator",
        "Course week 2 — normal against depthwise-separable convolutions, MobileNet v1 and v2, EfficientNet; the "
        "numbers come from `core.architectures.mobilenet` and `core.architectures.registry` and are checked "
        "against PyTorch.",
    )
    section_tabs(SECTIONS)
