"""The U-Net segmentation page through streamlit.testing: every section, good and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import segmentation as seg
from core.segmentation import shapes
from tests.app.elements import captions, finish_job, frame, job_of, metrics, texts
from tests.conftest import ROOT
from tests.images import encode
from tests.models import save_untrained_torchvision, save_untrained_yolo

PAPER = "Paper: 572² in, 1 channel, 2 classes, valid padding"


@pytest.fixture()
def app(caches) -> AppTest:
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=240)
    app.switch_page("app_pages/segmentation.py").run()
    assert not app.exception, app.exception
    return app


def mask_png(labels: np.ndarray) -> bytes:
    from PIL import Image

    return encode(Image.fromarray(labels.astype(np.uint8)), "PNG")


def test_the_papers_unet_table_and_a_size_that_does_not_fit(app):
    assert metrics(app)["Parameters"] == "31,036,546"
    table = frame(app, "output C×H×W")
    assert table["output C×H×W"].iloc[-1] == "2 × 388 × 388"
    assert table["skip concatenated"].iloc[5] == "512 × 52 × 52"
    app.number_input(key=f"unet-h-{PAPER}").set_value(100).run()
    assert any("the height must" in e or "smallest that fits is 188" in e for e in texts(app, "error"))
    app.number_input(key=f"unet-h-{PAPER}").set_value(572)
    app.radio(key=f"unet-padding-{PAPER}").set_value("same").run()
    assert (
        "With 'same' padding and depth 4, the image height must be a multiple of 2^4 = 16; 572 is not (try 576)."
        in texts(app, "error")
    )
    app.number_input(key=f"unet-h-{PAPER}").set_value(576)
    app.number_input(key=f"unet-w-{PAPER}").set_value(576).run()
    assert frame(app, "output C×H×W")["output C×H×W"].iloc[-1] == "2 × 576 × 576"


def test_transposed_convolution_course_example_and_bad_settings(app):
    assert any("PyTorch agrees" in s and "padding=1, output_padding=1" in s for s in texts(app, "success"))
    output = next(f.value for f in app.dataframe if f.value.shape == (4, 4)).to_numpy()
    np.testing.assert_array_equal(output, [[0, 4, 0, 1], [10, 7, 6, 3], [0, 7, 0, 2], [6, 3, 4, 2]])
    app.slider(key="tc-step-4").set_value(1).run()
    assert any("**Placement 1 of 4:** input (0, 0) = 2 times the filter" in m for m in texts(app, "markdown"))
    app.number_input(key="tc-output-padding").set_value(2).run()
    assert any("output padding" in e.lower() for e in texts(app, "error")) and not app.exception
    app.number_input(key="tc-output-padding").set_value(1)
    app.number_input(key="tc-padding").set_value(3).run()  # o = 2·1 − 6 + 3 + 1 = 0
    assert texts(app, "error") == ["The padding crops everything: the output size would be 0."] and not app.exception
    app.number_input(key="tc-padding").set_value(20).run()
    assert texts(app, "error") == ["Padding p must be between 0 and 16, not 20."]


def test_synthetic_samples_and_their_downloads(app):
    assert sorted(c for c in captions(app) if c.startswith("sample ")) == [
        f"sample {i}: image | labels" for i in range(8)
    ]
    labels = [button.label for button in app.get("download_button")]
    assert "Sample 0 mask (PNG, class numbers)" in labels


def test_the_shipped_checkpoint_scores_a_fresh_sample_and_an_uploaded_mask(app):
    assert not any("not on this machine" in w and "U-Net" in w for w in texts(app, "warning"))
    assert float(metrics(app)["Mean IoU"]) > 0.8  # a fresh synthetic sample against its own labels
    assert {"True labels (the sample's own)", "Predicted labels"} <= set(captions(app))
    assert frame(app, "Dice")["class"].tolist() == list(shapes.CLASSES)
    _, truth, _ = shapes.make_sample(777, 0, 64)
    app.file_uploader(key="segment-truth").upload("mask.png", mask_png(shapes.colorize(truth)), "image/png").run()
    assert "Scored against your mask." in " ".join(texts(app, "caption"))
    assert float(metrics(app)["Mean IoU"]) > 0.8  # the legend-coloured mask is the same truth


@pytest.mark.parametrize(
    ("mask", "phrase"),
    [
        (np.zeros((10, 12)), "The mask is 12×10 but the prediction is 64×64"),
        (np.full((64, 64), 9), "label(s) 9 outside 0…3"),
    ],
)
def test_a_mask_that_does_not_match_gets_a_clear_message(app, mask, phrase):
    app.file_uploader(key="segment-truth").upload("mask.png", mask_png(mask), "image/png").run()
    assert any(phrase in e for e in texts(app, "error")) and not app.exception


def test_a_mask_in_unknown_colours_or_not_an_image(app):
    rgb = np.zeros((64, 64, 3), np.uint8) + 77
    app.file_uploader(key="segment-truth").upload("mask.png", mask_png(rgb), "image/png").run()
    assert any("(77, 77, 77), which is not in the legend" in e for e in texts(app, "error"))
    app.file_uploader(key="segment-truth").upload("mask.png", b"nope", "image/png").run()
    assert any("not a readable image" in e for e in texts(app, "error")) and not app.exception


def recording_predictions(monkeypatch) -> list[tuple[object, int | None]]:
    """Every (model, side) the page segments with, recorded around the real calls: the model
    trained in the session, or the shipped checkpoint's name (a call through ``infer``)."""
    from core.runtime import inference

    calls: list[tuple[object, int | None]] = []
    real, real_infer = seg.predict_labels, inference.infer

    def recorded(model, image, device, side=None):
        calls.append((model, side))
        return real(model, image, device, side)

    def recorded_infer(task, name, payload, device, load, **options):
        if task is seg.UNET_LABELS:
            calls.append((name, options["side"]))
        return real_infer(task, name, payload, device, load, **options)

    monkeypatch.setattr(seg, "predict_labels", recorded)
    monkeypatch.setattr(inference, "infer", recorded_infer)
    return calls


