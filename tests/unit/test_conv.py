"""core.foundations.conv against PyTorch: sizes, cross-correlation, pooling, edge maps, and the
course's worked examples, which must come out exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from core.foundations import conv
from core.runtime.errors import UserError

COURSE_6X6, VERTICAL = conv.COURSE_6X6, conv.COURSE_VERTICAL_FILTER


# -- sizes ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 40), f=st.integers(1, 7), p=st.integers(0, 4), s=st.integers(1, 5), d=st.integers(1, 3))
def test_output_size_equals_conv2d(n, f, p, s, d):
    layer = torch.nn.Conv2d(1, 1, f, stride=s, padding=p, dilation=d)
    if n + 2 * p < d * (f - 1) + 1:
        with pytest.raises(ValueError, match="does not fit"):
            conv.output_size(n, f, p, s, d)
        return
    with torch.no_grad():
        produced = layer(torch.zeros(1, 1, n, n + 1)).shape
    assert (conv.output_size(n, f, p, s, d), conv.output_size(n + 1, f, p, s, d)) == tuple(produced[2:])


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 20),
    f=st.integers(1, 6),
    p=st.integers(0, 4),
    s=st.integers(1, 4),
    d=st.integers(1, 3),
    output_padding=st.integers(0, 3),
)
def test_transposed_output_size_equals_conv_transpose2d(n, f, p, s, d, output_padding):
    expected = s * (n - 1) - 2 * p + d * (f - 1) + output_padding + 1
    if output_padding >= max(s, d) or expected < 1:
        with pytest.raises(ValueError):
            conv.transposed_output_size(n, f, p, s, d, output_padding)
        return
    layer = torch.nn.ConvTranspose2d(1, 1, f, stride=s, padding=p, dilation=d, output_padding=output_padding)
    with torch.no_grad():
        produced = layer(torch.zeros(1, 1, n, n)).shape
    assert conv.transposed_output_size(n, f, p, s, d, output_padding) == produced[2]


@pytest.mark.parametrize(
    "args,phrase",
    [
        ((0, 3), "at least 1"),
        ((5, 3, -1), "at least 0"),
        ((5, 3, 0, 0), "Stride s must be at least 1"),
        ((2.5, 3), "whole number"),
        ((True, 1), "whole number"),
        ((3, 5), "does not fit"),
    ],
)
def test_impossible_sizes_are_value_errors(args, phrase):
    with pytest.raises(ValueError, match=phrase):
        conv.output_size(*args)


def test_same_padding_and_the_floor():
    assert conv.same_padding(3) == 1 and conv.same_padding(5) == 2 and conv.same_padding(4) == 1
    assert conv.output_size(6, 3, conv.same_padding(3)) == 6
    assert conv.output_size(7, 3, 0, 2) == 3 and conv.dropped_by_floor(7, 3, 0, 2) == 0
    assert conv.output_size(8, 3, 0, 2) == 3 and conv.dropped_by_floor(8, 3, 0, 2) == 1


# -- cross-correlation --------------------------------------------------------------------


def test_course_six_by_six_example():
    expected = [[-5, -4, 0, 8], [-10, -2, 2, 3], [0, -2, -4, -7], [-3, -2, -3, -16]]
    np.testing.assert_array_equal(conv.cross_correlate(COURSE_6X6, VERTICAL), expected)


def test_step_image_gives_columns_of_thirty_and_minus_thirty_when_flipped():
    step = np.array([[10, 10, 10, 0, 0, 0]] * 6)
    np.testing.assert_array_equal(conv.cross_correlate(step, VERTICAL), [[0, 30, 30, 0]] * 4)
    np.testing.assert_array_equal(conv.cross_correlate(step[:, ::-1], VERTICAL), [[0, -30, -30, 0]] * 4)


def test_textbook_convolution_flips_the_filter():
    np.testing.assert_array_equal(conv.convolve(COURSE_6X6, VERTICAL), -conv.cross_correlate(COURSE_6X6, VERTICAL))


@settings(max_examples=150, deadline=None)
@given(
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    c=st.integers(1, 3),
    f=st.integers(1, 5),
    s=st.integers(1, 3),
    p=st.integers(0, 2),
    seed=st.integers(0, 2**31 - 1),
)
def test_cross_correlate_equals_conv2d(h, w, c, f, s, p, seed):
    rng = np.random.default_rng(seed)
    x, k = rng.normal(size=(h, w, c)), rng.normal(size=(f, f, c))
    if min(h, w) + 2 * p < f:
        with pytest.raises(ValueError):
            conv.cross_correlate(x, k, s, p)
        return
    expected = F.conv2d(
        torch.from_numpy(x).permute(2, 0, 1)[None], torch.from_numpy(k).permute(2, 0, 1)[None], stride=s, padding=p
    )
    np.testing.assert_allclose(conv.cross_correlate(x, k, s, p), expected[0, 0].numpy(), atol=1e-10)


def test_window_step_is_the_sum_of_products_of_its_cell():
    step = conv.window_step(COURSE_6X6, VERTICAL, 1, 0)
    assert (step.top, step.left) == (1, 0)
    np.testing.assert_array_equal(step.products, COURSE_6X6[1:4, 0:3] * VERTICAL)
    assert step.total == -10
    padded = conv.window_step(COURSE_6X6, VERTICAL, 0, 0, stride=2, padding=1)
    assert padded.total == conv.cross_correlate(COURSE_6X6, VERTICAL, 2, 1)[0, 0]
    with pytest.raises(ValueError, match="outside"):
        conv.window_step(COURSE_6X6, VERTICAL, 4, 0)


@pytest.mark.parametrize(
    "x,k,phrase",
    [
        (np.zeros((0, 3)), VERTICAL, "at least one value|at least 1"),
        (COURSE_6X6, np.ones((2, 3)), "square"),
        (COURSE_6X6, np.ones((3, 3, 2)), "channel"),
        (np.array([[1.0, np.nan]] * 3), np.ones((1, 1)), "number"),
        (np.ones((2, 2)), VERTICAL, "does not fit"),
    ],
)
def test_bad_matrices_are_value_errors(x, k, phrase):
    with pytest.raises(ValueError, match=phrase):
        conv.cross_correlate(x, k)


# -- pooling ------------------------------------------------------------------------------


def test_course_pooling_examples():
    np.testing.assert_array_equal(
        conv.pool(np.array([[1, 3, 2, 1], [2, 9, 1, 1], [1, 3, 2, 3], [5, 6, 1, 2]]), 2, 2, "max"), [[9, 2], [6, 3]]
    )
    np.testing.assert_array_equal(
        conv.pool(np.array([[1, 3, 2, 1], [2, 9, 1, 1], [1, 4, 2, 3], [5, 6, 1, 2]]), 2, 2, "avg"),
        [[3.75, 1.25], [4, 2]],
    )


@settings(max_examples=150, deadline=None)
@given(
    h=st.integers(1, 14),
    w=st.integers(1, 14),
    c=st.integers(1, 3),
    f=st.integers(1, 4),
    s=st.integers(1, 4),
    mode=st.sampled_from(["max", "avg"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_pool_equals_torch(h, w, c, f, s, mode, seed):
    x = np.random.default_rng(seed).normal(size=(h, w, c))
    if min(h, w) < f:
        with pytest.raises(ValueError):
            conv.pool(x, f, s, mode)
        return
    torch_pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    expected = torch_pool(torch.from_numpy(x).permute(2, 0, 1), f, s).permute(1, 2, 0).numpy()
    np.testing.assert_allclose(conv.pool(x, f, s, mode), expected, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 30),
    w=st.integers(1, 30),
    f=st.integers(1, 4),
    s=st.integers(1, 4),
    mode=st.sampled_from(["max", "avg"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_pool_image_equals_the_teaching_pool(h, w, f, s, mode, seed):
    image = np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    if min(h, w) < f:
        with pytest.raises(ValueError):
            conv.pool_image(image, f, s, mode)
        return
    expected = np.clip(np.round(conv.pool(image, f, s, mode)), 0, 255)
    np.testing.assert_allclose(conv.pool_image(image, f, s, mode), expected, atol=1)  # float32 vs float64 rounding


# -- edge maps ----------------------------------------------------------------------------


def test_edge_map_equals_cross_correlation_of_the_gray_image():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    kernel = conv.edge_filter("Sobel")
    gray = image.astype(np.float64) @ np.array(conv.LUMA)
    np.testing.assert_allclose(conv.edge_map(image, kernel), conv.cross_correlate(gray, kernel), rtol=1e-4, atol=1e-2)
    volume = np.repeat(kernel[:, :, None], 3, axis=2)
    np.testing.assert_allclose(
        conv.edge_map(image, kernel, per_channel=True), conv.cross_correlate(image, volume), atol=1e-2
    )


@given(st.integers(3, 40), st.integers(3, 40), st.booleans(), st.integers(0, 2**32 - 1))
def test_edge_map_equals_torch_conv2d_over_the_volume(height, width, per_channel, seed):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    kernel = rng.normal(size=(3, 3)).round(1)
    channel_weights = np.ones(3) if per_channel else np.array(conv.LUMA)
    weight = torch.from_numpy(channel_weights[:, None, None] * kernel)[None]  # (1, 3, 3, 3)
    expected = F.conv2d(torch.from_numpy(image).permute(2, 0, 1)[None].double(), weight)[0, 0].numpy()
    np.testing.assert_allclose(conv.edge_map(image, kernel, per_channel), expected, rtol=1e-4, atol=1e-2)


def test_edge_map_refuses_an_image_smaller_than_the_filter():
    with pytest.raises(ValueError, match="at least 3×3 pixels; this one is 5×2"):
        conv.edge_map(np.zeros((2, 5, 3), np.uint8), conv.edge_filter("Sobel"))


def test_vertical_filter_finds_a_vertical_edge_and_horizontal_does_not():
    image = np.zeros((10, 10, 3), dtype=np.uint8)
    image[:, :5] = 255
    vertical = conv.edge_map(image, conv.edge_filter("Vertical edge"))
    horizontal = conv.edge_map(image, conv.edge_filter("Vertical edge", horizontal=True))
    assert vertical.shape == (8, 8) and np.abs(vertical[:, 3:5]).min() > 500 and np.abs(horizontal).max() < 1e-3


def test_display_scaling():
    values = np.array([[-2.0, 0.0, 1.0]])
    scale = np.percentile([2.0, 0.0, 1.0], 99.5)
    np.testing.assert_array_equal(conv.to_display(values, absolute=True), [[255, 0, round(255 / scale)]])
    np.testing.assert_array_equal(conv.to_display(values, absolute=False), [[0, 128, round(127.5 + 127.5 / scale)]])


def test_display_clips_rare_extremes_instead_of_darkening_everything():
    values = np.full((100, 100), 10.0)
    values[0, 0] = 10_000.0
    shown = conv.to_display(values, absolute=True)
    assert shown[50, 50] == 255 and shown[0, 0] == 255
    assert (conv.to_display(np.zeros((3, 3)), absolute=True) == 0).all()


def test_a_padding_beyond_one_jobs_memory_is_refused_before_allocating(monkeypatch):
    monkeypatch.setenv("CNNLAB_JOB_MEMORY_MB", "100")
    with pytest.raises(UserError, match="Padding by p = 20000 would need about 12,804 MB.*Lower the padding p"):
        conv.cross_correlate(conv.COURSE_6X6, conv.COURSE_VERTICAL_FILTER, padding=20_000)
    assert conv.pad(np.ones((2, 2)), 1).shape == (4, 4)
