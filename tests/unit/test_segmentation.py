"""core.segmentation and core.segmentation.shapes: U-Net shapes and parameters, the transposed convolution
against torch, metrics, the synthetic set, training, and the shipped checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from core import segmentation as seg
from core.runtime.errors import UserError
from core.segmentation import shapes

# -- U-Net ---------------------------------------------------------------------------------------


def test_the_papers_configuration_has_about_31_million_parameters():
    model = seg.UNet(1, 2, base_channels=64, depth=4, bilinear=False)
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(31.0e6, rel=0.005)


def test_the_papers_valid_shapes():
    table = seg.UNet(1, 2, padding="valid").stages(572, 572)
    assert [stage.output_shape[1] for stage in table] == [568, 280, 136, 64, 28, 52, 100, 196, 388, 388]
    assert [stage.output_shape[0] for stage in table] == [64, 128, 256, 512, 1024, 512, 256, 128, 64, 2]
    assert table[5].skip_shape == (512, 52, 52)  # the cropped skip concatenated in up 1
    assert sum(stage.params for stage in table) == sum(p.numel() for p in seg.UNet(1, 2, padding="valid").parameters())


@pytest.mark.parametrize(
    ("depth", "padding", "bilinear", "side"),
    [
        (1, "same", False, 32),
        (2, "same", True, 48),
        (3, "same", False, 64),
        (2, "valid", False, 68),
        (3, "valid", True, 92),
    ],
)
def test_forward_shapes_match_the_table(depth, padding, bilinear, side):
    model = seg.UNet(3, 4, base_channels=4, depth=depth, padding=padding, bilinear=bilinear)
    out = model(torch.rand(2, 3, side, side))
    table = model.stages(side, side)
    assert out.shape == (2, 4, *table[-1].output_shape[1:])
    assert out.shape[-1] == seg.check_input_size(side, side, depth, padding)[1]
    if padding == "same":
        assert out.shape[-2:] == (side, side)


def test_sizes_that_do_not_fit_name_the_limit():
    with pytest.raises(ValueError, match="multiple of 2\\^4 = 16; 100 is not"):
        seg.check_input_size(100, 96, 4, "same")
    with pytest.raises(ValueError, match="smallest that fits is 188"):
        seg.check_input_size(100, 100, 4, "valid")
    assert seg.minimum_valid_input(4) == 188
    with pytest.raises(ValueError, match="multiple of 2\\^6 = 64; 32 is not"):
        seg.UNet(3, 2, 4, depth=6).stages(32, 32)


# -- transposed convolution ---------------------------------------------------------------------------------


def test_course_transposed_convolution_example():
    result = seg.transposed_convolution(
        [[2, 1], [3, 2]], [[1, 2, 1], [2, 0, 1], [0, 2, 1]], stride=2, padding=1, output_padding=1
    )
    np.testing.assert_array_equal(result.output, [[0, 4, 0, 1], [10, 7, 6, 3], [0, 7, 0, 2], [6, 3, 4, 2]])
    assert len(result.placements) == 4 and result.placements[1].left == 2
    np.testing.assert_array_equal(result.placements[0].contribution, 2 * np.array([[1, 2, 1], [2, 0, 1], [0, 2, 1]]))


@settings(max_examples=80)
@given(
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(0, 3),
    st.integers(0, 2),
    st.integers(0, 2**32 - 1),
)
def test_transposed_convolution_equals_torch(height, width, f, stride, padding, output_padding, seed):
    rng = np.random.default_rng(seed)
    x, k = rng.normal(size=(height, width)), rng.normal(size=(f, f))
    try:
        expected = F.conv_transpose2d(
            torch.tensor(x)[None, None],
            torch.tensor(k)[None, None],
            stride=stride,
            padding=padding,
            output_padding=output_padding,
        )[0, 0].numpy()
    except RuntimeError:  # torch refuses it: so must we, with a message
        with pytest.raises(ValueError):
            seg.transposed_convolution(x, k, stride, padding, output_padding)
        return
    np.testing.assert_allclose(
        seg.transposed_convolution(x, k, stride, padding, output_padding).output, expected, atol=1e-9
    )


# -- metrics ------------------------------------------------------------------------------------------------


def test_scores_by_hand():
    truth = np.array([[0, 0, 1, 1], [0, 0, 1, 1]])
    predicted = np.array([[0, 1, 1, 1], [0, 0, 1, 2]])
    result = seg.segmentation_scores(predicted, truth, 4)
    assert result.pixel_accuracy == 6 / 8
    np.testing.assert_allclose(result.iou[:3], [3 / 4, 3 / 5, 0.0])
    np.testing.assert_allclose(result.dice[:3], [6 / 7, 6 / 8, 0.0])
    assert np.isnan(result.iou[3]) and result.mean_iou == pytest.approx((3 / 4 + 3 / 5 + 0) / 3)


def test_bad_masks_get_a_clear_message():
    with pytest.raises(ValueError, match="the mask is 3×2 but the prediction is 4×2".capitalize()):
        seg.segmentation_scores(np.zeros((2, 4)), np.zeros((2, 3)), 4)
    with pytest.raises(ValueError, match="label\\(s\\) 7, 255 outside 0…3.*0 = background, 1 = circle"):
        seg.segmentation_scores(np.zeros((2, 2)), np.array([[0, 7], [255, 1]]), 4)


# -- the synthetic set -------------------------------------------------------------------------------------


def test_samples_are_reproducible_and_varied():
    a, b = shapes.make_sample(3, 5), shapes.make_sample(3, 5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], shapes.make_sample(3, 6)[0])
    _, labels = shapes.make_set(0, 40)
    assert set(np.unique(labels)) == {0, 1, 2, 3}


def test_labels_match_the_drawn_shapes():
    for index in range(20):
        image, labels, drawn = shapes.make_sample(1, index, size=96, noise=False)
        for label in np.unique(labels[labels > 0]):
            on_top = next(shape for shape in reversed(drawn) if shape.label == label)
            colors = {tuple(pixel) for pixel in image[labels == label]}
            # every labelled pixel was painted by a shape of that class, the topmost one included
            assert set(map(tuple, (s.color for s in drawn if s.label == label))) >= colors
            assert on_top.color in colors or (labels == label).sum() < 4


def test_overlay_blends_only_labelled_pixels():
    image = np.full((2, 2, 3), 100, np.uint8)
    labels = np.array([[0, 1], [2, 0]], np.uint8)
    half = shapes.overlay(image, labels, 0.5)
    np.testing.assert_array_equal(half[0, 0], [100, 100, 100])  # background untouched
    np.testing.assert_array_equal(half[0, 1], np.round((100 + np.array(shapes.COLORS[1])) / 2))
    np.testing.assert_array_equal(shapes.overlay(image, labels, 1.0)[1, 0], shapes.COLORS[2])
    with pytest.raises(ValueError, match="between 0 and 1"):
        shapes.overlay(image, labels, 1.5)


def test_too_small_images_are_refused():
    with pytest.raises(ValueError, match="at least 16×16"):
        shapes.make_sample(0, 0, size=8)


# -- training and the checkpoint ---------------------------------------------------------------------------


def test_a_few_steps_lower_the_loss():
    config = seg.TrainingConfig(
        epochs=3, train_images=32, validation_images=8, batch_size=8, image_size=32, base_channels=4, depth=2
    )
    model = seg.new_model(config)
    data = seg.TrainingData.make(config)
    reports = list(seg.train(model, data, config, torch.device("cpu"), report_every=1))
    losses = [report.loss for report in reports if report.validation is None]
    assert len(losses) == 12 and np.mean(losses[-3:]) < np.mean(losses[:3])
    assert [report.epoch for report in reports if report.validation is not None] == [1, 2, 3]
    assert not model.training


def test_the_training_set_is_the_shapes_set_kept_as_bytes():
    config = seg.TrainingConfig(train_images=5, validation_images=2, image_size=32)
    data = seg.TrainingData.make(config)
    images, labels = shapes.make_set(config.data_seed, 5, 32)
    assert data.images.dtype == data.labels.dtype == torch.uint8
    assert torch.equal(data.images, torch.from_numpy(images).permute(0, 3, 1, 2))
    assert torch.equal(data.labels, torch.from_numpy(labels))
    assert torch.equal(data.validation_labels, torch.from_numpy(shapes.make_set(config.data_seed + 10_000, 2, 32)[1]))
    batch = seg.as_input(data.images[:2], "cpu")
    assert batch.dtype == torch.float32 and torch.equal(batch, data.images[:2].float() / 255)


def test_stopping_early_keeps_the_model_so_far():
    config = seg.TrainingConfig(epochs=5, train_images=32, batch_size=8, image_size=32, base_channels=4, depth=2)
    model = seg.new_model(config)
    before = [p.detach().clone() for p in model.parameters()]
    for report in seg.train(model, seg.TrainingData.make(config), config, torch.device("cpu"), report_every=1):
        if report.step == 3:
            break
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_checkpoint_round_trip(tmp_path):
    model = seg.UNet(3, 4, 4, depth=2).eval()
    seg.save_checkpoint(model, tmp_path / "unet.pt")
    loaded = seg.load_checkpoint(tmp_path / "unet.pt")
    assert loaded.config == model.config
    x = torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(loaded(x), model(x), atol=2e-2, rtol=1e-2)  # float16 storage


def test_predict_labels_pads_odd_sizes():
    model = seg.UNet(3, 4, 4, depth=3).eval()
    labels = seg.predict_labels(model, np.zeros((37, 50, 3), np.uint8), torch.device("cpu"))
    assert labels.shape == (37, 50) and labels.dtype == np.uint8 and labels.max() < 4


@pytest.mark.slow
def test_torchvision_segmenter_plumbing(caches):
    """DeepLabV3 with untrained weights in the exact cache file: the plumbing (preprocessing,
    upsampling to the photo, argmax, shares), never the quality of the labels."""
    from torchvision.models import get_weight

    from core.runtime.examples import example_image
    from core.runtime.weights import get_weights, load_pretrained
    from tests.models import save_untrained_torchvision

    entry = get_weights("deeplabv3_mobilenet_v3_large")

    torch.manual_seed(0)
    save_untrained_torchvision(entry.name)
    model = load_pretrained(entry.name)
    image = example_image("coffee")
    result = seg.segment_with_torchvision(model, entry.pretrained_tag, image, torch.device("cpu"))
    assert result.labels.shape == image.shape[:2] and result.overlay.shape == image.shape
    assert result.categories[0] == "__background__" and len(result.categories) == 21
    with torch.inference_mode():  # the weights' own preprocessing, the model, the upsampled argmax
        pixels = get_weight(entry.pretrained_tag).transforms()(torch.from_numpy(image.copy()).permute(2, 0, 1))
        scores = torch.nn.functional.interpolate(model(pixels[None])["out"], size=image.shape[:2], mode="bilinear")
    assert (result.labels == scores.argmax(1)[0].numpy()).mean() > 0.999
    counts = np.bincount(result.labels.ravel(), minlength=21) / result.labels.size
    assert result.shares == pytest.approx({result.categories[i]: counts[i] for i in range(1, 21) if counts[i] > 0})
    assert "__background__" not in result.shares


def test_checkpoint_manifest_and_the_shipped_scores():
    """The committed checkpoint: its manifest matches the file, and it scores mean IoU >= 0.9
    on freshly generated images (a seed used neither in training nor in validation)."""
    import hashlib

    from core.runtime.weights import get_weights, load_pretrained

    path = get_weights("unet_shapes").cache_path()
    manifest = seg.checkpoint_manifest(path)
    assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert path.stat().st_size < 10 * 2**20 and manifest["command"].startswith("python -m scripts.train_unet")
    model = load_pretrained("unet_shapes")
    config = seg.TrainingConfig(**manifest["config"])
    fresh_seed = manifest["fresh_test"]["data_seed"] + 1  # not even the manifest's own test images
    images, labels = shapes.make_set(fresh_seed, 100, config.image_size)
    scores = seg.evaluate(model, torch.from_numpy(images).permute(0, 3, 1, 2), torch.from_numpy(labels), "cpu")
    assert scores.mean_iou >= 0.9


def test_the_canvas_after_each_placement_adds_one_scaled_filter():
    x, kernel = np.array([[2.0, 1.0], [3.0, 2.0]]), np.array([[1.0, 2.0, 1.0], [2.0, 0.0, 1.0], [0.0, 2.0, 1.0]])
    result = seg.transposed_convolution(x, kernel, stride=2, padding=1, output_padding=1)
    assert np.array_equal(result.canvas_after(len(result.placements)), result.canvas)
    first = result.canvas_after(1)
    assert np.array_equal(first[:3, :3], 2.0 * kernel) and first[3:, :].sum() == first[:, 3:].sum() == 0
    for step in range(1, len(result.placements)):
        placement = result.placements[step]
        added = result.canvas_after(step + 1) - result.canvas_after(step)
        top, left = placement.top, placement.left
        assert np.array_equal(added[top : top + 3, left : left + 3], placement.value * kernel)
        assert np.abs(added).sum() == np.abs(placement.value * kernel).sum()


def test_predicting_at_the_training_scale_runs_the_network_on_the_resized_photo():
    """With ``side`` the network sees the photo at that size (padded to 2^depth) and the
    labels come back at the photo's size; without it, at the photo's own size."""
    model = seg.UNet(3, 4, base_channels=2, depth=2).eval()
    seen = []
    model.register_forward_hook(lambda module, inputs, output: seen.append(tuple(inputs[0].shape[-2:])))
    photo = np.random.default_rng(0).integers(0, 256, (300, 450, 3), dtype=np.uint8)
    labels = seg.predict_labels(model, photo, torch.device("cpu"), side=64)
    assert seen[-1] == (44, 64) and labels.shape == (300, 450)  # 43 → 44, a multiple of 4
    seg.predict_labels(model, photo, torch.device("cpu"))
    assert seen[-1] == (300, 452)


def test_a_mask_file_is_read_as_class_numbers_or_legend_colours():
    from PIL import Image

    from tests.images import encode

    labels = np.array([[0, 1, 2], [3, 3, 0]], np.uint8)
    np.testing.assert_array_equal(seg.load_mask(encode(Image.fromarray(labels), "PNG"), 4), labels)
    colours = np.asarray(shapes.COLORS, np.uint8)[labels]
    np.testing.assert_array_equal(seg.load_mask(encode(Image.fromarray(colours), "PNG"), 4, shapes.COLORS), labels)
    colours[0, 0] = (1, 2, 3)
    with pytest.raises(UserError, match=r"the colour \(1, 2, 3\), which is not in the legend"):
        seg.load_mask(encode(Image.fromarray(colours), "PNG"), 4, shapes.COLORS)


def test_a_mask_beyond_the_pixel_limit_is_refused_before_it_is_decoded():
    from tests.images import png_header_only

    with pytest.raises(UserError, match="The mask is 12000×12000 pixels; masks, like images, are read up to 40"):
        seg.load_mask(png_header_only(12_000, 12_000), 4, shapes.COLORS)


def test_the_training_job_trains_its_own_model_and_shows_validation_samples_each_epoch():
    from core.runtime.jobs import CancelToken

    config = seg.TrainingConfig(epochs=2, train_images=16, batch_size=8, image_size=32)
    job = seg.TrainingJob(config)
    assert job.model is None  # nothing is built until the job runs
    before = [parameter.detach().clone() for parameter in seg.new_model(config).parameters()]
    steps = list(job.run(torch.device("cpu"), CancelToken()))
    assert [step.done for step in steps] == [2, 4] and steps[-1].total == 4
    assert steps[-1].text == "epoch 2 of 2, step 4 of 4"
    samples = steps[-1].record.samples  # 4 rows of image | truth | prediction, 32 px each
    assert samples.shape == (4 * 32, 3 * 32, 3) and samples.dtype == np.uint8
    assert any(not torch.equal(a, b) for a, b in zip(before, job.model.parameters()))
    assert job.title == "Training on 16 images of 32² in batches of 8"
    assert job.estimate().total == seg.training_memory(config).total


def test_a_cancelled_training_job_ends_after_the_step_it_is_in():
    from core.runtime.jobs import CancelToken

    cancel = CancelToken()
    job = seg.TrainingJob(seg.TrainingConfig(epochs=50, train_images=16, batch_size=8, image_size=32))
    steps = []
    for step in job.run(torch.device("cpu"), cancel):
        steps.append(step)
        cancel.cancel()
    assert len(steps) == 1


def test_class_shares_count_every_pixel_once():
    labels = np.array([[0, 0, 1], [3, 3, 3]], dtype=np.uint8)
    shares = shapes.class_shares(labels)
    assert list(shares) == list(shapes.CLASSES) and sum(shares.values()) == pytest.approx(1.0)
    assert [shares[name] for name in shapes.CLASSES] == pytest.approx([2 / 6, 1 / 6, 0.0, 3 / 6])


@pytest.mark.parametrize("depth", [1, 3, 4])
def test_the_u_goes_down_once_per_pooling_and_each_skip_joins_its_own_level(depth):
    table = seg.shape_table(64, 64, in_channels=3, num_classes=2, depth=depth, base_channels=4)
    levels = seg.u_levels(table)
    assert levels[0] == 0 and levels[-1] == 0 and max(levels) == depth
    skips = seg.skip_connections(table)
    assert len(skips) == depth
    for source, target in skips:
        assert table[source].path == "contracting" and table[target].path == "expanding"
        assert levels[source] == levels[target] and table[source].output_shape[1:] == table[target].skip_shape[1:]
