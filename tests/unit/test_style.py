"""core.style.neural_style: the course's formulas against loops written from them, VGG truncation, the
optimization on a small random VGG-shaped network and through the real VGG19 loading path,
colour preservation, style blending, and receptive fields against autograd."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from core.runtime.examples import example_image
from core.runtime.weights import load_pretrained
from core.style import neural_style as style
from tests.models import save_untrained_torchvision


def tiny_vgg(width: int = 4) -> nn.Sequential:
    """VGG19's layout (2, 2, 4, 4, 4 convs per block, max-pooling between) with few channels."""
    layers: list[nn.Module] = []
    channels = 3
    for block, convs in enumerate((2, 2, 4, 4, 4)):
        for _ in range(convs):
            layers += [nn.Conv2d(channels, width * 2 ** min(block, 3), 3, padding=1), nn.ReLU()]
            channels = width * 2 ** min(block, 3)
        layers.append(nn.MaxPool2d(2, 2))
    torch.manual_seed(0)
    return nn.Sequential(*layers).eval()


def gram_loops(a: np.ndarray) -> np.ndarray:  # a: (C, H, W)
    channels, height, width = a.shape
    gram = np.zeros((channels, channels))
    for k in range(channels):
        for k2 in range(channels):
            for i in range(height):
                for j in range(width):
                    gram[k, k2] += a[k, i, j] * a[k2, i, j]
    return gram


@settings(max_examples=20, deadline=None)
@given(
    channels=st.integers(1, 5),
    height=st.integers(1, 5),
    width=st.integers(1, 5),
    seed=st.integers(0, 1000),
    batched=st.booleans(),
)
def test_gram_style_and_content_costs_equal_loops_from_the_formulas(channels, height, width, seed, batched):
    generator = torch.Generator().manual_seed(seed)
    a_s, a_g = torch.rand(2, channels, height, width, generator=generator, dtype=torch.float64)
    given_s, given_g = (a_s[None], a_g[None]) if batched else (a_s, a_g)
    g_s, g_g = gram_loops(a_s.numpy()), gram_loops(a_g.numpy())
    np.testing.assert_allclose(style.gram_matrix(given_s).numpy(), g_s, rtol=1e-5)
    expected_style = (
        sum((g_s[k, k2] - g_g[k, k2]) ** 2 for k in range(channels) for k2 in range(channels))
        / (2 * height * width * channels) ** 2
    )
    assert style.style_cost(given_s, given_g).item() == pytest.approx(expected_style, rel=1e-4)
    squared = sum(
        (a_s[k, i, j] - a_g[k, i, j]).item() ** 2 for k in range(channels) for i in range(height) for j in range(width)
    )
    assert style.content_cost(given_s, given_g).item() == pytest.approx(squared / 2, rel=1e-5)
    assert style.content_cost(given_s, given_g, normalized=True).item() == pytest.approx(
        squared / (4 * height * width * channels), rel=1e-5
    )
    assert style.style_cost(given_s, given_g).dim() == 0 and style.content_cost(given_s, given_g).dim() == 0


def test_a_batch_of_activations_is_refused():
    with pytest.raises(ValueError, match="one image"):
        style.gram_matrix(torch.rand(2, 3, 4, 4))


def test_vgg19_layer_names_and_truncation_to_the_deepest_layer():
    from torchvision.models import vgg19

    features = style.vgg19_features(vgg19())
    names = style.layer_names(features)
    assert [names[name] for name in ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1")] == [
        1,
        6,
        11,
        20,
        22,
        29,
    ]
    assert isinstance(features[names["conv4_2"] - 1], nn.Conv2d) and features[names["conv4_2"] - 1].out_channels == 512
    default = style.VGGFeatures(features, style.StyleConfig().layers)
    assert len(default.features) == 30  # up to conv5_1's ReLU, not the 37 layers of VGG19's features
    shallow = style.VGGFeatures(features, ["conv1_1", "conv2_1"])
    assert len(shallow.features) == 7
    outputs = shallow(torch.rand(1, 3, 32, 32))
    assert set(outputs) == {"conv1_1", "conv2_1"} and outputs["conv2_1"].shape == (1, 128, 16, 16)
    with pytest.raises(ValueError, match="Unknown layer"):
        style.VGGFeatures(features, ["conv6_1"])


def test_zero_weight_for_every_style_layer_is_a_clear_error():
    with pytest.raises(ValueError, match="Every style layer has weight 0"):
        style.StyleConfig(style_weights={name: 0.0 for name in style.STYLE_LAYERS})
    assert style.StyleConfig(style_weights={"conv1_1": 1.0, "conv5_1": 0.0}).layers == ["conv4_2", "conv1_1"]


def run(extractor, config, styles=None, content=None):
    content = content if content is not None else style.to_tensor(example_image("astronaut"), config.image_size)
    styles = styles or [(style.to_tensor(example_image("hubble_deep_field"), config.image_size), 1.0)]
    return list(style.transfer(extractor, content, styles, config))


