"""core.segmentation.video: the shipped U-Net on a video of the synthetic shapes it was
trained on finds each frame's shapes in about their true share; the table of shares."""

from __future__ import annotations

import csv
import io
from fractions import Fraction

import av
import numpy as np
import pytest
import torch

from core.media import video
from core.runtime.files import PrivateFolder
from core.runtime.jobs import CancelToken
from core.runtime.weights import get_weights, load_pretrained
from core.segmentation import checkpoint_manifest, shapes
from core.segmentation import video as seg_video

CPU = torch.device("cpu")


def shapes_video(path, frames: int, side: int) -> tuple[bytes, list[dict[str, float]]]:
    """A video of fresh synthetic samples (seed 4242, not used in training), and their true shares."""
    truths = []
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(5))
        stream.width = stream.height = side
        stream.pix_fmt, stream.options = "yuv420p", {"crf": "12"}
        for index in range(frames):
            image, labels, _ = shapes.make_sample(4242, index, side)
            truths.append({name: share for name, share in shapes.class_shares(labels).items() if name != "background"})
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
    return path.read_bytes(), truths


def test_the_shipped_unet_finds_the_shapes_of_each_frame_of_a_video(tmp_path):
    side = checkpoint_manifest(get_weights("unet_shapes").cache_path())["config"]["image_size"]
    model = load_pretrained("unet_shapes")
    data, truths = shapes_video(tmp_path / "shapes.mp4", frames=6, side=2 * side)  # frames twice the trained size
    plan = video.plan_video(video.probe_video(data))
    work = seg_video.UNetVideo("unet_shapes", lambda: model, side, alpha=0.6)
    assert work.memory_parts(plan) == {"the size": 24 * (2 * side) ** 2, "the network's input size": 400 * side**2}
    job = video.VideoJob(work, data, plan, PrivateFolder())
    frames = [step.record for step in job.run(CPU, CancelToken())]
    assert len(frames) == 6
    for frame, truth in zip(frames, truths):
        for name in ("circle", "square", "triangle"):
            assert frame.found[name] == pytest.approx(truth[name], abs=0.05)  # H.264 and a 2× resize in between
    rows = seg_video.share_rows(frames)
    assert list(rows[0]) == ["frame", "time s", "circle", "square", "triangle"]
    assert [row["frame"] for row in rows] == list(range(6)) and rows[1]["time s"] == 0.2
    table = list(csv.DictReader(io.StringIO(seg_video.shares_csv(frames))))
    assert float(table[2]["circle"]) == rows[2]["circle"]
    written = video.probe_video(job.output.path.read_bytes())
    assert (written.frames, written.width) == (6, 2 * side)


def test_the_overlay_leaves_background_pixels_as_they_were(tmp_path):
    model = load_pretrained("unet_shapes")
    data, _ = shapes_video(tmp_path / "shapes.mp4", frames=1, side=64)
    frame = next(video.read_frames(data, video.plan_video(video.probe_video(data))))
    drawn, shares = seg_video.UNetVideo("unet_shapes", lambda: model, 64, alpha=1.0).start(CPU)(frame)
    assert drawn.shape == frame.bgr.shape and set(shares) == {"circle", "square", "triangle"}
    from core.segmentation.unet import predict_labels

    labels = predict_labels(model, frame.rgb(), CPU, 64)
    background = labels == 0
    assert np.array_equal(drawn[background], frame.bgr[background])
    colors = np.asarray(shapes.COLORS, dtype=np.uint8)[:, ::-1]  # BGR
    assert np.array_equal(drawn[labels == 1], np.broadcast_to(colors[1], drawn[labels == 1].shape))
