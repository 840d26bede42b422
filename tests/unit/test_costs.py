"""core.foundations.costs against PyTorch: layer tables, parameters and MACs of every layer equal the
counts of the built module (FlopCounterMode), and the course's worked examples come out
exactly."""

from __future__ import annotations

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from core.foundations import costs

# -- layer tables -------------------------------------------------------------------------


def test_course_lenet_like_table():
    rows = costs.layer_table(*costs.PRESETS["Course LeNet-5-like (32×32×3)"])
    summary = [(row.label, row.shape, row.size, row.params) for row in rows]
    assert summary == [
        ("Input", (32, 32, 3), 3072, 0),
        ("CONV1", (28, 28, 8), 6272, 608),
        ("POOL1", (14, 14, 8), 1568, 0),
        ("CONV2", (10, 10, 16), 1600, 3216),
        ("POOL2", (5, 5, 16), 400, 0),
        ("FC3", (120,), 120, 48120),
        ("FC4", (84,), 84, 10164),
        ("Softmax", (10,), 10, 850),
    ]


def test_original_lenet_has_about_sixty_thousand_parameters():
    rows = costs.layer_table(*costs.PRESETS["Original LeNet-5 (32×32×1)"])
    assert rows[1].shape == (28, 28, 6) and 55_000 < sum(row.params for row in rows) < 65_000


def test_course_39_by_39_example():
    rows = costs.layer_table(*costs.PRESETS["Course 39×39×3 example"])
    assert [row.shape for row in rows[1:]] == [(37, 37, 10), (17, 17, 20), (7, 7, 40)]
    assert rows[-1].size == 1960


@pytest.mark.parametrize("preset", sorted(costs.PRESETS))
def test_table_equals_the_built_torch_model(preset):
    shape, layers = costs.PRESETS[preset]
    rows = costs.layer_table(shape, layers)[1:]
    measured = costs.measured_with_torch(shape, layers)
    assert [row.cost for row in rows] == measured
    assert costs.matches_torch(shape, layers)


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(8, 40),
    channels=st.integers(1, 4),
    convs=st.lists(
        st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(0, 2), st.integers(1, 8)), min_size=1, max_size=3
    ),
    pool=st.booleans(),
    units=st.integers(1, 20),
)
def test_random_tables_equal_torch(size, channels, convs, pool, units):
    layers = [costs.Layer("conv", f=f, s=s, p=p, filters=k) for f, s, p, k in convs]
    layers += [costs.Layer("pool", f=2, s=2, mode="avg")] if pool else []
    layers += [costs.Layer("fc", units=units), costs.Layer("softmax", units=3)]
    try:
        rows = costs.layer_table((size, size, channels), layers)[1:]
    except costs.LayerError:
        assume(False)  # hypothesis fails the test if too few tables are valid
    measured = costs.measured_with_torch((size, size, channels), layers)
    assert [row.cost for row in rows] == measured


def test_generated_code_builds_the_same_network():
    shape, layers = costs.PRESETS["Course LeNet-5-like (32×32×3)"]
    namespace: dict = {}
    exec(costs.sequential_code(shape, layers), namespace)
    model = namespace["model"]
    assert sum(p.numel() for p in model.parameters()) == sum(row.params for row in costs.layer_table(shape, layers))
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 10)


@pytest.mark.parametrize(
    "layers,phrase",
    [
        ([{"type": "pool", "f": 2, "s": 2}, {"type": "pool", "f": 8, "s": 1}], "Row 2 (POOL1)"),
        ([{"type": "conv", "f": 3, "filters": 0}], "Row 1 (CONV1): Number of filters must be at least 1"),
        ([{"type": "fc", "units": 10}, {"type": "conv", "f": 1, "filters": 2}], "Row 2 (CONV2): CONV needs"),
        ([{"type": "dropout"}], "Row 1 (row 1): unknown layer type"),
        ([{"type": "conv", "filters": 3}], "missing setting 'f'"),
        ([{"type": "conv", "f": 2.5, "filters": 3}], "Row 1 (CONV1): Filter size f must be a whole number"),
    ],
)
def test_bad_rows_are_named(layers, phrase):
    """Editor rows (blanks left out) become layers; the table names the row that fails."""
    with pytest.raises(costs.LayerError, match=phrase.replace("(", r"\(").replace(")", r"\)")):
        costs.layer_table((8, 8, 3), [costs.Layer.from_settings(row) for row in layers])


# -- why convolutions, 1×1, 1D and 3D -------------------------------------------------------


def test_why_convolutions_course_numbers():
    numbers = costs.conv_vs_dense((32, 32, 3), 5, 6)
    assert numbers.conv.shape == (28, 28, 6) and numbers.conv.params == 456
    assert (numbers.inputs, numbers.outputs) == (3072, 4704)
    assert (numbers.dense_weights, numbers.dense_biases) == (3072 * 4704, 4704)


def test_huge_tables_are_checked_by_torch_without_allocating():
    layers = [costs.Layer("conv", f=5, s=1, p=0, filters=8), costs.Layer("pool", f=2, s=2)]
    rows = costs.layer_table((100_000, 100_000, 3), layers)[1:]  # a real forward pass would need ~120 GB
    measured = costs.measured_with_torch((100_000, 100_000, 3), layers)
    assert [row.cost for row in rows] == measured


