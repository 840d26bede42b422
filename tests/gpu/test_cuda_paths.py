"""Every model path on CUDA gives what it gives on the CPU (within the stated tolerance),
and the shared-model lock holds under concurrent threads. Skipped without a CUDA GPU.

The pretrained networks are untrained stand-ins written to the exact cache files (no
weights can be downloaded on the build machines); the comparisons are of arithmetic, so
they hold for any weights. Tolerances: float32 on the GPU runs convolutions in TF32 by
PyTorch's default, about 1e-3 relative; bfloat16 autocast about 1e-2.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from core import segmentation as seg
from core.faces import recognition as faces
from core.runtime.examples import example_image
from core.runtime.images import fit_within
from core.runtime.weights import load_pretrained
from core.segmentation.shapes import make_sample
from core.style import neural_style as style
from tests.models import save_untrained_facenet, save_untrained_torchvision, save_untrained_yolo

pytestmark = pytest.mark.gpu

CUDA = torch.device("cuda")
CPU = torch.device("cpu")


def relative_error(measured: torch.Tensor, reference: torch.Tensor) -> float:
    reference = reference.detach().double().cpu()
    return float((measured.detach().double().cpu() - reference).norm() / reference.norm())


def test_yolo_runs_on_the_gpu_as_on_the_cpu(caches):
    from core.detection.detectors import detect_yolo

    save_untrained_yolo("yolo11n", class_logit=2.0)  # every position passes the threshold
    model = load_pretrained("yolo11n")
    image = fit_within(example_image("motorcycle"), 640)
    on_cpu = detect_yolo(model, image, CPU, max_det=50)
    on_gpu = detect_yolo(model, image, CUDA, max_det=50)
    assert model.predictor.device.type == "cuda"  # the predictor moves a copy of the network
    assert len(on_gpu.detections) == len(on_cpu.detections) == 50
    for found in on_gpu.detections:
        x1, y1, x2, y2 = found.box
        assert 0 <= x1 < x2 <= image.shape[1] and 0 <= y1 < y2 <= image.shape[0]
    scores_cpu = sorted(found.confidence for found in on_cpu.detections)
    scores_gpu = sorted(found.confidence for found in on_gpu.detections)
    assert np.allclose(scores_gpu, scores_cpu, atol=2e-3)
    assert on_gpu.annotated().shape == image.shape


def test_shared_yolo_under_concurrent_threads_gives_each_caller_its_own_answer(caches):
    from core.detection.detectors import detect_yolo

    save_untrained_yolo("yolo11n", class_logit=2.0)
    model = load_pretrained("yolo11n")
    images = [fit_within(example_image(name), 480) for name in ("motorcycle", "astronaut", "coffee", "rocket")]
    alone = [detect_yolo(model, image, CUDA, max_det=20).rows() for image in images]
    answers: dict[int, list] = {}
    errors: list[BaseException] = []

    def caller(index: int) -> None:
        try:
            for _ in range(3):
                rows = detect_yolo(model, images[index % 4], CUDA, max_det=20).rows()
                answers.setdefault(index, []).append(rows)
        except BaseException as error:  # collected, re-raised in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=caller, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    for index, runs in answers.items():
        assert len(runs) == 3
        for rows in runs:
            assert [row["class"] for row in rows] == [row["class"] for row in alone[index % 4]]
            assert np.allclose([row["x1"] for row in rows], [row["x1"] for row in alone[index % 4]], atol=0.5)


def test_faster_rcnn_features_and_detections_on_the_gpu(caches):
    from core.detection.detectors import coco_categories, detect_faster_rcnn

    torch.manual_seed(0)
    save_untrained_torchvision("fasterrcnn_resnet50_fpn")
    model = load_pretrained("fasterrcnn_resnet50_fpn")
    image = fit_within(example_image("motorcycle"), 480)
    pixels = torch.tensor(image).permute(2, 0, 1).float().div(255)[None]
    with torch.inference_mode():
        features_cpu = model.backbone(pixels)
        model.to(CUDA)
        features_gpu = model.backbone(pixels.to(CUDA))
    for level, value in features_cpu.items():
        assert relative_error(features_gpu[level], value) < 5e-3
    result = detect_faster_rcnn(model, coco_categories("FasterRCNN_ResNet50_FPN_Weights.COCO_V1"), image, CUDA, 0.0)
    assert result.speed_ms["total"] > 0
    for found in result.detections:
        x1, y1, x2, y2 = found.box
        assert 0 <= x1 <= x2 <= image.shape[1] and 0 <= y1 <= y2 <= image.shape[0]


def test_deeplab_labels_on_the_gpu_match_the_cpu(caches):
    torch.manual_seed(0)
    save_untrained_torchvision("deeplabv3_mobilenet_v3_large")
    model = load_pretrained("deeplabv3_mobilenet_v3_large")
    tag = "DeepLabV3_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1"
    image = fit_within(example_image("chelsea"), 320)
    on_cpu = seg.segment_with_torchvision(model, tag, image, CPU)
    on_gpu = seg.segment_with_torchvision(model.to(CUDA), tag, image, CUDA)
    assert on_gpu.labels.shape == image.shape[:2]
    assert (on_gpu.labels == on_cpu.labels).mean() > 0.99  # near-ties may flip a few pixels


def test_unet_training_steps_on_the_gpu_follow_the_cpu():
    config = seg.TrainingConfig(epochs=1, train_images=64, validation_images=16, batch_size=16)
    data = seg.TrainingData.make(config)
    losses = {}
    for device in (CPU, CUDA):
        model = seg.new_model(config)
        losses[device.type] = [
            progress.loss
            for progress in seg.train(model, data, config, device, report_every=1)
            if progress.validation is None
        ]
        assert next(model.parameters()).device.type == device.type
    assert len(losses["cuda"]) == 4
    assert losses["cuda"][0] == pytest.approx(losses["cpu"][0], rel=1e-2)
    assert losses["cuda"][-1] < losses["cuda"][0]


def test_the_shipped_unet_labels_a_sample_alike_on_both_devices():
    model = load_pretrained("unet_shapes")
    image, _, _ = make_sample(7, 0, size=64)
    on_cpu = seg.predict_labels(model, image, CPU)
    on_gpu = seg.predict_labels(model.to(CUDA), image, CUDA)
    assert (on_gpu == on_cpu).mean() > 0.995


def test_mtcnn_and_facenet_on_the_gpu_match_the_cpu(caches):
    torch.manual_seed(0)
    save_untrained_facenet("facenet_vggface2")
    encoder = load_pretrained("facenet_vggface2")
    image = example_image("astronaut")
    found_cpu = faces.detect_faces(image, faces.new_detector(CPU))
    found_gpu = faces.detect_faces(image, faces.new_detector(CUDA))
    assert len(found_gpu) == len(found_cpu) == 1
    assert np.allclose(found_gpu[0].box, found_cpu[0].box, atol=2.0)
    crops = faces.align_faces(image, found_cpu)
    on_cpu = faces.embed_faces(crops, encoder, CPU)
    on_gpu = faces.embed_faces(crops, encoder.to(CUDA), CUDA)
    assert on_gpu.device.type == "cpu" and on_gpu.shape == (1, faces.EMBEDDING_SIZE)
    assert float(on_gpu[0] @ on_cpu[0]) > 0.999


def test_face_search_on_the_gpu_finds_the_cpu_rows():
    generator = torch.Generator().manual_seed(3)
    gallery = torch.nn.functional.normalize(torch.randn(20_000, faces.EMBEDDING_SIZE, generator=generator), dim=1)
    queries = gallery[[5, 17_000]] + 0.01 * torch.randn(2, faces.EMBEDDING_SIZE, generator=generator)
    queries = torch.nn.functional.normalize(queries, dim=1)
    distances_cpu, rows_cpu = faces.nearest(queries, gallery, 3)
    distances_gpu, rows_gpu = faces.nearest(queries.to(CUDA), gallery.to(CUDA), 3)
    assert rows_gpu[:, 0].tolist() == rows_cpu[:, 0].tolist() == [5, 17_000]
    assert torch.allclose(distances_gpu.cpu(), distances_cpu, atol=1e-3)


def _style_run(device: torch.device, steps: int) -> list[dict[str, float]]:
    from torchvision.models import vgg19

    torch.manual_seed(0)
    network = style.vgg19_features(vgg19().to(device))
    config = style.StyleConfig(image_size=64, iterations=steps, preview_every=steps)
    extractor = style.VGGFeatures(network, config.layers).to(device)
    content = style.to_tensor(example_image("astronaut"), 64).to(device)
    style_image = style.to_tensor(example_image("hubble_deep_field"), 64).to(device)
    return [progress.losses for progress in style.transfer(extractor, content, [(style_image, 1.0)], config)]


def test_vgg_activations_under_bfloat16_autocast_stay_within_2_percent_of_float32():
    from torchvision.models import vgg19

    torch.manual_seed(0)
    model = vgg19()
    image = style.to_tensor(example_image("chelsea"), 128)
    on_cpu = style.VGGFeatures(style.vgg19_features(model), style.StyleConfig().layers)(image)
    on_gpu = style.VGGFeatures(style.vgg19_features(model.to(CUDA)), style.StyleConfig().layers).to(CUDA)(
        image.to(CUDA)
    )
    for name, activation in on_cpu.items():
        assert on_gpu[name].dtype == torch.float32
        assert relative_error(on_gpu[name], activation) < 2e-2, name
        assert relative_error(style.gram_matrix(on_gpu[name]), style.gram_matrix(activation)) < 2e-2, name


def test_graphed_style_steps_on_the_gpu_follow_the_cpu_steps():
    """The CUDA graph replays the same optimization: five steps' costs within 5 % of the
    CPU's (bfloat16 activations), and 30 steps halve J."""
    on_cpu = _style_run(CPU, 5)
    on_gpu = _style_run(CUDA, 30)
    for cpu_step, gpu_step in zip(on_cpu, on_gpu):
        for part in ("style", "total"):
            assert gpu_step[part] == pytest.approx(cpu_step[part], rel=5e-2)
        assert gpu_step["content"] == pytest.approx(cpu_step["content"], rel=0.1, abs=1e-3 * cpu_step["total"])
    assert on_gpu[-1]["total"] < 0.5 * on_gpu[0]["total"]
