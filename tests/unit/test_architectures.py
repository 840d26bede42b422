"""core.architectures.registry: every entry against its published figures (parametrized over the
registry, as timm tests its models), the two networks built here, and module tables."""

from __future__ import annotations

import time

import pytest
import torch

from core.architectures import mobilenet as mn
from core.architectures import registry as arch
from core.runtime.errors import UserError

NAMES = [entry.name for entry in arch.list_architectures()]
PUBLISHED = [entry.name for entry in arch.list_architectures() if entry.weights_tag]


@pytest.mark.parametrize("name", PUBLISHED)
def test_counted_parameters_and_macs_equal_the_published_ones(name):
    entry, stats = arch.get_architecture(name), arch.architecture_stats(name)
    published = entry.published()
    assert stats.params == published.params
    assert stats.macs == pytest.approx(published.gmacs * 1e9, rel=0.01)
    assert stats.flops == 2 * stats.macs and published.categories == 1000
    assert 40 < published.acc1 < 90 and published.acc1 < published.acc5


@pytest.mark.parametrize("name", NAMES)
def test_every_entry_runs_at_its_smallest_input_and_refuses_a_smaller_one(name):
    entry = arch.get_architecture(name)
    assert arch.architecture_stats(name, entry.min_size).macs > 0
    with pytest.raises(UserError, match=f"at least {entry.min_size} px"):
        arch.architecture_stats(name, entry.min_size - 1)


def test_lenet5_is_the_classic_sixty_thousand():
    stats = arch.architecture_stats("lenet5")
    assert stats.params == 61_706
    assert arch.LeNet5()(torch.zeros(2, 1, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize(
    ("width", "resolution", "paper_mmacs", "paper_mparams"),
    [
        (1.0, 224, 569, 4.2),
        (0.75, 224, 325, 2.6),
        (0.5, 224, 149, 1.3),
        (0.25, 224, 41, 0.5),
        (1.0, 192, 418, 4.2),
        (1.0, 160, 291, 4.2),
        (1.0, 128, 186, 4.2),
    ],
)
def test_mobilenet_v1_comes_out_as_in_the_paper(width, resolution, paper_mmacs, paper_mparams):
    """Howard et al. 2017, Tables 6 and 7."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = mn.mobilenet_v1(width).eval()
        image = torch.zeros(1, 3, resolution, resolution)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(image)
    assert round(counter.get_total_flops() / 2e6) == paper_mmacs
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 1) == paper_mparams


def test_the_whole_zoo_is_counted_in_a_few_seconds_and_cached():
    arch.architecture_stats.cache_clear()
    started = time.perf_counter()
    first = [arch.architecture_stats(name) for name in NAMES]
    counted_s = time.perf_counter() - started
    started = time.perf_counter()
    assert [arch.architecture_stats(name) for name in NAMES] == first
    assert time.perf_counter() - started < 0.05 < counted_s  # the second pass reads the cache


def test_vgg16_activations_count_the_input_and_every_conv_pool_and_fc_output():
    stats = arch.architecture_stats("vgg16")
    convs = 2 * 224**2 * 64 + 2 * 112**2 * 128 + 3 * 56**2 * 256 + 3 * 28**2 * 512 + 3 * 14**2 * 512
    pools = 112**2 * 64 + 56**2 * 128 + 28**2 * 256 + 14**2 * 512 + 7**2 * 512
    assert stats.activations == 224**2 * 3 + convs + pools + 7**2 * 512 + 4096 + 4096 + 1000  # + the adaptive pool
    assert stats.activation_mb == pytest.approx(stats.activations * 4 / 1e6)


def test_module_rows_add_up_to_the_network():
    with torch.device("meta"):
        model = arch.LeNet5().eval()
    rows = arch.module_rows(model, (1, 32, 32), ["features.0", "features.2", "features.3", "classifier.1"])
    assert [row.shape for row in rows] == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (120,)]
    assert [row.params for row in rows] == [156, 0, 2416, 48_120]
    assert rows[0].macs == 28 * 28 * 6 * 25 and rows[3].macs == 400 * 120
    assert [row.kind for row in rows] == ["Conv2d", "AvgPool2d", "Conv2d", "Linear"]


def test_unknown_names_and_widths_are_refused():
    with pytest.raises(KeyError, match="resnet18"):
        arch.get_architecture("resnet9000")
    for width in (0, 1.5):
        with pytest.raises(UserError, match="width multiplier"):
            mn.mobilenet_v1(width)


def test_a_classic_network_s_rows_are_its_counted_layers_with_the_module_s_parameters():
    rows = arch.network_rows("lenet5")
    model = arch.get_architecture("lenet5").builder()
    assert sum(row.params for row in rows) == sum(parameter.numel() for parameter in model.parameters())
    assert rows[0].name == next(name for name, module in model.named_modules() if isinstance(module, torch.nn.Conv2d))


def test_vgg16_keeps_most_of_its_parameters_in_the_fully_connected_layers():
    assert arch.fully_connected_share(arch.network_rows("vgg16")) == pytest.approx(123_642_856 / 138_357_544)
