"""The object detection page through streamlit.testing: every lab, without weights and with
an untrained YOLO in the cache (plumbing only), good and bad input."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app import elements
from tests.app.elements import captions, frame, metrics, texts
from tests.images import encode, gradient_rgb
from tests.models import save_untrained_torchvision, save_untrained_yolo, save_untrained_yolo_onnx
from tests.videos import write_video


def open_page() -> AppTest:
    return elements.open_page("app_pages/object_detection.py", timeout=180)


@pytest.fixture()
def app(caches) -> AppTest:
    return open_page()


def test_without_weights_the_page_says_how_to_get_them_and_the_labs_work(app):
    warnings = texts(app, "warning")
    assert any("YOLO11n detection" in w and "make weights" in w and "cannot run" in w for w in warnings)
    assert "Your image, 512×512" in captions(app)  # the chosen photo stays in view
    assert any("Faster R-CNN" in w for w in warnings)
    assert not any("Detections" in markdown for markdown in texts(app, "markdown"))
    assert metrics(app)["Kept after all steps"] == "3 of 19"  # the synthetic NMS scene
    assert frame(app, "windows")["windows"].tolist() == ["2×2 = 4", "8×8 = 64", "24×24 = 576"]


def test_choosing_another_model_size_names_its_weights(app):
    app.selectbox(key="det-size").set_value("x")
    app.selectbox(key="det-task").set_value("-seg").run()
    assert any("YOLO11x instance segmentation" in w and "yolo11x-seg" in w for w in texts(app, "warning"))
    app.selectbox(key="det-family").set_value("26")
    app.selectbox(key="det-task").set_value("-pose").run()
    assert any("YOLO26x pose (17 keypoints)" in w and "yolo26x-pose" in w for w in texts(app, "warning"))


def test_a_pose_model_lists_one_persons_landmarks_and_the_course_vector(caches):
    save_untrained_yolo("yolo11n-pose", class_logit=2.0)
    app = open_page()
    app.number_input(key="det-max").set_value(2)
    app.selectbox(key="det-task").set_value("-pose").run()
    landmarks = frame(app, "landmark")
    assert len(landmarks) == 17 and landmarks["landmark"].iloc[4] == "right ear"
    assert any(code.startswith("(l1x, l1y, …, l17x, l17y) = (") for code in texts(app, "code"))
    app.selectbox(key="det-person").set_value(app.selectbox(key="det-person").options[1]).run()
    assert len(frame(app, "landmark")) == 17 and not app.exception


def test_iou_lab_numbers_verdict_and_a_bad_box(app):
    # astronaut is 512×512: A = (102, 102, 307, 358), B = (179, 154, 410, 410), in whole pixels
    assert metrics(app)["Intersection (px²)"] == f"{(307 - 179) * (358 - 154):,}"
    union = (307 - 102) * (358 - 102) + (410 - 179) * (410 - 154) - (307 - 179) * (358 - 154)
    assert metrics(app)["Union (px²)"] == f"{union:,}"
    assert any(rf"\frac{{26,112}}{{{union:,}}} = {26112 / union:.3f}" in latex for latex in texts(app, "latex"))
    assert any("not counted as a correct localization" in w for w in texts(app, "warning"))
    for name, value in zip(("x1", "y1", "x2", "y2"), (102, 102, 307, 358)):
        app.number_input(key=f"iou-b-{name}-512x512").set_value(value)
    app.run()
    assert any("IoU 1.000 ≥ 0.5" in s for s in texts(app, "success"))
    app.number_input(key="iou-a-x2-512x512").set_value(50).run()
    assert "A must have x2 > x1 and y2 > y1 (it is 102, 102, 50, 358)." in texts(app, "error")
    assert not app.exception


def test_nms_steps_thresholds_and_everything_discarded(app):
    app.slider(key="nms-step-3").set_value(1).run()
    assert any("**Step 1:**" in m and "discard 3 box(es)" in m for m in texts(app, "markdown"))
    app.toggle(key="nms-per-class").set_value(False).run()
    assert metrics(app)["Kept after all steps"] == "3 of 19"
    app.slider(key="nms-score").set_value(0.99).run()
    assert any("Every box has pc ≤ 0.99" in w for w in texts(app, "warning"))


def test_localization_target_and_background(app):
    # default box covers the middle half of the image, class car (c2)
    latex = texts(app, "latex")
    assert any("0.5\\\\0.5\\\\0.5\\\\0.5\\\\0\\\\1\\\\0" in formula for formula in latex)
    # the default ŷ is 0.9·y + 0.05, so each squared error is (0.05 − 0.1·y)²
    expected = sum((0.05 - 0.1 * y) ** 2 for y in (1, 0.5, 0.5, 0.5, 0.5, 0, 1, 0))
    assert any(f"= {expected:.4g}" in formula for formula in latex)
    app.radio(key="loc-class").set_value("background (no object)").run()
    latex = texts(app, "latex")
    assert any("?\\\\?" in formula for formula in latex)
    assert any("= 0.0025" in formula and "(p_c = 0)" in formula for formula in latex)  # (0.05 − 0)², only pc


def test_grid_presets_and_target_volume(app):
    assignments = frame(app, "cell (row, col)")
    assert assignments["cell (row, col)"].tolist() == ["(1, 1)", "(1, 1)"]
    assert assignments["anchor"].tolist() == [1, 2]
    assert any("**3 × 3 × 2 × 8**" in m for m in texts(app, "markdown"))
    preset = "YOLO9000: 19×19 grid, 5 anchors, 80 classes"
    app.selectbox(key="grid-preset").set_value(preset).run()
    assert any("**19 × 19 × 5 × 85**" in m for m in texts(app, "markdown"))
    app.number_input(key=f"grid-c-{preset}").set_value(1).run()
    assert "The objects use 2 classes, so C must be at least 2." in texts(app, "error")
    app.number_input(key=f"grid-c-{preset}").set_value(80).run()
    app.toggle(key="grid-kmeans").set_value(True).run()
    assert not app.exception and len(frame(app, "w")) == 2


def test_sliding_window_side_that_does_not_tile_or_is_out_of_range(app):
    app.number_input(key="sw-side").set_value(15).run()
    assert any("14 + 2k" in e for e in texts(app, "error"))
    assert frame(app, "windows")["windows"].tolist() == ["2×2 = 4", "8×8 = 64"]
    app.number_input(key="sw-side").set_value(500).run()
    assert "Also try a square image of side (14 + 2k) must be between 14 and 200, not 500." in texts(app, "error")
    assert frame(app, "windows")["windows"].tolist() == ["2×2 = 4", "8×8 = 64"]


def test_out_of_range_numbers_are_explained_not_ignored(app):
    app.number_input(key="det-max").set_value(0).run()
    assert "Max detections must be between 1 and 300, not 0." in texts(app, "error")
    app.number_input(key="iou-a-x2-512x512").set_value(900).run()
    assert "A x2 must be between 0 and 512, not 900." in texts(app, "error")
    assert "Intersection (px²)" not in metrics(app)  # no stale result beside the message


def test_a_gray_upload_feeds_every_lab(app):
    app.segmented_control(key="det-source").set_value("Upload").run()
    gray = gradient_rgb(90, 60).convert("L")
    app.file_uploader(key="det-upload").upload("gray.png", encode(gray, "PNG"), "image/png").run()
    assert not app.exception
    # the IoU lab's default boxes are fractions of the 90×60 gray picture, rounded to whole pixels:
    # A = (18, 12, 54, 42), B = (31, 18, 72, 48) (0.35 × 90 is 31.4999… in floating point)
    assert metrics(app)["Intersection (px²)"] == "552" and metrics(app)["Union (px²)"] == "1,758"
    assert app.session_state["det-decoded"][1].shape == (60, 90, 3)
    assert any("90x60" in key for key in app.session_state)  # the box fields are keyed by the picture's size


def test_a_picture_too_small_for_boxes_gets_its_own_message(app):
    app.segmented_control(key="det-source").set_value("Upload").run()
    app.file_uploader(key="det-upload").upload("dot.png", encode(gradient_rgb(1, 1), "PNG"), "image/png").run()
    assert not app.exception
    small = [w for w in texts(app, "warning") if w.startswith("The picture is 1×1 pixels: boxes on it would collapse")]
    assert len(small) == 4  # localization, IoU, non-max suppression, grid & anchors
    assert "Intersection (px²)" not in metrics(app)


def test_a_bad_upload_leaves_the_page_usable(app):
    app.segmented_control(key="det-source").set_value("Upload").run()
    app.file_uploader(key="det-upload").upload("notes.png", b"not an image", "image/png").run()
    assert not app.exception and texts(app, "error")
    assert any("Choose an example" in i for i in texts(app, "info"))
    assert frame(app, "windows")["windows"].tolist()[:2] == ["2×2 = 4", "8×8 = 64"]  # the image-free lab still works


def test_with_yolo_weights_in_the_cache_the_page_detects(caches):
    save_untrained_yolo("yolo11n", class_logit=2.0)  # untrained: structure only
    app = open_page()
    detections = frame(app, "bx")
    assert list(detections.columns) == ["class", "confidence", "x1", "y1", "x2", "y2", "bx", "by", "bh", "bw"]
    assert len(detections) == 100  # the max-detections default
    assert {"Pre-process", "Inference", "Post-process"} <= set(metrics(app))
    assert [button.label for button in app.get("download_button")] == ["Annotated PNG", "Boxes CSV", "Boxes JSON"]
    assert any("candidates on your image before suppression" in c for c in texts(app, "caption"))
    app.number_input(key="det-max").set_value(3).run()
    assert len(frame(app, "bx")) == 3
    app.slider(key="det-conf").set_value(0.95).run()
    assert "No detections above confidence 0.95. Lower the threshold or choose other classes." in texts(app, "info")


@pytest.mark.slow
def test_region_proposals_run_both_detectors_when_their_weights_are_cached(caches):
    save_untrained_yolo("yolo11n", class_logit=2.0)  # untrained: structure only
    save_untrained_torchvision("fasterrcnn_resnet50_fpn")
    app = open_page()
    assert not any("Faster R-CNN" in w for w in texts(app, "warning"))
    app.button(key="rp-run").click().run()
    assert not app.exception
    shown = captions(app)
    assert any(c.startswith("Faster R-CNN: ") and c.endswith(" ms") for c in shown)
    assert any(c.startswith("yolo11n: ") and c.endswith(" ms") for c in shown)


def upload_video(app: AppTest, data: bytes) -> None:
    app.file_uploader(key="det-video-upload").set_value([("clip.mp4", data, "video/mp4")]).run()


def test_a_video_over_the_work_budget_is_refused_with_buttons_that_fit_it(caches, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_VIDEO_MEGAPIXELS", "1")  # 1 megapixel: 12 frames of 320×240 are 0.92, 40 are 3.1
    save_untrained_yolo("yolo11n", class_logit=2.0)  # untrained: structure only
    app = open_page()
    upload_video(app, write_video(tmp_path / "clip.mp4", frames=40, width=320, height=240, fps=10))
    assert any("clip.mp4" in c and "320×240, 40 frames at 10 frames/s (4.0 s)" in c for c in texts(app, "caption"))
    refusal = next(e for e in texts(app, "error") if "megapixels of work" in e)
    assert "40 frames at 320×240 are 3 megapixels" in refusal and "the first 1 s" in refusal
    assert "det-video-start" not in keys(app)  # nothing to start
    app.button(key="det-video-seconds-fit").click().run()
    assert app.number_input(key="det-video-seconds").value == 1
    assert not any("megapixels of work" in e for e in texts(app, "error"))
    assert "det-video-start" in keys(app)  # the fitting job can start
    app.number_input(key="det-video-seconds").set_value(4).run()
    app.button(key="det-video-every-fit").click().run()
    assert app.number_input(key="det-video-every").value == 4 and "det-video-start" in keys(app)


def test_a_file_that_is_not_a_video_says_so_and_the_page_stays_usable(app, tmp_path):
    upload_video(app, b"not a video" * 50)
    assert any("not a video that can be read" in e for e in texts(app, "error"))
    assert not app.exception and "det-video-seconds" not in keys(app)


def test_the_live_camera_waits_to_be_opened(caches):
    save_untrained_yolo("yolo11n", class_logit=2.0)  # untrained: structure only
    app = open_page()
    assert "det-live-open-button" in keys(app) and "det-live-close-button" not in keys(app)


def keys(app: AppTest) -> set[str]:
    return {button.key for button in app.button}


def test_several_images_give_one_table_their_drawings_and_a_zip(caches, tmp_path):
    save_untrained_yolo("yolo11n", class_logit=2.0)
    app = open_page()
    app.number_input(key="det-batch-max").set_value(3).run()
    photos = [(f"photo{index}.png", encode(gradient_rgb(64 + index, 48), "PNG"), "image/png") for index in range(2)]
    app.file_uploader(key="det-batch-upload").set_value([*photos, ("junk.png", b"junk", "image/png")]).run()
    app.button(key="det-batch-start").click().run()
    elements.finish_job(app, "det-batch")
    assert any(w.startswith("Skipped junk.png: ") for w in texts(app, "warning"))
    table = frame(app, "image")
    assert sorted(set(table["image"])) == ["photo0.png", "photo1.png"] and len(table) == 6  # 3 boxes each
    assert {"photo0.png: 3 found", "photo1.png: 3 found"} <= set(captions(app))
    downloads = [button.key for button in app.get("download_button")]
    assert {"det-batch-csv", "det-batch-zip"} <= set(downloads) and not app.exception


def test_more_than_twenty_images_use_the_first_twenty_and_name_the_rest(caches):
    app = open_page()
    photos = [(f"p{index:02}.png", encode(gradient_rgb(16, 16), "PNG"), "image/png") for index in range(22)]
    app.file_uploader(key="det-batch-upload").set_value(photos).run()
    assert any("the first 20 are used, not p20.png, p21.png" in w for w in texts(app, "warning"))
    assert not app.exception


def test_the_operators_own_model_appears_and_a_visitor_is_told_why_uploads_are_not_taken(caches, monkeypatch, tmp_path):
    app = open_page()
    assert "This server's own" not in app.selectbox(key="det-family").options
    assert any("a .pt file is a pickle" in c and "CNNLAB_MODELS_DIR" in c for c in texts(app, "caption"))
    save_untrained_yolo("yolo11n", class_logit=2.0, directory=tmp_path)
    (tmp_path / "yolo11n.pt").rename(tmp_path / "shelf-counter.pt")
    monkeypatch.setenv("CNNLAB_MODELS_DIR", str(tmp_path))
    app.number_input(key="det-max").set_value(4).run()  # the operator's folder is read on each run
    app.selectbox(key="det-family").set_value("This server's own").run()
    assert app.selectbox(key="det-own").options == ["shelf-counter.pt"]
    assert len(frame(app, "bx")) == 4 and not app.exception  # its boxes, through the same path
    save_untrained_yolo_onnx(tmp_path, "tally.onnx")
    app.number_input(key="det-max").set_value(3).run()
    assert app.selectbox(key="det-own").options == ["shelf-counter.pt", "tally.onnx"]
    app.selectbox(key="det-own").set_value("tally.onnx").run()
    assert len(frame(app, "bx")) == 3 and not app.exception  # an ONNX file runs through ONNX Runtime


def test_the_nms_lab_sets_yolo26s_nms_free_head_beside_the_steps(caches):
    app = open_page()
    assert any("YOLO26n detection" in w and "NMS-free head" in w for w in texts(app, "warning"))
    save_untrained_yolo("yolo26n", class_logit=2.0)
    app = open_page()
    shown = metrics(app)
    assert "yolo26n's boxes (pc ≥ 0.25)" in shown and "Of them NMS at IoU 0.50 would remove" in shown
    assert int(shown["Of them NMS at IoU 0.50 would remove"]) <= int(shown["yolo26n's boxes (pc ≥ 0.25)"])
    assert not app.exception