@pytest.mark.parametrize("init", ["content", "noise", "style"])
@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_the_cost_falls_on_a_small_random_vgg(init, optimizer):
    config = style.StyleConfig(
        content_layer="conv3_1",
        iterations=15,
        image_size=32,
        init=init,
        optimizer=optimizer,
        preview_every=5,
        learning_rate=0.01,
        tv_weight=1e-3,
    )  # conv4_2 of so few channels is dead
    history = run(style.VGGFeatures(tiny_vgg(), config.layers), config)
    totals = [progress.losses["total"] for progress in history]
    assert min(totals) < totals[0]
    assert [progress.step for progress in history] == list(range(1, 16))
    assert [progress.preview is not None for progress in history].count(True) == 4  # steps 1, 5, 10 and 15
    assert history[-1].preview.shape == (32, 32, 3) and history[-1].preview.dtype == np.uint8
    assert set(history[0].losses) >= {"total", "content", "style", "tv", "style conv1_1", "style conv5_1"}


@pytest.mark.parametrize("init", ["content", "noise", "style"])
def test_the_run_starts_from_the_chosen_image(init):
    """One step at a tiny learning rate leaves G where ``init`` put it: the content, the
    style resized to the content, or seeded noise (the same for the same seed)."""
    config = style.StyleConfig(iterations=1, image_size=32, init=init, learning_rate=1e-6, seed=5)
    content = style.to_tensor(example_image("astronaut"), 32)
    style_image = style.to_tensor(example_image("hubble_deep_field"), 48)
    start = style.initial_image(content, style_image, config)
    history = run(style.VGGFeatures(tiny_vgg(), config.layers), config, [(style_image, 1.0)], content)
    torch.testing.assert_close(history[0].best, start, atol=1e-4, rtol=0)
    others = [
        style.initial_image(content, style_image, replace(config, init=other))
        for other in ("content", "noise", "style")
        if other != init
    ]
    assert all((start - other).abs().max() > 0.1 for other in others)
    assert start.shape == content.shape


def test_the_last_preview_is_the_best_image_seen():
    config = style.StyleConfig(iterations=12, image_size=32, init="noise", preview_every=100)
    history = run(style.VGGFeatures(tiny_vgg(), config.layers), config)
    best_step = min(history, key=lambda progress: progress.losses["total"])
    np.testing.assert_array_equal(history[-1].preview, style.to_image(history[-1].best))
    assert torch.equal(history[-1].best, best_step.best)


def test_through_the_real_loading_path_the_loss_halves_in_30_steps_at_64(caches):
    save_untrained_torchvision("vgg19")
    features = style.vgg19_features(load_pretrained("vgg19"))
    config = style.StyleConfig(iterations=30, image_size=64)
    totals = [progress.losses["total"] for progress in run(style.VGGFeatures(features, config.layers), config)]
    assert totals[-1] <= 0.5 * totals[0]


def test_color_preservation_keeps_the_contents_chroma():
    generator = torch.Generator().manual_seed(1)
    content, generated = torch.rand(2, 1, 3, 16, 16, generator=generator) * 0.2 + 0.4  # no clipping
    kept = style.preserve_colors(generated, content)
    torch.testing.assert_close(style.rgb_to_yuv(kept)[:, 1:], style.rgb_to_yuv(content)[:, 1:], atol=1e-5, rtol=0)
    torch.testing.assert_close(style.rgb_to_yuv(kept)[:, :1], style.rgb_to_yuv(generated)[:, :1], atol=1e-5, rtol=0)
    torch.testing.assert_close(style.yuv_to_rgb(style.rgb_to_yuv(content)), content, atol=1e-5, rtol=0)


def test_blend_weights_mix_the_style_grams():
    extractor = style.VGGFeatures(tiny_vgg(), style.StyleConfig().layers)
    content = torch.rand(1, 3, 32, 32)
    first, second = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32) * 0.3
    config = style.StyleConfig()
    only_first = style.style_targets(extractor, content, [(first, 1.0)], config)
    only_second = style.style_targets(extractor, content, [(second, 1.0)], config)
    blend = style.style_targets(extractor, content, [(first, 3.0), (second, 1.0)], config)
    for name in style.STYLE_LAYERS:
        torch.testing.assert_close(blend.grams[name], 0.75 * only_first.grams[name] + 0.25 * only_second.grams[name])
    with pytest.raises(ValueError, match="weight above 0"):
        style.style_targets(extractor, content, [(first, 0.0)], config)


def test_a_smaller_style_image_gives_the_same_per_position_gram():
    extractor = style.VGGFeatures(tiny_vgg(), ["conv1_1", "conv4_2"])
    flat = torch.full((1, 3, 64, 64), 0.4)
    config = style.StyleConfig(style_weights={"conv1_1": 1.0})
    big = style.style_targets(extractor, flat, [(flat, 1.0)], config)
    small = style.style_targets(extractor, flat, [(flat[..., :32, :32], 1.0)], config)
    # away from the zero padding a flat image activates the same everywhere: the same style at any size
    scale = big.grams["conv1_1"].abs().max().item()
    torch.testing.assert_close(small.grams["conv1_1"], big.grams["conv1_1"], rtol=0, atol=0.1 * scale)


