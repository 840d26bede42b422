"""The conv calculator driven through streamlit.testing: every section, good and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.runtime.device import pick_device
from tests.app.elements import captions, texts
from tests.conftest import ROOT
from tests.images import encode, gradient_rgb


@pytest.fixture(scope="module")
def fresh() -> AppTest:
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    app.switch_page("app_pages/conv_calculator.py").run()
    assert not app.exception
    return app


@pytest.fixture()
def app() -> AppTest:
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    app.switch_page("app_pages/conv_calculator.py").run()
    return app


def frames(app: AppTest) -> list:
    return [element.value for element in app.dataframe]


def output_of_shape(app: AppTest, shape: tuple[int, int]) -> np.ndarray:
    """The shown result matrix of ``shape`` (editors are data frames too)."""
    return next(frame.to_numpy() for frame in frames(app)[2:] if frame.shape == shape)


def test_output_size_defaults_and_formula(fresh):
    assert "Output: 4 × 4 (padding p = 0)" in texts(fresh, "success")
    assert r"\left\lfloor \frac{6 + 2 \cdot 0 - 3}{1} \right\rfloor + 1 = 4" in fresh.latex[0].value


def test_output_size_floor_same_padding_and_errors(app):
    app.number_input(key="os-nh").set_value(8)
    app.number_input(key="os-s").set_value(2).run()
    assert any("drops the last 1 row" in text for text in texts(app, "warning"))
    app.number_input(key="os-s").set_value(0).run()
    assert "Stride s must be at least 1, not 0." in texts(app, "error")
    app.number_input(key="os-s").set_value(1)
    app.number_input(key="os-f").set_value(9).run()
    assert any("does not fit" in text for text in texts(app, "error"))
    app.number_input(key="os-f").set_value(4)
    app.segmented_control(key="os-preset").set_value("same").run()
    assert any("not whole" in text for text in texts(app, "info"))
    assert "Output: 7 × 5 (padding p = 1)" in texts(app, "success")


def test_transposed_size_course_example_and_bad_output_padding(app):
    assert "= 4" in app.latex[-1].value  # i=2, f=3, p=1, s=2, output_padding=1 -> 4 (the U-Net example)
    app.number_input(key="tr-5").set_value(2).run()
    assert any("Output padding (2) must be smaller" in text for text in texts(app, "error"))


def test_step_by_step_course_example_cell_and_flip(app):
    output = output_of_shape(app, (4, 4))
    np.testing.assert_array_equal(output, [[-5, -4, 0, 8], [-10, -2, 2, 3], [0, -2, -4, -7], [-3, -2, -3, -16]])
    app.number_input(key="sb-row").set_value(1).run()
    assert any(text.endswith("= **-10**") for text in texts(app, "markdown"))
    app.toggle(key="sb-flip").set_value(True).run()
    np.testing.assert_array_equal(output_of_shape(app, (4, 4)), -output)


def test_step_image_gives_thirty_and_stride_zero_is_refused(app):
    app.selectbox(key="sb-preset").set_value("Step image 0 | 10 (dark to light)").run()
    np.testing.assert_array_equal(output_of_shape(app, (4, 4)), [[0, -30, -30, 0]] * 4)
    app.number_input(key="sb-s").set_value(0).run()
    assert "Stride s must be between 1 and 16, not 0." in texts(app, "error")
    app.number_input(key="sb-s").set_value(1)
    app.number_input(key="sb-p").set_value(-1).run()
    assert "Padding p must be between 0 and 8, not -1." in texts(app, "error")


def test_edge_detection_on_the_example_photo(app):
    edge_map = f"Edge map 510×510 (n − f + 1 = n − 2), on {pick_device().type}"
    assert "Input 512×512×3" in captions(app)
    assert edge_map in captions(app)
    app.selectbox(key="edge-filter").set_value("Scharr")
    app.radio(key="edge-mode").set_value("RGB (3×3×3 filter)").run()
    assert not app.exception and edge_map in captions(app)
    app.selectbox(key="edge-filter").set_value("Custom 3×3").run()
    assert app.radio(key="edge-direction").disabled


def test_an_image_smaller_than_the_filter_gets_a_message(app):
    app.segmented_control(key="edges-source").set_value("Upload").run()
    app.file_uploader(key="edges-upload").upload("tiny.png", encode(gradient_rgb(2, 2), "PNG"), "image/png").run()
    assert not app.exception
    assert "A 3×3 filter needs an image of at least 3×3 pixels; this one is 2×2." in texts(app, "error")


def test_pooling_a_photo_shows_the_pooled_size(app):
    assert "Pooled 225×150×3, drawn at the input's scale" in captions(app)  # chelsea 451×300, f = s = 2


def test_pooling_course_examples_and_a_window_too_large(app):
    pooled = [frame.to_numpy() for frame in frames(app) if frame.shape == (2, 2)]
    assert any(np.array_equal(result, [[9, 2], [6, 3]]) for result in pooled)
    app.selectbox(key="pool-preset").set_value("Course average-pool example").run()
    pooled = [frame.to_numpy() for frame in frames(app) if frame.shape == (2, 2)]
    assert any(np.allclose(result, [[3.75, 1.25], [4, 2]]) for result in pooled)
    app.number_input(key="pool-f").set_value(9).run()
    assert any("does not fit" in text for text in texts(app, "error"))


def test_network_table_preset_totals_and_torch_check(app):
    table = next(frame for frame in frames(app) if "parameters" in frame.columns)
    assert list(table["parameters"])[:-1] == [0, 608, 0, 3216, 0, 48120, 10164, 850]
    assert table["parameters"].iloc[-1] == 62958
    assert any(text.startswith("PyTorch agrees") for text in texts(app, "success"))
    assert "nn.Linear(in_features=400, out_features=120, bias=True)," in app.code[0].value


def test_network_table_bad_input_names_the_row(app):
    app.number_input(key="net-h-Course LeNet-5-like (32×32×3)").set_value(4).run()
    assert any(text.startswith("Row 1 (CONV1)") for text in texts(app, "error"))


def test_why_convolutions_course_numbers(app):
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Conv layer parameters"] == "456"
    assert metrics["Fully connected parameters"] == f"{3072 * 4704 + 4704:,}"
    assert any("3,072 × 4,704 = **14,450,688**" in text for text in texts(app, "markdown"))


def test_nd_presets_and_bad_shape(app):
    table = next(frame for frame in frames(app) if "output" in frame.columns)
    assert list(table["output"]) == ["28 × 28 × 32"] and list(table["parameters"]) == [192 * 32 + 32]
    app.selectbox(key="nd-preset").set_value("3D: 14×14×14×1 → 16 × 5×5×5 → 32 × 5×5×5×16").run()
    table = next(frame for frame in frames(app) if "output" in frame.columns)
    assert list(table["output"]) == ["10 × 10 × 10 × 16", "6 × 6 × 6 × 32"]
    app.text_input(key="nd-shape-3D: 14×14×14×1 → 16 × 5×5×5 → 32 × 5×5×5×16").set_value("14, a").run()
    assert any("whole numbers separated by commas" in text for text in texts(app, "error"))


def test_step_by_step_fields_state_their_range_and_a_huge_padding_allocates_nothing(app):
    app.number_input(key="sb-p").set_value(100_000).run()
    assert "Padding p must be between 0 and 8, not 100000." in texts(app, "error")
    app.number_input(key="sb-p").set_value(8).run()
    assert output_of_shape(app, (20, 20)) is not None  # the 6×6 input padded by 8 on each side, a 3×3 filter
    app.number_input(key="sb-input-rows").set_value(0).run()
    assert "Input: rows must be between 1 and 16, not 0." in texts(app, "error")
    app.number_input(key="sb-input-rows").set_value(100_000).run()
    assert "Input: rows must be between 1 and 16, not 100000." in texts(app, "error")
    assert not app.exception


def test_a_network_table_too_large_to_build_is_written_on_the_meta_device(app):
    app.number_input(key="net-h-Course LeNet-5-like (32×32×3)").set_value(10**9).run()
    assert not app.exception
    assert any(text.startswith("PyTorch agrees") for text in texts(app, "success"))
