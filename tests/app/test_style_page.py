"""The style transfer page through streamlit.testing: the honest status without VGG19 (fast
style, which needs no VGG19, still works), and with an untrained VGG19 in the cache
(plumbing only) a short run, a stopped-early result, settings that cannot work, fast style's
costs beside Gatys', a video styled, the Gram viewer and the layer viewer."""

from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core.runtime.examples import example_image
from core.style import neural_style as style
from tests.app import elements
from tests.app.elements import captions, finish_job, texts
from tests.images import encode, gradient_rgb
from tests.models import save_untrained_torchvision
from tests.videos import write_video


def open_page() -> AppTest:
    return elements.open_page("app_pages/style_transfer.py", timeout=240)


@pytest.fixture()
def app(caches) -> AppTest:
    save_untrained_torchvision("vgg19")
    return open_page()


def test_without_vgg19_every_section_says_how_to_get_it_and_fast_style_works(caches):
    app = open_page()
    warnings = texts(app, "warning")
    assert sum("VGG19 (ImageNet)" in w and "make weights" in w for w in warnings) == 3
    assert set(captions(app)) == {"Content C", "Style S", "Fast style G (512×512)"}  # fast style's alone
    assert any(c.startswith("Reading the style: ") and "Styling the content: " in c for c in texts(app, "caption"))
    assert any("need VGG19's weights" in c for c in texts(app, "caption"))
    assert not app.exception


def test_fast_style_costs_sit_beside_gatys_on_the_same_images(app):
    costs = [frame.value for frame in app.dataframe if "G made by" in frame.value.columns]
    assert len(costs) == 1 and list(costs[0]["G made by"]) == ["Fast style"]
    assert any("Run the Style transfer tab on the same two images" in c for c in texts(app, "caption"))
    app.selectbox(key="style-size").set_value(64)
    app.number_input(key="style-iterations").set_value(3)
    app.button(key="style-start").click().run()
    finish_job(app, "style")
    table = next(frame.value for frame in app.dataframe if "G made by" in frame.value.columns)
    assert list(table["G made by"]) == ["Fast style", "Gatys, 3 steps"]
    assert all(float(value) >= 0 for value in [*table["J_content"], *table["J_style"]])
    app.slider(key="fast-strength").set_value(0.0).run()  # the fast G changes; Gatys' stays
    again = next(frame.value for frame in app.dataframe if "G made by" in frame.value.columns)
    assert again["J_content"][1] == table["J_content"][1] and again["J_content"][0] != table["J_content"][0]


def style_a_video(app: AppTest, folder, frames: int) -> None:
    """On the Fast style tab: switch to a video, upload a ``frames``-frame clip, style it."""
    app.radio(key="fast-on").set_value("A video").run()
    clip = write_video(folder / "clip.mp4", frames=frames, width=160, height=120)
    app.file_uploader(key="fast-video-upload").set_value([("clip.mp4", clip, "video/mp4")]).run()
    app.button(key="fast-video-start").click().run()
    finish_job(app, "fast-video")
    assert any(c.startswith(f"{frames} frames styled, ") for c in texts(app, "caption"))


def test_fast_style_on_a_video_styles_every_frame(caches, tmp_path):
    app = open_page()
    style_a_video(app, tmp_path, 6)
    assert "fast-video-mp4" in [button.key for button in app.get("download_button")]
    assert not app.exception


def test_a_trained_style_or_a_mix_of_two_styles_an_image_and_a_video(caches, tmp_path):
    app = open_page()
    app.radio(key="fast-from").set_value("One of 26 trained styles").run()
    shown = captions(app)
    assert {str(number) for number in range(1, 27)} <= set(shown) and "Fast style G (512×512)" in shown
    assert "Style S" not in shown and not any(c.startswith("Reading the style") for c in texts(app, "caption"))
    assert any("style 1" in text for text in texts(app, "markdown"))
    app.selectbox(key="fast-preset").set_value(7)
    app.selectbox(key="fast-preset-second").set_value(19).run()
    app.slider(key="fast-preset-mix").set_value(0.3).run()
    assert any("70% style 7, 30% style 19" in text for text in texts(app, "markdown"))
    assert "fast-download-png" in [button.key for button in app.get("download_button")]
    style_a_video(app, tmp_path, 4)
    assert not app.exception


