"""core.transfer.deploy: a trained classifier on camera frames (the same answers as
classify_photo), its ONNX export read back by onnxruntime, and its model card. Networks
with random weights: plumbing and equality, never accuracy."""

from __future__ import annotations

import datetime
import json

import numpy as np
import onnxruntime
import pytest
import torch

from core.media.video import SourceFrame
from core.runtime.examples import example_image
from core.runtime.images import fit_within
from core.transfer import deploy
from core.transfer import regimes as transfer

CLASSES = ("cat", "coffee")


def trained_run(accuracy: float = 1.0, held_out: int = 10, regime: str = "scratch") -> transfer.RegimeRun:
    backbone = transfer.BACKBONES["mobilenet_v3_large"]
    network = transfer.transfer_net(backbone, None, len(CLASSES), seed=0).eval()
    progress = transfer.RegimeProgress(regime, 3, 1.0, accuracy, 0.5, np.array([[5, 0], [0, 5]]))
    return transfer.RegimeRun(regime, (progress,), network, CLASSES, backbone, False, 3, held_out)


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    return [fit_within(example_image(name), 128) for name in ("chelsea", "coffee", "rocket")]


def test_a_frame_gets_the_same_probabilities_as_a_photo(photos):
    run = trained_run()
    work = deploy.LiveClassifier.of(run)
    bgr = np.ascontiguousarray(photos[0][..., ::-1])
    drawn, ranked = work.start(torch.device("cpu"))(SourceFrame(0, 0.0, bgr))
    expected = transfer.classify_photo(run.network, photos[0], CLASSES, run.backbone)
    assert [name for name, _ in ranked] == [name for name, _ in expected]
    assert np.allclose([p for _, p in ranked], [p for _, p in expected], atol=1e-5)
    assert drawn.shape == bgr.shape and not np.array_equal(drawn, bgr)


def test_the_live_camera_restarts_only_for_another_network():
    run = trained_run()
    assert deploy.LiveClassifier.of(run) == deploy.LiveClassifier.of(run)
    assert deploy.LiveClassifier.of(run) != deploy.LiveClassifier.of(trained_run())


def test_a_model_at_chance_draws_its_note_instead_of_bars(photos):
    bgr = np.ascontiguousarray(photos[1][..., ::-1])
    ranked = (("cat", 0.9), ("coffee", 0.1))
    bars, note = deploy.draw_top_classes(bgr, ranked, True), deploy.draw_top_classes(bgr, ranked, False)
    assert not np.array_equal(bars, note)
    green = np.all(bars == deploy.BAR, axis=-1).sum()
    assert green > 0 and np.all(note == deploy.BAR, axis=-1).sum() == 0  # no bar drawn without a finding
    at_chance = trained_run(accuracy=0.5, held_out=2)
    drawn, _ = deploy.LiveClassifier.of(at_chance).start(torch.device("cpu"))(SourceFrame(0, 0.0, bgr))
    assert np.all(drawn == deploy.BAR, axis=-1).sum() == 0


def test_the_onnx_file_answers_as_pytorch_and_names_its_classes(photos):
    run = trained_run()
    exported = deploy.export_onnx(run, photos)
    assert exported.photos_checked == 3 and exported.largest_difference <= deploy.ONNX_TOLERANCE
    session = onnxruntime.InferenceSession(exported.data, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["classes"]) == list(CLASSES) and json.loads(meta["mean"]) == list(run.backbone.mean)
    assert [i.name for i in session.get_inputs()] == ["image"] and [o.name for o in session.get_outputs()] == ["logits"]
    fresh = [fit_within(example_image("astronaut"), 100)]  # another photo, a batch of one
    inputs = transfer.to_batch(fresh, run.backbone)
    with torch.inference_mode():
        expected = run.network(inputs).numpy()
    assert np.abs(session.run(None, {"image": inputs.numpy()})[0] - expected).max() <= deploy.ONNX_TOLERANCE


def test_the_model_card_says_what_the_model_is():
    run = trained_run(accuracy=0.9)
    card = json.loads(deploy.model_card(run, {"cat": 12, "coffee": 11}, None, "mirror", datetime.date(2026, 12, 2)))
    assert card["classes"] == [{"name": "cat", "photos": 12}, {"name": "coffee", "photos": 11}]
    assert card["regime"] == transfer.REGIME_TITLES["scratch"] and card["backbone"] == "MobileNetV3-Large"
    assert card["backbone weights"].startswith("none") and card["epochs"] == "3 of 3"
    assert card["held-out accuracy"] == 0.9 and card["better than guessing"]["finding"] is True
    assert card["confusion matrix (rows: true, columns: predicted)"] == [[5, 0], [0, 5]]
    assert card["augmentation"] == "mirror" and card["date"] == "2026-12-02"
    assert card["input"] == {"size": [224, 224], "mean": list(run.backbone.mean), "std": list(run.backbone.std)}
