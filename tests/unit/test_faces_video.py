"""core.faces.video: MTCNN on every frame of a video finds the astronaut's one face, and the
gallery's 1:K search names it or not by τ; who appears, and when. The encoder here is
untrained (its weights cannot be downloaded here): the names test the plumbing, not
recognition; MTCNN's weights are the real ones."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
import torch
from skimage import data

from core.faces import recognition as faces
from core.faces import video as face_video
from core.media import video
from core.runtime.files import PrivateFolder
from core.runtime.jobs import CancelToken
from tests.videos import write_video

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def networks():
    from facenet_pytorch import InceptionResnetV1

    torch.manual_seed(0)
    return faces.new_detector(), InceptionResnetV1(pretrained=None).eval()


def recognizing(networks, threshold: float) -> face_video.FaceRecognitionVideo:
    detector, encoder = networks
    photo = data.astronaut()
    crops = faces.align_faces(photo, faces.detect_faces(photo, detector))
    template = faces.embed_faces(crops, encoder)  # the still photo's face, enrolled as "Eileen"
    return face_video.FaceRecognitionVideo(
        "untrained", lambda: detector, lambda: encoder, ("Eileen",), template, threshold
    )


def test_the_one_face_in_every_frame_is_found_and_named_within_tau(tmp_path, networks):
    data_ = write_video(tmp_path / "walk.mp4", frames=6, width=400, height=300, fps=6)
    plan = video.plan_video(video.probe_video(data_))
    work = recognizing(networks, threshold=2.0)  # every distance between unit vectors is at most 2
    assert work.title == "MTCNN and untrained against 1 people"
    job = video.VideoJob(work, data_, plan, PrivateFolder())
    frames = [step.record for step in job.run(CPU, CancelToken())]
    assert [len(frame.found) for frame in frames] == [1] * 6
    assert all(frame.found[0].name == "Eileen" and 0 <= frame.found[0].distance <= 2 for frame in frames)
    rows = face_video.appearance_rows(frames)
    assert rows == [
        {
            "person": "Eileen",
            "first s": 0.0,
            "last s": pytest.approx(5 / 6, abs=1e-3),
            "frames seen": 6,
            "closest distance": round(min(frame.found[0].distance for frame in frames), 4),
        }
    ]
    assert list(csv.DictReader(io.StringIO(face_video.appearances_csv(frames))))[0]["person"] == "Eileen"


def test_beyond_tau_a_face_is_not_recognized_and_drawn_red(tmp_path, networks):
    data_ = write_video(tmp_path / "walk.mp4", frames=1, width=400, height=300)
    frame = next(video.read_frames(data_, video.plan_video(video.probe_video(data_))))
    drawn, sightings = recognizing(networks, threshold=0.0).start(CPU)(frame)
    assert [sighting.name for sighting in sightings] == [None]
    x1, y1, x2, y2 = (round(value) for value in sightings[0].box)
    assert tuple(drawn[y1 + 1, (x1 + x2) // 2]) == face_video.UNKNOWN  # the box's top edge, in red
    assert np.array_equal(drawn[:, : max(0, x1 - 10)], frame.bgr[:, : max(0, x1 - 10)])  # elsewhere untouched
    assert face_video.appearance_rows([video.VideoFrame(0, 0.0, 1.0, sightings)])[0]["person"] == "not recognized"
