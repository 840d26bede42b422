"""The MobileNet cost estimator through streamlit.testing: the course's example, bad layers,
MobileNet v1's paper figures, the v2 bottleneck and table, EfficientNet scaling, and the
timed measurements."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app import elements
from tests.app.elements import finish_job, metrics, texts


@pytest.fixture()
def app() -> AppTest:
    return elements.open_page("app_pages/mobilenet.py")


def frame_with(app: AppTest, column: str):
    return elements.frame(app, column)


def test_the_course_example_and_pytorch_agreeing(app):
    table = frame_with(app, "formula")
    assert table["multiplications"].tolist() == [2160, 432, 240, 672]
    assert any(r"= 0.311 =" in latex and r"\frac{1}{5} + \frac{1}{9}" in latex for latex in texts(app, "latex"))
    assert any(success.startswith("PyTorch agrees") for success in texts(app, "success"))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("sep-f", 9, "does not fit the padded input"),
        ("sep-ncout", 0, "n_c′ (filters) must be between 1 and 4,096, not 0."),
        ("sep-n", 5000, "n (input side) must be between 1 and 4,096, not 5000."),
    ],
)
def test_impossible_layers_say_which_field(app, key, value, message):
    app.number_input(key=key).set_value(value).run()
    assert any(message in error for error in texts(app, "error")) and not app.exception
    assert not any(success.startswith("PyTorch agrees") for success in texts(app, "success"))


def test_mobilenet_v1_at_each_multiplier_matches_the_paper(app):
    assert metrics(app)["Parameters"] == "4.23 M" and metrics(app)["MACs"] == "569 M"
    assert metrics(app)["Paper (Howard et al.)"] == "569 M"
    app.select_slider(key="v1-width").set_value(0.5).run()
    assert metrics(app)["MACs"] == metrics(app)["Paper (Howard et al.)"] == "149 M"
    app.select_slider(key="v1-width").set_value(1.0)
    app.select_slider(key="v1-resolution").set_value(128).run()
    assert metrics(app)["MACs"] == metrics(app)["Paper (Howard et al.)"] == "186 M"
    assert metrics(app)["α²ρ² rule"] == "186 M"


def test_the_bottleneck_and_the_whole_mobilenet_v2(app):
    assert any("residual connection: yes" in m for m in texts(app, "markdown"))
    app.radio(key="v2-s").set_value(2).run()
    assert any("residual connection: no" in m for m in texts(app, "markdown"))
    assert any("Totals: **3,504,872 parameters, 0.301 GMACs**" in m for m in texts(app, "markdown"))


def test_efficientnet_scaling(app):
    app.slider(key="eff-phi").set_value(3.0).run()
    assert metrics(app)["Width ×"] == "1.33" and metrics(app)["Resolution"] == "341 px"
    table = frame_with(app, "rule: 2^φ")
    assert table["model"].tolist() == [f"B{phi}" for phi in range(8)] and table["acc@1 (%)"].iloc[0] == 77.692
    app.number_input(key="eff-width").set_value(2.0).run()
    assert any("GMACs** (" in m and "B0's" in m for m in texts(app, "markdown"))
    app.number_input(key="eff-width").set_value(9.0).run()
    assert "width × must be between 0.25 and 4, not 9." in texts(app, "error")


def test_the_layers_are_timed_here_at_your_size_and_a_realistic_one(app):
    app.button(key="time-start").click().run()
    finish_job(app, "time", timeout_s=120)
    timed = frame_with(app, "time ratio")
    assert timed["layer"].tolist() == ["yours: 6×6×3 → 5, 3×3", "MobileNet block: 112×112×64 → 128, 3×3"]
    assert timed["MACs ratio"].tolist() == [0.311, round(1 / 128 + 1 / 9, 3)]
    assert (timed["normal ms"] > 0).all() and not app.exception


@pytest.mark.slow
def test_the_small_networks_are_timed_here(app):
    app.button(key="best-start").click().run()
    finish_job(app, "best", timeout_s=300)
    assert not app.exception and not texts(app, "error")
    charts = [chart for chart in app.get("plotly_chart") if chart.proto.id.endswith("best-latency-figure")]
    assert len(charts) == 1 and "MobileNetV3-Small" in charts[0].proto.spec