@pytest.mark.parametrize("layer", ["conv1_1", "conv2_1", "conv3_1"])
def test_receptive_fields_match_autograd(layer):
    features = tiny_vgg()
    extractor = style.VGGFeatures(features, [layer])
    field = style.receptive_field(features, layer)
    image = torch.rand(1, 3, 64, 64, requires_grad=True)
    activation = extractor(image)[layer]
    row, column = activation.shape[-2] // 2, activation.shape[-1] // 2
    activation[0, :, row, column].sum().backward()
    rows, columns = (image.grad[0].abs().sum(0) > 0).nonzero(as_tuple=True)
    top, left, bottom, right = field.box(row, column)
    assert (rows.min().item(), columns.min().item()) == (top, left)
    assert (rows.max().item() + 1, columns.max().item() + 1) == (bottom, right)


def test_top_patches_find_the_most_active_positions():
    features = tiny_vgg()
    extractor = style.VGGFeatures(features, ["conv2_1"])
    images = [torch.rand(1, 3, 32, 32), torch.zeros(1, 3, 32, 32)]
    activations = style.layer_activations(extractor, images, "conv2_1")
    assert activations[0].shape == (8, 16, 16)
    patches = style.top_patches(activations, [(32, 32)] * 2, style.receptive_field(features, "conv2_1"), unit=0)
    assert len(patches) == 9
    assert [p.activation for p in patches] == sorted([p.activation for p in patches], reverse=True)
    activation = extractor(images[0])["conv2_1"][0, 0]
    assert patches[0].activation == pytest.approx(
        max(activation.max().item(), extractor(images[1])["conv2_1"][0, 0].max().item())
    )
    for patch in patches:
        top, left, bottom, right = patch.box
        assert 0 <= top < bottom <= 32 and 0 <= left < right <= 32
    from torchvision.ops import box_iou

    for first, second in itertools.combinations(patches, 2):
        if first.image_index == second.image_index:  # (top, left, bottom, right) -> (x1, y1, x2, y2)
            boxes = torch.tensor([[b[1], b[0], b[3], b[2]] for b in (first.box, second.box)], dtype=torch.float)
            assert box_iou(boxes[:1], boxes[1:]).item() <= 0.5


@torch.no_grad()
def test_published_weights_make_our_cost_equal_the_tutorials():
    """The PyTorch tutorial's J, computed with its own formulas (means, Gram ÷ n_C n_H n_W),
    equals ours under ``published_weights``; with the default weights the two differ."""
    network = tiny_vgg(width=8)
    config = style.StyleConfig(content_layer="conv3_1")
    extractor = style.VGGFeatures(network, config.layers)
    generator = torch.Generator().manual_seed(1)
    content, style_image, generated = (torch.rand(1, 3, 32, 32, generator=generator) for _ in range(3))
    a_c, a_s, a_g = extractor(content), extractor(style_image), extractor(generated)

    def tutorial_gram(a: torch.Tensor) -> torch.Tensor:
        _, channels, height, width = a.shape
        flat = a.view(channels, height * width)
        return flat @ flat.T / (channels * height * width)

    content_weight, style_weight = 5.0, 100.0
    tutorial = content_weight * F.mse_loss(a_g["conv3_1"], a_c["conv3_1"]) + style_weight * sum(
        F.mse_loss(tutorial_gram(a_g[name]), tutorial_gram(a_s[name])) for name in style.STYLE_LAYERS
    )
    channels = {name: a_g[name].shape[1] for name in style.STYLE_LAYERS}
    reweighted = style.published_weights(config, channels, content_weight, style_weight)
    targets = style.style_targets(extractor, content, [(style_image, 1.0)], reweighted)
    ours = style.costs(extractor, generated, targets, reweighted)["total"]
    assert float(ours) == pytest.approx(float(tutorial), rel=1e-4)
    assert float(style.costs(extractor, generated, targets, config)["total"]) != pytest.approx(float(tutorial), rel=0.1)


def test_a_feature_montage_lays_maps_four_wide_each_scaled_to_its_own_range():
    activation = torch.stack([torch.full((3, 5), float(c)) + torch.arange(5.0) * (c + 1) for c in range(8)])
    montage = style.feature_montage(activation, channels=8)
    assert montage.shape == (2 * 3, 4 * 5) and montage.dtype == np.uint8
    first = montage[:3, :5]
    assert first.min() == 0 and first.max() == 255  # each map spans the whole range


def test_a_patch_image_is_the_patch_s_box_cut_from_its_image():
    images = [torch.zeros(1, 3, 8, 8), torch.rand(1, 3, 10, 12)]
    patch = style.Patch(image_index=1, box=(2, 3, 6, 9), activation=1.0)
    cut = style.patch_image(images, patch)
    assert cut.shape == (4, 6, 3) and np.array_equal(cut, style.to_image(images[1][..., 2:6, 3:9]))
