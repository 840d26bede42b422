"""The face recognition page through streamlit.testing: detection without any download,
enrollment and the gallery, privacy between sessions and in the operator's database, and
verification, recognition and labs with an untrained encoder in the cache (plumbing only:
an identical crop has distance 0 whatever the weights)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.faces.gallery import Gallery, open_store
from core.runtime.examples import example_image
from tests.app import elements
from tests.app.elements import captions, metrics, texts
from tests.images import encode
from tests.models import save_untrained_facenet
from tests.postgres import fresh_database
from ui import state
from ui.face_gallery import KEY_BYTES

PAGE = "app_pages/faces.py"


def open_page() -> AppTest:
    return elements.open_page("app_pages/faces.py", timeout=180)


@pytest.fixture()
def app(caches, monkeypatch) -> AppTest:
    monkeypatch.delenv("CNNLAB_FACE_DB", raising=False)
    return open_page()


@pytest.fixture()
def encoder(caches, monkeypatch) -> AppTest:
    """The page with an untrained VGGFace2 encoder in the temporary cache."""
    monkeypatch.delenv("CNNLAB_FACE_DB", raising=False)
    save_untrained_facenet("facenet_vggface2")
    return open_page()


def png(pixels: np.ndarray) -> bytes:
    return encode(Image.fromarray(pixels), "PNG")


def two_astronauts() -> np.ndarray:
    astronaut = example_image("astronaut")
    return np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)  # two faces side by side


def enroll(app: AppTest, name: str, upload: bytes | None = None) -> AppTest:
    """Type ``name`` and enroll the face of an upload (default: the astronaut example)."""
    if upload is not None:
        app.segmented_control(key="faces-enroll-source").set_value("Upload").run()
        app.file_uploader(key="faces-enroll-upload").upload("face.png", upload, "image/png").run()
    app.text_input(key="enroll-name").input(name).run()
    app.button(key="enroll-add").click().run()
    assert not app.exception, app.exception
    return app


def gallery_heading(app: AppTest) -> str:
    return next(header for header in texts(app, "subheader") if header.startswith("Gallery:"))


# -- without the encoder's weights ------------------------------------------------------------------------------


def test_detection_and_enrollment_work_and_recognition_says_what_is_missing(app):
    assert "Face 1" in captions(app)  # the astronaut's crop
    landmarks = next(frame.value for frame in app.dataframe if "left eye" in frame.value.columns)
    assert len(landmarks) == 1 and landmarks["probability"].iloc[0] > 0.99
    warnings = texts(app, "warning")
    # the encoder is missing for verify, recognize, the labs, the video and the live camera
    assert sum("InceptionResnetV1 face embeddings (VGGFace2)" in w and "make weights" in w for w in warnings) == 5
    enroll(app, "Eileen Collins")
    assert "Enrolled Eileen Collins." in texts(app, "success")
    note = next(i for i in texts(app, "info") if i.startswith("The gallery keeps Eileen Collins's face as a crop."))
    assert "Verify and Recognize" in note and "weights are not on this machine" in note
    assert gallery_heading(app) == "Gallery: 1 person, 1 photo"
    assert app.text_input(key="enroll-name").value == ""  # ready for the next person


def test_without_the_encoder_the_triplet_loss_runs_on_the_crops_pixels(app):
    enroll(app, "Eileen Collins")
    enroll(app, "Eileen Collins")  # the same photo again, added to her: a positive at distance 0
    enroll(app, "Mirror", png(example_image("astronaut")[:, ::-1].copy()))  # a mirrored face: another "person"
    assert any("runs on the crops' own pixels" in i for i in texts(app, "info"))
    latex = next(value for value in texts(app, "latex") if "L(A, P, N)" in value)
    assert r"\lVert f(A) - f(P)\rVert^2}_{0.000}" in latex  # the same crop twice
    assert any("triplets of the gallery" in caption for caption in texts(app, "caption"))
    assert not app.exception


def test_a_photo_without_a_face_says_why_and_how(app):
    app.selectbox(key="faces-detect-example").set_value("coffee").run()
    assert any("No face found" in w and "Smallest face" in w and "20 px" in w for w in texts(app, "warning"))
    assert "Your photo, 600×400" in captions(app)  # the photo stays in view
    app.selectbox(key="faces-detect-example").set_value("astronaut")
    app.slider(key="faces-min-size").set_value(300).run()  # her face is about 90 px; the photo is 512 px
    assert any("No face found" in w and "300 px" in w for w in texts(app, "warning"))
    assert not app.exception


@pytest.mark.parametrize("side", [12, 250])
def test_tiny_photos_and_photos_below_the_smallest_face_say_no_face(app, side):
    """These used to end in a traceback (torch.cat of an empty list inside MTCNN)."""
    small = np.asarray(Image.fromarray(example_image("astronaut")).resize((side, side)))
    app.slider(key="faces-min-size").set_value(300)
    app.segmented_control(key="faces-detect-source").set_value("Upload").run()
    app.file_uploader(key="faces-detect-upload").upload("small.png", png(small), "image/png").run()
    assert not app.exception
    assert any("No face found" in w for w in texts(app, "warning"))


def test_a_large_photo_is_searched_reduced_and_says_so(app):
    canvas = np.full((2400, 3200, 3), 90, np.uint8)
    canvas[900:1412, 1300:1812] = example_image("astronaut")
    app.segmented_control(key="faces-detect-source").set_value("Upload").run()
    app.file_uploader(key="faces-detect-upload").upload("large.png", png(canvas), "image/png").run()
    assert not app.exception and "Face 1" in captions(app)
    assert any(
        "reduced to 1600 px" in caption.value and "smaller than 24 px" in caption.value for caption in app.caption
    )


def test_a_grayscale_upload_is_detected(app):
    app.segmented_control(key="faces-detect-source").set_value("Upload").run()
    gray = example_image("camera")[:, :, 0]
    app.file_uploader(key="faces-detect-upload").upload("gray.png", png(gray), "image/png").run()
    assert not app.exception and "Face 1" in captions(app)


def test_enrollment_asks_which_face_and_about_a_name_in_use(app):
    app.segmented_control(key="faces-enroll-source").set_value("Upload").run()
    app.file_uploader(key="faces-enroll-upload").upload("pair.png", png(two_astronauts()), "image/png").run()
    assert app.radio(key="faces-enroll-face").options == ["Face 1", "Face 2"]
    app.radio(key="faces-enroll-face").set_value(1)
    app.text_input(key="enroll-name").input("Eileen").run()
    app.button(key="enroll-add").click().run()
    assert "Enrolled Eileen." in texts(app, "success")
    app.text_input(key="enroll-name").input(" Eileen ").run()
    assert app.radio(key="enroll-existing").options == ["Add this photo to them", "It is someone else"]
    app.radio(key="enroll-existing").set_value("It is someone else").run()
    assert app.button(key="enroll-add").disabled and any("Change the name" in w for w in texts(app, "warning"))
    app.radio(key="enroll-existing").set_value("Add this photo to them").run()
    app.button(key="enroll-add").click().run()
    assert "Enrolled Eileen (photo 2)." in texts(app, "success")
    assert gallery_heading(app) == "Gallery: 1 person, 2 photos"


def test_empty_and_overlong_names_cannot_enroll(app):
    assert app.button(key="enroll-add").disabled
    app.text_input(key="enroll-name").input("   ").run()
    assert app.button(key="enroll-add").disabled and "Type the person's name to enroll this face." in texts(app, "info")


def test_rename_delete_and_forget_everything(app):
    enroll(app, "Ann")
    app.text_input(key="enroll-name").input("Ben").run()
    app.button(key="enroll-add").click().run()
    app.text_input(key="rename-Ann").input("Ben").run()
    app.button(key="rename-go-Ann").click().run()
    assert any("'Ben' is already in the gallery" in e for e in texts(app, "error"))
    app.text_input(key="rename-Ann").input("Anne").run()
    app.button(key="rename-go-Ann").click().run()
    assert "Renamed Ann to Anne." in texts(app, "success")
    app.button(key="delete-Ben").click().run()
    assert gallery_heading(app) == "Gallery: 1 person, 1 photo"
    app.button(key="faces-forget").click().run()
    assert any("Delete all 1 photos of 1 person" in w for w in texts(app, "warning"))
    assert gallery_heading(app) == "Gallery: 1 person, 1 photo"  # nothing gone before the answer
    app.button(key="faces-forget-cancel").click().run()
    assert gallery_heading(app) == "Gallery: 1 person, 1 photo" and not any(
        "Delete all" in w for w in texts(app, "warning")
    )
    app.button(key="faces-forget").click().run()
    app.button(key="faces-forget-yes").click().run()
    assert gallery_heading(app) == "Gallery: 0 people, 0 photos" and not app.exception


def test_import_adds_an_exported_gallery_and_refuses_other_files(app):
    exported = Gallery()
    exported.add("Imported Person", np.full((160, 160, 3), 128, np.uint8))
    app.file_uploader(key="faces-import").upload("gallery.npz", exported.export(), "application/octet-stream").run()
    app.button(key="faces-import-go").click().run()
    assert "Imported 1 photo from gallery.npz." in texts(app, "success")
    assert gallery_heading(app) == "Gallery: 1 person, 1 photo"
    app.button(key="faces-import-go").click().run()  # the same file again
    assert "Nothing new in gallery.npz: its 1 photo are already in the gallery." in texts(app, "success")
    assert gallery_heading(app) == "Gallery: 1 person, 1 photo"
    app.file_uploader(key="faces-import").upload("other.npz", b"PK\x03\x04 junk", "application/octet-stream").run()
    app.button(key="faces-import-go").click().run()
    assert any("not a CNN Lab face gallery" in e for e in texts(app, "error")) and not app.exception


def test_two_sessions_never_see_each_others_gallery(app):
    enroll(app, "Only Mine")
    other = open_page()
    assert gallery_heading(other) == "Gallery: 0 people, 0 photos"
    assert gallery_heading(app) == "Gallery: 1 person, 1 photo"


def test_with_a_database_each_user_sees_only_their_own_gallery(caches, monkeypatch, face_db):
    monkeypatch.setenv("CNNLAB_FACE_DB", face_db)
    monkeypatch.delenv("CNNLAB_FACE_DB_SHARED", raising=False)
    first = open_page()
    enroll(first, "First User's Friend")
    key = first.session_state[state.GALLERY_KEY.key]
    second = open_page()
    assert gallery_heading(second) == "Gallery: 0 people, 0 photos"
    # a key is 96 random bits (secrets.token_urlsafe(12): 16 characters); one tells nothing of another
    other_key = second.session_state[state.GALLERY_KEY.key]
    assert len(key) == len(other_key) == 16 and key != other_key and KEY_BYTES * 8 == 96
    second.text_input(key="faces-open-key").input(key).run()  # the first user's key opens their gallery
    assert gallery_heading(second) == "Gallery: 1 person, 1 photo"
    assert [entry.name for entry in open_store(face_db).entries(f"key:{key}")] == ["First User's Friend"]


def test_a_shared_team_gallery_is_seen_by_everyone(caches, monkeypatch, face_db):
    monkeypatch.setenv("CNNLAB_FACE_DB", face_db)
    monkeypatch.setenv("CNNLAB_FACE_DB_SHARED", "1")
    enroll(open_page(), "Team Member")
    assert gallery_heading(open_page()) == "Gallery: 1 person, 1 photo"


def test_a_database_damaged_during_a_session_loses_nothing_already_in_it(caches, monkeypatch, tmp_path):
    database = tmp_path / "faces.sqlite"
    monkeypatch.setenv("CNNLAB_FACE_DB", str(database))
    monkeypatch.delenv("CNNLAB_FACE_DB_SHARED", raising=False)
    app = open_page()
    enroll(app, "Before The Damage")
    database.write_bytes(b"this is not a SQLite database" * 100)
    app.run()
    assert any("cannot be used" in w and "nothing in it is lost" in w for w in texts(app, "warning"))
    assert gallery_heading(app) == "Gallery: 1 person, 1 photo"
    enroll(app, "After The Damage")
    assert gallery_heading(app) == "Gallery: 2 people, 2 photos"


def test_a_postgresql_database_gone_during_a_session_loses_nothing_already_in_it(caches, monkeypatch, postgres_url):
    with fresh_database(postgres_url) as url:
        monkeypatch.setenv("CNNLAB_FACE_DB", url)
        monkeypatch.delenv("CNNLAB_FACE_DB_SHARED", raising=False)
        app = open_page()
        assert any("PostgreSQL database cnnlab_" in text for text in texts(app, "caption") + texts(app, "markdown"))
        enroll(app, "Before It Went")
    app.run()  # the database has been dropped
    assert any("cannot be used" in w and "nothing in it is lost" in w for w in texts(app, "warning"))
    assert gallery_heading(app) == "Gallery: 1 person, 1 photo"
    enroll(app, "After It Went")
    assert gallery_heading(app) == "Gallery: 2 people, 2 photos"


def test_a_postgresql_server_stopped_during_a_session_leaves_its_gallery_in_memory(caches, monkeypatch):
    from tests.postgres import postgres_server

    with postgres_server() as url:  # a server of this test's own, stopped at the end of the block
        monkeypatch.setenv("CNNLAB_FACE_DB", url)
        monkeypatch.delenv("CNNLAB_FACE_DB_SHARED", raising=False)
        app = open_page()
        enroll(app, "Before The Stop")
    app.run()  # the server is down
    assert any("cannot be used" in w and "nothing in it is lost" in w for w in texts(app, "warning"))
    assert gallery_heading(app) == "Gallery: 1 person, 1 photo"
    enroll(app, "After The Stop")
    assert gallery_heading(app) == "Gallery: 2 people, 2 photos"


def test_an_unreachable_postgresql_server_falls_back_and_never_shows_the_password(caches, monkeypatch):
    monkeypatch.setenv("CNNLAB_FACE_DB", "postgresql://cnnlab:s3cret@127.0.0.1:9/faces")
    app = open_page()
    errors = texts(app, "error")
    assert any("PostgreSQL database faces on 127.0.0.1 cannot be used" in e and "in memory" in e for e in errors)
    assert not any(
        "s3cret" in text for kind in ("error", "caption", "markdown", "warning") for text in texts(app, kind)
    )
    enroll(app, "Still Works")
    assert gallery_heading(app) == "Gallery: 1 person, 1 photo"


def test_a_damaged_database_file_falls_back_to_the_session(caches, monkeypatch, tmp_path):
    database = tmp_path / "faces.sqlite"
    database.write_bytes(b"garbage" * 1000)
    monkeypatch.setenv("CNNLAB_FACE_DB", str(database))
    app = open_page()
    assert any("cannot be used" in e and "in memory" in e for e in texts(app, "error"))
    enroll(app, "Still Works")
    assert gallery_heading(app) == "Gallery: 1 person, 1 photo"


def test_an_unusable_database_path_falls_back_to_the_session(caches, monkeypatch, tmp_path):
    monkeypatch.setenv("CNNLAB_FACE_DB", str(tmp_path / "missing-directory" / "faces.sqlite"))
    app = open_page()
    assert any("cannot be used" in e and "in memory" in e for e in texts(app, "error"))
    enroll(app, "Still Works")
    assert gallery_heading(app) == "Gallery: 1 person, 1 photo"


# -- with an untrained encoder in the cache: plumbing ---------------------------------------------------------


def test_verification_of_a_photo_with_itself(encoder):
    app = encoder
    app.selectbox(key="faces-verify-b-example").set_value("astronaut").run()
    assert metrics(app)["Distance d"] == "0.000" and metrics(app)["Cosine similarity"] == "1.000"
    assert "Same person: the distance is within τ." in texts(app, "success")
    assert any(r"\le \tau = 1.04" in latex for latex in texts(app, "latex"))
    app.slider(key="faces-threshold").set_value(0.0).run()
    assert any(r"\le \tau = 0.00" in latex for latex in texts(app, "latex"))  # d = 0 ≤ 0: still the same
    app.button(key="verify-record-True").click().run()
    (pair,) = app.session_state[state.FACE_PAIRS.key]
    assert (pair.encoder, pair.distance, pair.same_person) == ("facenet_vggface2", pytest.approx(0.0, abs=1e-3), True)


def test_recognition_after_enrollment_and_the_labs(encoder):
    app = encoder
    assert "The gallery is empty: enroll people in the Gallery tab, then recognize them here." in texts(app, "info")
    enroll(app, "Eileen Collins")
    recognized = next(frame.value for frame in app.dataframe if "identity" in frame.value.columns)
    assert recognized["identity"].iloc[0] == "Eileen Collins" and recognized["distance"].iloc[0] < 1e-3
    assert "**Face 1: Eileen Collins**" in texts(app, "markdown")
    enroll(app, "Cameraman", png(example_image("camera")))
    assert any(info.startswith("Fitting w and b needs labelled pairs of both kinds") for info in texts(app, "info"))
    app.segmented_control(key="faces-enroll-source").set_value("Example").run()
    app.text_input(key="enroll-name").input("Eileen Collins").run()
    app.button(key="enroll-add").click().run()  # a second photo of her: the labs have a same-person pair
    assert gallery_heading(app) == "Gallery: 2 people, 3 photos"
    assert metrics(app)["Pairs (same / different)"] == "1 / 2"
    matrix = next(chart for chart in app.get("plotly_chart") if chart.proto.id.endswith("-faces-matrix"))
    assert '"texttemplate"' in matrix.proto.spec  # three photos: the distances are printed in the cells
    assert any(r"L(A, P, N) = \max" in latex for latex in texts(app, "latex"))
    assert any("All 2 triplets of the gallery" in caption for caption in texts(app, "caption"))
    assert any("on 3 pairs of your gallery, 1 of them the same person" in caption for caption in texts(app, "caption"))
    probabilities = {}
    for pair_second in (1, 2):  # Eileen Collins #1 with the cameraman, then with her second photo
        app.selectbox(key="binary-j").set_value(pair_second).run()
        probabilities[pair_second] = probability = float(metrics(app)["ŷ for this pair"])
        assert 0 < probability < 1
        assert metrics(app)["Verdict (ŷ ≥ 0.5)"] == ("same person" if probability >= 0.5 else "different people")
    # fitted on these pairs, w and b rate her two photos likelier one person than her and the cameraman
    assert probabilities[2] > probabilities[1]  # equal if w were 0; small, as the untrained encodings are alike
    assert not app.exception


def test_verification_against_an_enrolled_person(encoder):
    app = enroll(encoder, "Eileen Collins")
    app.radio(key="verify-mode").set_value("A photo and an enrolled person").run()
    assert app.selectbox(key="verify-person").value == "Eileen Collins"
    assert metrics(app)["Distance d"] == "0.000"


def test_a_large_gallery_keeps_the_labs_bounded(encoder):
    """150 photos of 50 people: 11,175 pairs, so the classifier fits on a seeded sample of
    them, and the distance matrix drops its 22,500 printed numbers."""
    app = encoder
    gallery = Gallery()
    generator = np.random.default_rng(0)
    for row in range(150):
        gallery.add(f"Person {row // 3}", generator.integers(0, 256, (160, 160, 3), dtype=np.uint8))
    app.session_state[state.GALLERY.key] = gallery
    app.run(timeout=300)
    assert not app.exception
    assert metrics(app)["Pairs (same / different)"] == "150 / 11,025"
    assert any(
        "on 10,000 pairs of your gallery (a seeded sample of all 11,175), 150 of them the same person" in caption
        for caption in texts(app, "caption")
    )
    assert any("All 44,100 triplets of the gallery" in caption for caption in texts(app, "caption"))  # 150 × 2 × 147
    matrix = next(chart for chart in app.get("plotly_chart") if chart.proto.id.endswith("-faces-matrix"))
    assert '"texttemplate"' not in matrix.proto.spec
