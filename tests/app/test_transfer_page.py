"""The transfer-learning page through streamlit.testing: classes built from uploads with the
bad inputs the issue names (duplicate names, a non-image in a multi-upload, one photo, the
cap, k), export and import of the set, regime (a) and (d) trained on an untrained stand-in
written to the weights cache, classifying with the result, the offline digit experiment and
the augmentation gallery."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.runtime.examples import example_image
from core.runtime.images import fit_within
from core.transfer import regimes as transfer
from tests.app import elements
from tests.app.elements import finish_job, job_of, metrics, texts
from tests.images import encode
from tests.models import save_untrained_torchvision

PHOTOS = "transfer-photos"


@pytest.fixture()
def app(caches) -> AppTest:
    return elements.open_page("app_pages/transfer.py")


def add_class(app: AppTest, name: str) -> None:
    app.text_input(key="transfer-new-class").set_value(name)
    app.button(key="transfer-add-class").click().run()


def upload(app: AppTest, index: int, files: list[tuple[str, bytes]]) -> None:
    uploader = next(u for u in app.file_uploader if u.key.startswith(f"transfer-upload-{index}-"))
    uploader.set_value([(name, data, "image/png") for name, data in files]).run()


def pngs(name: str, count: int, side: int = 48) -> list[tuple[str, bytes]]:
    base = fit_within(example_image(name), side)
    return [(f"{name}{i}.png", encode(Image.fromarray(np.roll(base, 3 * i, axis=1)), "PNG")) for i in range(count)]


def two_classes(app: AppTest, each: int = 6) -> None:
    add_class(app, "cat")
    add_class(app, "coffee")
    upload(app, 0, pngs("chelsea", each))
    upload(app, 1, pngs("coffee", each))


def test_photos_are_reviewed_numbered_and_deleted_some_or_all(app):
    two_classes(app, each=6)
    app.multiselect(key="transfer-remove-0-6").set_value([2, 5]).run()
    app.button(key="transfer-remove-go-0").click().run()
    assert "Deleted 2 photos of cat." in texts(app, "success")
    assert any("**cat** · 4 photos" in m for m in texts(app, "markdown"))
    app.button(key="transfer-remove-all-1").click().run()
    assert any("**coffee** · 0 photos" in m for m in texts(app, "markdown")) and not app.exception
    assert any("Class 'cat' has 4 photos" in i for i in texts(app, "info"))  # the Train tab says why it cannot train


def test_classes_refuse_bad_names_and_skip_files_that_are_not_images(app):
    add_class(app, "Tigger")
    assert app.text_input(key="transfer-new-class").value == ""  # ready for the next class
    add_class(app, "  tigger ")
    assert "There is already a class named 'tigger'; pick another name." in texts(app, "error")
    assert app.text_input(key="transfer-new-class").value == "  tigger "  # kept to be edited
    add_class(app, "   ")
    assert "Give the class a name." in texts(app, "error")
    upload(app, 0, [*pngs("chelsea", 2), ("notes.png", b"not an image"), *pngs("coffee", 1)])
    assert any(w.startswith("Skipped notes.png:") for w in texts(app, "warning"))
    assert len(app.session_state[PHOTOS].photos["Tigger"]) == 3
    assert any("**Tigger** · 3 photos" in m for m in texts(app, "markdown"))
    assert any("Class 'Tigger' has 3 photos" in i or "Make at least two classes." in i for i in texts(app, "info"))
    add_class(app, "Misty")
    upload(app, 1, pngs("coffee", 1))
    assert any("Class 'Tigger' has 3 photos; give every class at least 5." in i for i in texts(app, "info"))
    assert not app.exception


def test_a_class_is_capped_with_a_message_and_keeps_what_fits(app):
    add_class(app, "many")
    upload(app, 0, pngs("coffee", transfer.MAX_PHOTOS + 2, side=16))
    assert f"Added {transfer.MAX_PHOTOS} of {transfer.MAX_PHOTOS + 2} photos to many" in " ".join(texts(app, "warning"))
    assert len(app.session_state[PHOTOS].photos["many"]) == transfer.MAX_PHOTOS
    upload(app, 0, pngs("coffee", 1, side=16))
    assert any(f"A class holds at most {transfer.MAX_PHOTOS} photos" in e for e in texts(app, "error"))


def test_export_and_import_round_trip_and_a_bad_zip_is_refused(app):
    two_classes(app, each=5)
    exported = app.session_state[PHOTOS].export()
    with zipfile.ZipFile(io.BytesIO(exported)) as archive:
        assert len(archive.namelist()) == 10
    fresh = elements.open_page("app_pages/transfer.py")
    fresh.file_uploader(key="transfer-import").set_value(("set.zip", b"no zip", "application/zip")).run()
    fresh.button(key="transfer-import-go").click().run()
    assert any("not a zip of class folders" in e for e in texts(fresh, "error"))
    fresh.file_uploader(key="transfer-import").set_value(("set.zip", exported, "application/zip")).run()
    fresh.button(key="transfer-import-go").click().run()
    assert "Imported 10 photos in 2 classes." in texts(fresh, "success")
    assert fresh.session_state[PHOTOS].classes == ["cat", "coffee"]


def test_without_imagenet_weights_only_scratch_runs_and_the_page_says_so(app):
    two_classes(app)
    assert any("ResNet-18" in w or "MobileNetV3-Large" in w for w in texts(app, "warning"))
    assert any("only (d) from scratch can run" in c for c in texts(app, "caption"))


def test_regime_a_and_scratch_train_on_a_stand_in_then_classify(app):
    save_untrained_torchvision("resnet18")
    two_classes(app)
    app.radio(key="transfer-backbone").set_value("resnet18")
    app.multiselect(key="transfer-regimes").set_value(["head", "scratch"])
    app.number_input(key="transfer-epochs").set_value(2).run()
    assert app.slider(key="transfer-k").max == transfer.BACKBONES["resnet18"].block_count
    app.button(key="transfer-start").click().run()
    finish_job(app, "transfer", timeout_s=300)
    assert not app.exception
    table = elements.frame(app, "validation accuracy")
    assert table["regime"].tolist() == [transfer.REGIME_TITLES["head"], transfer.REGIME_TITLES["scratch"]]
    assert (table["epochs"] == 2).all() and table["seconds per epoch"].min() > 0
    handle = job_of(app, "transfer")
    runs = handle.job.runs(handle.records)
    assert runs["head"].last.confusion.sum() == 2  # one photo of each class's six held out
    exported = transfer.export_model(runs["head"].network, ["cat", "coffee"], transfer.BACKBONES["resnet18"], "head")
    saved = torch.load(io.BytesIO(exported), weights_only=True)
    assert saved["classes"] == ["cat", "coffee"]
    app.toggle(key="transfer-augment").set_value(True)
    app.multiselect(key="transfer-regimes").set_value(["scratch"])
    app.number_input(key="transfer-epochs").set_value(1).run()
    app.button(key="transfer-start").click().run()
    finish_job(app, "transfer", timeout_s=300)
    current, earlier = (element.value for element in app.dataframe if "augmented" in element.value.columns)
    assert current["augmented"].tolist() == [True] and earlier["augmented"].tolist() == [False, False]
    assert earlier["epochs"].tolist() == [2, 2]
    app.radio(key="transfer-classify-regime").set_value("scratch").run()
    probabilities = elements.frame(app, "probability")
    assert sorted(probabilities["class"]) == ["cat", "coffee"]
    assert probabilities["probability"].sum() == pytest.approx(1.0, abs=1e-4)
    # two held-out photos cannot show that a model beats guessing: no "most likely" is claimed
    assert any("of its 2 held-out photos right" in w and "are no finding" in w for w in texts(app, "warning"))
    assert "Most likely" not in elements.metrics(app)
    app.button(key="transfer-onnx-make").click().run()
    assert any("Checked: onnxruntime's logits on the 2 held-out photos" in c for c in texts(app, "caption"))
    downloads = [button.key for button in app.get("download_button")]
    assert {"transfer-onnx-download", "transfer-card-download"} <= set(downloads)
    app.radio(key="transfer-classify-on").set_value("The live camera").run()
    assert "transfer-live-open-button" in [button.key for button in app.button] and not app.exception


def test_the_offline_experiment_shows_both_accuracies_and_refuses_zero_examples(app):
    shown = metrics(app)
    assert float(shown["Pretrained on 0–4"].rstrip("%")) > float(shown["Untrained backbone"].rstrip("%")) + 10
    app.number_input(key="offline-shots").set_value(0).run()
    assert any("Examples per digit must be between 1 and 100" in e for e in texts(app, "error"))


def test_the_augmentation_gallery_draws_16_and_writes_out_the_pca_shift(app):
    assert len(app.image[-1].proto.imgs) == 16
    assert any(r"\Delta = \sum_i" in latex for latex in texts(app, "latex"))
    pca = elements.frame(app, "λ_i")
    assert len(pca) == 3 and (np.diff(pca["λ_i"].to_numpy()) <= 0).all()  # the principal component first
    app.slider(key="gallery-crop").set_value(0.1)
    app.number_input(key="gallery-seed").set_value(-1).run()
    assert any(
        "Seed must be between 0 and 10000" in e or "Seed must be between 0 and 10,000" in e for e in texts(app, "error")
    )
