"""core.architectures.mobilenet against PyTorch: the course's worked example,
random layers against FlopCounterMode, MobileNet v1's table, MobileNetV2 added up from its
bottlenecks against torchvision's model, and EfficientNet's compound scaling."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from core.architectures import mobilenet as mn
from core.runtime.errors import UserError


def test_the_course_example():
    """6×6×3, 3×3, 5 filters → 4×4×5: 2,160 normally; 432 + 240 = 672 separably; 1/5 + 1/9."""
    cost = mn.separable_cost(6, 3, 3, 5)
    assert (cost.output_side, cost.normal, cost.depthwise, cost.pointwise, cost.separable) == (4, 2160, 432, 240, 672)
    assert cost.ratio == pytest.approx(1 / 5 + 1 / 9) and round(cost.ratio, 2) == 0.31
    assert mn.separable_cost_by_torch(6, 3, 3, 5) == cost


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    n_c=st.integers(1, 24),
    f=st.integers(1, 7),
    n_c_out=st.integers(1, 24),
    s=st.integers(1, 3),
    p=st.integers(0, 3),
)
def test_separable_cost_equals_pytorch(n, n_c, f, n_c_out, s, p):
    try:
        cost = mn.separable_cost(n, n_c, f, n_c_out, s, p)
    except UserError:
        with pytest.raises(UserError):
            mn.separable_cost_by_torch(n, n_c, f, n_c_out, s, p)
        return
    assert mn.separable_cost_by_torch(n, n_c, f, n_c_out, s, p) == cost
    assert cost.ratio == pytest.approx(1 / n_c_out + 1 / f**2)


@pytest.mark.parametrize(
    ("arguments", "phrase"),
    [((6, 3, 9, 5), "does not fit"), ((6, 3, 3, 0), "Filters n_c′ must be at least 1"), ((6, 0, 3, 5), "n_c")],
)
def test_impossible_layers_are_refused_by_name(arguments, phrase):
    with pytest.raises(UserError, match=phrase):
        mn.separable_cost(*arguments)


def test_the_separable_layer_is_timed_with_its_multiplications():
    timing = mn.time_separable(28, 16, 3, 32)
    cost = mn.separable_cost(28, 16, 3, 32)
    assert (timing.normal_macs, timing.separable_macs) == (cost.normal, cost.separable)
    assert timing.normal_s > 0 and timing.separable_s > 0
    assert timing.gflops(False) == pytest.approx(2 * cost.normal / timing.normal_s / 1e9)


def test_mobilenet_v1_table_adds_up_to_the_network():
    rows = mn.mobilenet_v1_table(1.0, 224)
    assert len(rows) == 1 + 26 + 2
    assert sum(row.params for row in rows) == 4_231_976 and round(sum(row.macs for row in rows) / 1e6) == 569
    assert rows[0].shape == (32, 112, 112) and rows[-3].shape == (1024, 7, 7) and rows[-1].shape == (1000,)
    depthwise, pointwise = rows[1], rows[2]  # the first block: 3×3 on each of 32 channels, then 1×1 to 64
    assert depthwise.macs == 112 * 112 * 9 * 32 and pointwise.macs == 112 * 112 * 32 * 64
    with pytest.raises(UserError, match="at least 32 px"):
        mn.mobilenet_v1_table(1.0, 16)


@pytest.mark.parametrize(("width", "resolution"), [(w, 224) for w in mn.MOBILENET_V1_WIDTHS] + [(1.0, 128)])
def test_the_alpha_squared_rho_squared_rule_is_close_to_the_counted_cost(width, resolution):
    counted = sum(row.macs for row in mn.mobilenet_v1_table(width, resolution))
    full = sum(row.macs for row in mn.mobilenet_v1_table(1.0, 224))
    # approximate: the first convolution and the classifier grow with α, not α²
    assert counted / full == pytest.approx(mn.width_resolution_rule(width, resolution), rel=0.2)
    assert round(counted / 1e6) == mn.MOBILENET_V1_PAPER_MMACS[(width, resolution)]


@pytest.mark.parametrize(
    ("n", "n_c", "t", "n_c_out", "s"), [(56, 24, 6, 24, 1), (56, 24, 6, 32, 2), (112, 32, 1, 16, 1)]
)
def test_a_bottleneck_costs_what_torchvision_s_block_does(n, n_c, t, n_c_out, s):
    from torchvision.models.mobilenetv2 import InvertedResidual

    cost = mn.bottleneck_cost(n, n_c, t, n_c_out, s)
    with torch.device("meta"):
        block = InvertedResidual(n_c, n_c_out, s, t).eval()
        image = torch.zeros(1, n_c, n, n)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        output = block(image)
    assert cost.macs == counter.get_total_flops() // 2
    assert cost.params == sum(p.numel() for p in block.parameters())
    assert output.shape[-1] == cost.output_side and cost.residual == block.use_res_connect


def test_mobilenet_v2_added_up_equals_torchvision():
    from torchvision.models import mobilenet_v2

    table = mn.mobilenet_v2_table()
    assert table.params == 3_504_872 == sum(p.numel() for p in mobilenet_v2().parameters())
    assert table.macs / 1e9 == pytest.approx(0.30, abs=0.005)
    assert [stage.input_side for stage in table.stages] == [112, 112, 56, 28, 14, 14, 7]


def test_compound_scaling_doubles_the_cost_per_step_of_phi():
    alpha, beta, gamma = mn.COMPOUND_BASE
    assert alpha * beta**2 * gamma**2 == pytest.approx(1.92, abs=0.01)
    scale = mn.compound_scale(3)
    assert scale.flops_factor == pytest.approx((alpha * beta**2 * gamma**2) ** 3)
    assert math.log2(scale.flops_factor) == pytest.approx(3 * math.log2(1.92), abs=0.05)


def test_scaled_efficientnet_at_b0_is_b0_and_grows_with_each_knob():
    from core.architectures.registry import architecture_stats

    b0 = mn.scaled_efficientnet_stats()
    assert (b0.params, b0.macs) == (
        architecture_stats("efficientnet_b0").params,
        architecture_stats("efficientnet_b0").macs,
    )
    wider, deeper, sharper = (
        mn.scaled_efficientnet_stats(width=1.2),
        mn.scaled_efficientnet_stats(depth=1.2),
        mn.scaled_efficientnet_stats(resolution=256),
    )
    assert wider.params > b0.params and deeper.params > b0.params and sharper.params == b0.params
    assert sharper.macs / b0.macs == pytest.approx((256 / 224) ** 2, rel=0.01)  # 256 halves as evenly as 224
    family = mn.efficientnet_family()
    assert [name for name, _ in family] == [f"efficientnet_b{phi}" for phi in range(8)]
    assert all(later.macs > earlier.macs for (_, earlier), (_, later) in zip(family, family[1:]))
    with pytest.raises(UserError, match="between 0.25 and 4"):
        mn.scaled_efficientnet_stats(width=10)


@pytest.mark.parametrize("resolution", [224, 160])
def test_the_whole_v2_table_adds_up_to_its_totals_with_shapes_that_follow_each_other(resolution):
    table = mn.mobilenet_v2_table(resolution)
    rows = table.rows()
    assert [row.stage for row in rows] == ["conv 3×3, stride 2"] + ["bottleneck"] * 7 + ["conv 1×1", "fully connected"]
    assert sum(row.params for row in rows) == table.params and sum(row.macs for row in rows) == table.macs
    assert rows[0].input_shape == (resolution, resolution, 3)
    side = -(-resolution // 32)
    assert rows[-2].input_shape == (side, side, 320) and rows[-1].input_shape == (1280,)
    for before, after in zip(rows[1:-2], rows[2:-1]):
        assert after.input_shape[2] == before.c


def test_every_row_of_mobilenet_v1_has_its_course_name():
    rows = mn.mobilenet_v1_table()
    assert len(mn.MOBILENET_V1_LAYERS) == len(rows) == 29
    depthwise, pointwise = rows[1], rows[2]  # block 1: 112×112×32 depthwise, then 1×1 to 64 channels
    assert depthwise.shape == (32, 112, 112) and pointwise.shape == (64, 112, 112)
    assert mn.MOBILENET_V1_LAYERS[1] == "block 1: depthwise 3×3" and rows[-1].shape == (1000,)