def test_a_photo_is_segmented_at_the_training_scale(app, monkeypatch):
    calls = recording_predictions(monkeypatch)
    app.radio(key="segment-input").set_value("Your image").run()
    assert "Overlay, 600×400" in captions(app)  # coffee, labels scaled back to the photo
    assert any("Pixels per class:" in m for m in texts(app, "markdown"))
    assert calls[-1] == ("unet_shapes", 64)  # the checkpoint's training side, from its manifest


def test_a_short_training_run_is_kept_for_inference(app, monkeypatch):
    app.number_input(key="train-epochs").set_value(1)
    app.number_input(key="train-count").set_value(16)
    app.selectbox(key="train-size").set_value(32)
    app.button(key="train-start").click().run()
    finish_job(app, "train")
    assert any("Done: epoch 1 of 1, step 1 of 1" in s for s in texts(app, "success")), texts(app, "error")
    calls = recording_predictions(monkeypatch)
    app.radio(key="segment-model").set_value("Trained in this session").run()
    assert "Mean IoU" in metrics(app) and not app.exception
    trained = job_of(app, "train").job.model
    assert calls and all(model is trained and side == 32 for model, side in calls)
    assert "The U-Net trained in this session: 1 step on 32×32 images." in [c.value for c in app.caption]


def test_training_beyond_the_memory_budget_is_refused_naming_the_setting(app, monkeypatch):
    app.number_input(key="train-epochs").set_value(200)
    app.number_input(key="train-count").set_value(20_000)
    app.number_input(key="train-batch").set_value(256)
    app.selectbox(key="train-size").set_value(128).run()
    refusal = next(e for e in texts(app, "error") if "would need about" in e)
    assert refusal.startswith("Training on 20,000 images of 128² in batches of 256 would need about 20,")
    assert refusal.endswith("Lower the batch size or the image size.")
    assert not any(b.key == "train-start" for b in app.button)  # nothing to start
    monkeypatch.setenv("CNNLAB_JOB_MEMORY_MB", "1000")
    app.number_input(key="train-batch").set_value(16).run()
    refusal = next(e for e in texts(app, "error") if "would need about" in e)
    assert refusal.endswith("Lower the number of training images.")
    app.number_input(key="train-count").set_value(2_000)
    app.number_input(key="train-batch").set_value(4).run()
    assert not any("would need about" in e for e in texts(app, "error"))
    assert any(b.key == "train-start" for b in app.button)


def test_real_photo_segmenters_say_how_to_get_their_weights(app):
    warnings = texts(app, "warning")
    assert any("DeepLabV3" in w and "make weights" in w for w in warnings)
    assert any("YOLO11n instance segmentation" in w for w in warnings)


@pytest.mark.slow
def test_real_photo_segmenters_run_when_their_weights_are_cached(app):
    save_untrained_torchvision("deeplabv3_mobilenet_v3_large")  # untrained: structure only
    save_untrained_yolo("yolo11n-seg", class_logit=2.0)
    app.run()
    assert not any("DeepLabV3" in w for w in texts(app, "warning"))
    app.button(key="photo-run").click().run()
    assert not app.exception
    shown = captions(app)
    assert any(c.startswith("DeepLabV3") for c in shown)
    assert any(c.startswith("YOLO11n-seg: ") and c.endswith(" instances") for c in shown)