def test_a_short_run_shows_content_style_result_and_costs(app):
    app.selectbox(key="style-size").set_value(64)
    app.number_input(key="style-iterations").set_value(12)
    app.checkbox(key="style-preserve").check()
    app.button(key="style-start").click().run()
    assert not app.exception, app.exception
    finish_job(app, "style")
    assert any(s.startswith("Done: step 12 of 12, J = ") for s in texts(app, "success"))
    assert {"Content C", "Style S", "Generated G (64×64)"} <= set(captions(app))
    costs = next(frame.value for frame in app.dataframe if "cost" in frame.value.columns)
    assert {"total", "content", "style", "style conv1_1", "style conv5_1"} <= set(costs["cost"])
    assert app.select_slider(key="gram-step").options == ["1", "10", "12"]  # previews: the first, every 10, the last
    step = app.select_slider(key="gram-step").value  # 12, or 10 if a rerun showed that step while it ran
    assert any(f"G at step {step}" in str(chart.proto.spec) for chart in app.get("plotly_chart"))


def test_a_run_beyond_the_memory_budget_is_refused_naming_the_setting(app, monkeypatch):
    monkeypatch.setenv("CNNLAB_JOB_MEMORY_MB", "100")
    app.selectbox(key="style-size").set_value(256).run()
    refusal = next(e for e in texts(app, "error") if "would need about" in e)
    assert refusal.startswith("Style transfer at 256 px with style scale 1 would need about")
    assert refusal.endswith("Lower the image size.") and "style-start" not in [button.key for button in app.button]
    app.selectbox(key="style-size").set_value(64)
    app.number_input(key="style-iterations").set_value(2).run()
    app.button(key="style-start").click().run()
    finish_job(app, "style")
    assert any(s.startswith("Done: step 2 of 2, J = ") for s in texts(app, "success"))


def test_zero_weight_on_every_style_layer_is_refused(app):
    for name in ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"):
        app.number_input(key=f"style-lambda-{name}").set_value(0.0)
    app.run()
    assert any("Every style layer has weight 0" in e for e in texts(app, "error"))
    assert "style-start" not in [button.key for button in app.button]


def test_a_tiny_style_image_is_scaled_with_a_note_and_blends_work(app, monkeypatch):
    given = []
    real = style.transfer
    monkeypatch.setattr(style, "transfer", lambda *args: given.append(args[2]) or real(*args))
    app.segmented_control(key="style-style-source").set_value("Upload").run()
    app.file_uploader(key="style-style-upload").upload(
        "tiny.png", encode(gradient_rgb(20, 16), "PNG"), "image/png"
    ).run()
    assert any("Style image 1 (20×16) is much smaller" in i for i in texts(app, "info"))
    app.toggle(key="style-blend").set_value(True).run()
    assert app.slider(key="style-share").value == 0.5
    app.selectbox(key="style-size").set_value(64)
    app.number_input(key="style-iterations").set_value(3)
    app.button(key="style-start").click().run()
    finish_job(app, "style")
    assert any(s.startswith("Done: step 3 of 3, J = ") for s in texts(app, "success")) and not app.exception
    (first, first_weight), (second, second_weight) = given[-1]  # both styles reach the optimization, half each
    assert (first_weight, second_weight) == (0.5, 0.5)
    expected = style.to_tensor(example_image("immunohistochemistry"), 64)
    assert torch.allclose(second.cpu(), expected) and first.shape[-2:] == (51, 64)  # the tiny upload, 20×16 → 64


def test_the_layer_viewer_finds_nine_patches_for_a_chosen_unit(app):
    app.radio(key="learn-layer").set_value("Layer 3").run()
    assert any("conv3_1: 256 channels; each unit sees a 24×24 px patch" in c for c in texts(app, "caption"))
    app.number_input(key="learn-unit-conv3_1").set_value(255).run()
    assert any("unit 255 of conv3_1" in c for c in texts(app, "caption"))
    patch_captions = [c for c in captions(app) if ": " in c and c.split(": ")[-1].replace(".", "").isdigit()]
    assert len(patch_captions) == 9