def test_one_by_one_convolution_shrinks_channels():
    cost = costs.conv_cost((28, 28, 192), 1, 32)
    assert cost.shape == (28, 28, 32) and cost.params == 192 * 32 + 32 and cost.macs == 28 * 28 * 32 * 192


def test_course_3d_and_1d_chains():
    chain = [costs.ConvSpec(5, 16), costs.ConvSpec(5, 32)]
    first, second = costs.conv_chain((14, 14, 14, 1), chain)
    assert first.shape == (10, 10, 10, 16) and second.shape == (6, 6, 6, 32)
    assert second.params == (5 * 5 * 5 * 16 + 1) * 32
    assert [cost.shape for cost in costs.conv_chain((14, 1), chain)] == [(10, 16), (6, 32)]


@pytest.mark.parametrize(
    "layers,phrase",
    [
        ([{"f": 5, "filters": 16}, {"f": 11, "filters": 2}], "Layer 2: The 11-wide window does not fit"),
        ([{"filters": 4}], "Layer 1: missing setting 'f'"),
        ([{"f": 1, "filters": 0}], "Layer 1: Number of filters must be at least 1"),
    ],
)
def test_chain_errors_name_the_layer(layers, phrase):
    with pytest.raises(costs.LayerError, match=phrase):
        costs.conv_chain((14, 14, 14, 1), [costs.ConvSpec.from_settings(row) for row in layers])


@settings(max_examples=60, deadline=None)
@given(
    dims=st.sampled_from([1, 2, 3]),
    n=st.integers(3, 12),
    c=st.integers(1, 4),
    f=st.integers(1, 3),
    k=st.integers(1, 5),
    s=st.integers(1, 2),
    p=st.integers(0, 1),
)
def test_conv_cost_equals_torch_conv_nd(dims, n, c, f, k, s, p):
    layer = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}[dims](c, k, f, stride=s, padding=p)
    cost = costs.conv_cost((n,) * dims + (c,), f, k, s, p)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        out = layer(torch.zeros((1, c) + (n,) * dims))
    assert cost.shape == tuple(out.shape[2:]) + (k,)
    assert cost.params == sum(param.numel() for param in layer.parameters())
    assert cost.macs == counter.get_total_flops() // 2


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(3, 10),
    groups=st.integers(1, 4),
    per_group_in=st.integers(1, 3),
    per_group_out=st.integers(1, 3),
    f=st.integers(1, 3),
    s=st.integers(1, 2),
    p=st.integers(0, 1),
)
def test_grouped_conv_cost_equals_torch(n, groups, per_group_in, per_group_out, f, s, p):
    """groups = C is the depthwise convolution of MobileNet."""
    channels, filters = groups * per_group_in, groups * per_group_out
    layer = torch.nn.Conv2d(channels, filters, f, stride=s, padding=p, groups=groups)
    cost = costs.conv_cost((n, n, channels), f, filters, s, p, groups)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        out = layer(torch.zeros(1, channels, n, n))
    assert cost.shape == (*out.shape[2:], filters)
    assert cost.params == sum(param.numel() for param in layer.parameters())
    assert cost.macs == counter.get_total_flops() // 2


def test_groups_must_divide_channels_and_filters():
    with pytest.raises(costs.UserError, match="Groups \\(2\\) must divide"):
        costs.conv_cost((8, 8, 3), 3, 4, groups=2)


@pytest.mark.parametrize(
    ("text", "shape"), [("14, 14, 14, 1", (14, 14, 14, 1)), ("28×28×192", (28, 28, 192)), (" 14 ,1 ", (14, 1))]
)
def test_shapes_are_read_from_text(text, shape):
    assert costs.parse_shape(text) == shape


@pytest.mark.parametrize(
    ("text", "phrase"), [("14, a", "whole numbers"), ("", "1 to 3 spatial sizes"), ("1,2,3,4,5", "1 to 3 spatial")]
)
def test_bad_shape_text_is_explained(text, phrase):
    with pytest.raises(costs.UserError, match=phrase):
        costs.parse_shape(text)


def test_the_code_of_a_huge_network_is_written_without_allocating_its_weights():
    shape, layers = costs.PRESETS["Course LeNet-5-like (32×32×3)"]
    code = costs.sequential_code((1_000_000_000, 32, 3), layers)  # its first FC layer has about 10¹⁴ weights
    assert "nn.Linear(in_features=" in code and "out_features=120" in code


def test_counts_no_browser_can_show_exactly_are_refused_naming_the_row():
    with pytest.raises(costs.LayerError, match=r"Layer 1: The layer's output values \(1.28e\+20\) are beyond .*2⁵³"):
        costs.conv_chain((28, 28, 192), [costs.ConvSpec(f=1, filters=32, s=1, p=1_000_000_000)])
    with pytest.raises(costs.LayerError, match=r"Row 1 \(FC1\): The layer's parameters \(1e\+19\)"):
        costs.layer_table((10_000, 10_000, 100), [costs.Layer("fc", units=10**9)])
