"""core.architectures.resnets and core.architectures.inception: the residual block and its shortcut, ResNet-34's stages,
the degradation experiment's ordering on a small seeded configuration, gradient norms,
and the Inception module against FlopCounterMode with the course's numbers."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.architectures import inception, resnets
from core.runtime.errors import UserError


def test_identity_and_projection_shortcuts():
    same = resnets.residual_block_cost(56, 64, 64)
    assert same.identity and same.output_shape == (56, 56, 64)
    assert same.main_params == 2 * 3 * 3 * 64 * 64 + 2 * 2 * 64  # two 3×3 convs and their batch norms
    down = resnets.residual_block_cost(56, 64, 128, stride=2)
    assert not down.identity and down.output_shape == (28, 28, 128)
    assert down.shortcut_params == 64 * 128 + 2 * 128  # W_s: a 1×1 conv and its batch norm


def test_the_block_adds_its_input_before_the_last_relu():
    torch.manual_seed(0)
    block = resnets.ResidualBlock(4, 4).eval()
    a = torch.randn(2, 4, 6, 6)
    z = block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(a)))))
    torch.testing.assert_close(block(a), torch.relu(z + a))


def test_resnet34_has_its_stages():
    rows = {row.name: row for row in resnets.resnet34_stages()}
    assert [rows[f"layer{i}"].shape for i in range(1, 5)] == [(64, 56, 56), (128, 28, 28), (256, 14, 14), (512, 7, 7)]
    assert sum(row.params for row in rows.values()) == 21_797_672 - 2 * 64  # all but the stem's batch norm


def test_the_deeper_plain_network_trains_worse_and_the_deeper_resnet_does_not():
    """A small seeded run (6 epochs): the course's "theory vs reality" figure, in numbers."""
    config = resnets.DegradationConfig(epochs=6)
    final = {}
    for progress in resnets.degradation_experiment(config):
        final[progress.network] = progress.training_error
    assert set(final) == {"plain 8", "plain 32", "ResNet 9", "ResNet 33"}
    assert final["plain 32"] > final["plain 8"] + 0.2
    assert final["ResNet 33"] <= final["ResNet 9"] + 0.02


def test_gradient_norms_spread_far_more_without_shortcuts():
    networks = resnets.DegradationConfig().networks()
    plain, residual = resnets.gradient_norms(networks["plain 32"]), resnets.gradient_norms(networks["ResNet 33"])
    assert len(plain) == 32 and len(residual) == 33
    assert max(plain) / min(plain) > 5 * max(residual) / min(residual)


def test_impossible_experiments_are_refused():
    with pytest.raises(UserError, match="shallow depth"):
        resnets.DegradationConfig(shallow=32, deep=8)
    with pytest.raises(UserError, match="epochs"):
        resnets.DegradationConfig(epochs=0)


def test_the_course_bottleneck_numbers():
    (direct,) = inception.branches(inception.COURSE_DIRECT)
    (bottleneck,) = inception.branches(inception.COURSE_BOTTLENECK)
    assert direct.multiplications == 120_422_400
    assert (bottleneck.bottleneck, bottleneck.main, bottleneck.multiplications) == (2_408_448, 10_035_200, 12_443_648)
    assert inception.measured(inception.COURSE_DIRECT) == ((28, 28, 32), 120_422_400)
    assert inception.measured(inception.COURSE_BOTTLENECK) == ((28, 28, 32), 12_443_648)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 20),
    channels=st.integers(1, 32),
    ones=st.integers(0, 16),
    reduce3=st.integers(0, 8),
    threes=st.integers(0, 16),
    reduce5=st.integers(0, 8),
    fives=st.integers(0, 16),
    projection=st.integers(0, 8),
    pool=st.booleans(),
)
def test_every_module_s_branches_add_up_to_what_pytorch_counts(
    n, channels, ones, reduce3, threes, reduce5, fives, projection, pool
):
    try:
        spec = inception.InceptionSpec(n, channels, ones, reduce3, threes, reduce5, fives, projection, pool)
    except UserError:
        return
    shape, multiplications = inception.measured(spec)
    assert shape == (n, n, spec.output_channels)
    assert multiplications == sum(branch.multiplications for branch in inception.branches(spec))


def test_googlenet_3a_and_its_nine_modules():
    assert inception.GOOGLENET_3A.output_channels == 256
    rows = inception.googlenet_modules()
    assert [row.name for row in rows] == list(inception.GOOGLENET_MODULES)
    assert rows[0].shape == (256, 28, 28) and rows[1].shape == (480, 28, 28) and rows[-1].shape == (1024, 7, 7)


def test_a_block_on_a_one_pixel_input_is_counted_in_eval_mode():
    block = resnets.residual_block_cost(1, 64, 128, stride=2)  # batch norm has one value per channel here
    assert block.output_shape == (1, 1, 128) and not block.identity


def test_the_gradient_spread_is_the_largest_norm_over_the_smallest():
    assert resnets.gradient_spread({"plain 8": [0.5, 4.0, 2.0], "ResNet 9": [1.0, 1.0]}) == {
        "plain 8": 8.0,
        "ResNet 9": 1.0,
    }


def test_the_degradation_job_s_memory_is_counted_from_its_four_networks():
    from core.runtime.budget import activation_values

    config = resnets.DegradationConfig(shallow=4, deep=8, width=8, batch_size=32)
    expected = 0
    for network in config.networks().values():  # built on the CPU, as a check of the meta count
        params = sum(parameter.numel() for parameter in network.parameters())
        with torch.device("meta"):
            values = sum(activation_values(network.to("meta"), (1, 8, 8)))
        expected += 4 * (3 * params + 3 * 32 * values)
    estimate = resnets.DegradationJob(config).estimate()
    assert estimate.parts["the networks' depth and width"] == expected
    assert resnets.DegradationJob(config).estimate() is estimate  # counted once per settings
