"""The model comparisons page through streamlit.testing: the zoo table, latency measured with
bad and good settings, the classic tables, ResNets and the shipped degradation curves, the
Inception module builder, LeNet-5 on digits, and the ImageNet networks without weights."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.architectures import registry as arch
from tests.app import elements
from tests.app.elements import finish_job, metrics, texts
from tests.images import encode


@pytest.fixture()
def app(caches) -> AppTest:
    return elements.open_page("app_pages/model_comparisons.py")


def test_the_zoo_table_lists_every_architecture(app):
    table = elements.frame(app, "GMACs")
    assert table["model"].tolist() == [entry.title for entry in arch.list_architectures()]
    row = table.set_index("model").loc["ResNet-18"]
    assert (row["parameters (M)"], row["GMACs"], row["acc@1 (%)"]) == (11.69, 1.814, 69.758)
    assert row["weights here"] == "not cached"
    assert table.set_index("model").loc["LeNet-5"]["weights here"] == "shipped (digits)"


def test_latency_refuses_a_batch_beyond_the_memory_budget_and_measures_a_small_one(app, monkeypatch):
    monkeypatch.setenv("CNNLAB_JOB_MEMORY_MB", "100")
    app.multiselect(key="latency-names").set_value(["mobilenet_v3_small"])
    app.number_input(key="latency-batch").set_value(0).run()
    assert "Batch size must be between 1 and 1,024, not 0." in texts(app, "error")
    app.number_input(key="latency-batch").set_value(64).run()
    assert any("would need about" in e and "Lower the batch size or the resolution" in e for e in texts(app, "error"))
    assert "latency-start" not in [button.key for button in app.button]
    app.number_input(key="latency-batch").set_value(2)
    app.number_input(key="latency-resolution").set_value(20).run()
    assert "MobileNetV3-Small needs an input of at least 32 px, not 20." in texts(app, "error")
    app.number_input(key="latency-resolution").set_value(0).run()
    app.button(key="latency-start").click().run()
    finish_job(app, "latency", timeout_s=120)
    timed = elements.frame(app, "median ms")
    assert timed["model"].tolist() == ["MobileNetV3-Small"] and timed["batch"].tolist() == [2]
    assert timed["median ms"].iloc[0] > 0 and not app.exception


def test_classic_tables_make_the_course_s_claims(app):
    assert metrics(app)["Parameters"] == "61,706"
    assert metrics(app)["Forward activations, one image"] == "36 KB"  # 9,118 float32 values
    app.radio(key="classic-name").set_value("vgg16").run()
    assert metrics(app)["Parameters"] == "138,357,544" and metrics(app)["In fully connected layers"] == "89%"
    assert any("96 MB" in info and "15,262,696 values" in info for info in texts(app, "info"))


def test_resnets_and_the_shipped_degradation_curves(app):
    assert any("shortcut 1×1 projection W_s: 8,448" in m for m in texts(app, "markdown"))
    app.radio(key="block-stride").set_value(1)
    app.number_input(key="block-out").set_value(64).run()
    assert any("shortcut identity (no parameters)" in m for m in texts(app, "markdown"))
    assert any("the run shipped with CNN Lab" in c for c in texts(app, "caption"))


def test_the_inception_builder_and_the_course_numbers(app):
    assert any(
        "120,422,400" in latex and "2,408,448 + 10,035,200 = 12,443,648" in latex for latex in texts(app, "latex")
    )
    assert any("Output 28×28×256" in m for m in texts(app, "markdown"))
    assert any(s.startswith("PyTorch agrees") for s in texts(app, "success"))
    app.number_input(key="inception-threes").set_value(0)
    app.number_input(key="inception-ones").set_value(0)
    app.number_input(key="inception-fives").set_value(0).run()
    assert any("Output 28×28×32" in m for m in texts(app, "markdown"))  # the pool projection alone


def test_lenet_reads_held_out_digits_and_imagenet_networks_say_what_is_missing(app):
    assert any(m.startswith("True label:") and m.endswith("right.") for m in texts(app, "markdown"))
    app.number_input(key="digit-index").set_value(400).run()
    assert "Held-out digit (0 … 358) must be between 0 and 358, not 400." in texts(app, "error")
    warnings = texts(app, "warning")
    assert any("ResNet-18 (ImageNet)" in w and "not on this machine" in w for w in warnings)


def test_a_photo_of_a_digit_is_read_and_a_blank_one_explained(app):
    from PIL import Image

    from core.architectures.digits import digit_split, digits
    from tests.images import encode

    images, labels = digits()
    index = int(digit_split()[1][5])
    ink = (images[index, 0].numpy() * 255).astype(np.uint8)
    photo = Image.fromarray(255 - np.asarray(Image.fromarray(ink).resize((120, 120)))).convert("RGB")
    app.radio(key="digit-kind").set_value("A photo of a digit").run()
    app.segmented_control(key="digit-source").set_value("Upload").run()
    app.file_uploader(key="digit-upload").upload("digit.png", encode(photo, "PNG"), "image/png").run()
    assert not app.exception
    assert elements.frame(app, "digit")["digit"].iloc[0] == str(int(labels[index]))
    assert not any("no reading of a digit" in w for w in texts(app, "warning"))
    blank = Image.new("RGB", (60, 60), (200, 200, 200))
    app.file_uploader(key="digit-upload").upload("blank.png", encode(blank, "PNG"), "image/png").run()
    assert any("No digit found" in e for e in texts(app, "error")) and not app.exception


def test_a_photo_unlike_any_digit_is_said_to_be_no_reading(app):
    app.radio(key="digit-kind").set_value("A photo of a digit").run()  # the example photo: the astronaut
    doubts = next(w for w in texts(app, "warning") if w.startswith("This is no reading of a digit."))
    assert "in colour" in doubts and "farther from every training digit" in doubts
    app.segmented_control(key="digit-source").set_value("Upload").run()
    dot = Image.new("RGB", (1, 1), (100, 100, 100))
    app.file_uploader(key="digit-upload").upload("dot.png", encode(dot, "PNG"), "image/png").run()
    doubts = next(w for w in texts(app, "warning") if w.startswith("This is no reading of a digit."))
    assert "The photo is 1×1 pixels" in doubts and not app.exception
