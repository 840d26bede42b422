"""core.faces.recognition and core.faces.gallery: MTCNN detection on real photos, crops and encodings, distances
and search against brute force, the triplet loss by hand, thresholds, and the gallery with
its SQLite store and export file."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from core.faces import recognition as faces
from core.faces.gallery import (
    Gallery,
    GalleryError,
    ImportResult,
    PostgresGalleryStore,
    SqliteGalleryStore,
    open_store,
    read_export,
)
from core.runtime.examples import example_image


@pytest.fixture(scope="module")
def detector():
    return faces.new_detector()


@pytest.fixture(scope="module")
def encoder():
    """An untrained InceptionResnetV1: shapes and plumbing only, never identities."""
    from facenet_pytorch import InceptionResnetV1

    torch.manual_seed(0)
    return InceptionResnetV1().eval()


def unit_vectors(count: int, seed: int, size: int = faces.EMBEDDING_SIZE) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(count, size, generator=generator), dim=1)


# -- detection -----------------------------------------------------------------------------------------------


def test_mtcnn_finds_the_astronaut_with_five_landmarks_inside_her_box(detector):
    found = faces.detect_faces(example_image("astronaut"), detector)
    assert len(found) == 1
    face = found[0]
    x1, y1, x2, y2 = face.box
    assert face.probability > 0.99
    assert face.landmarks.shape == (5, 2)
    assert np.all((face.landmarks[:, 0] > x1) & (face.landmarks[:, 0] < x2))
    assert np.all((face.landmarks[:, 1] > y1) & (face.landmarks[:, 1] < y2))
    left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks
    assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


def test_the_default_detector_is_made_when_none_is_given():
    assert len(faces.detect_faces(example_image("astronaut"))) == 1


@pytest.mark.parametrize("name", ["coffee", "rocket", "chelsea"])
def test_photos_without_people_have_no_faces(detector, name):
    assert faces.detect_faces(example_image(name), detector) == []


def test_a_grayscale_photo_works(detector):
    assert len(faces.detect_faces(example_image("camera"), detector)) == 1  # the cameraman


def test_a_minimum_face_size_above_the_face_finds_nothing(detector):
    image = example_image("astronaut")  # her face is about 90 px wide; the pyramid is coarse
    assert faces.detect_faces(image, detector, faces.DetectionSettings(min_face_size=300)) == []
    assert len(faces.detect_faces(image, detector, faces.DetectionSettings(min_face_size=40))) == 1


@pytest.mark.parametrize("side", [1, 5, 11, 12, 19, 20, 24])
def test_tiny_photos_hold_no_face_instead_of_failing(detector, side):
    """Below the smallest face MTCNN has no pyramid level (it used to fail in torch.cat)."""
    small = np.asarray(Image.fromarray(example_image("astronaut")).resize((side, side)))
    assert faces.detect_faces(small, detector) == []


def test_a_photo_smaller_than_the_smallest_face_holds_none(detector):
    photo = np.asarray(Image.fromarray(example_image("astronaut")).resize((250, 250)))
    assert len(faces.detect_faces(photo, detector)) == 1
    assert faces.detect_faces(photo, detector, faces.DetectionSettings(min_face_size=300)) == []


def test_a_large_photo_is_searched_reduced_and_answered_in_its_own_pixels(detector):
    """The astronaut pasted at full size into a 4000×3000 photo: the face is found on the
    1600-px copy and reported where it is in the large photo, as on the 512-px original."""
    original = example_image("astronaut")
    canvas = np.full((3000, 4000, 3), 90, np.uint8)
    canvas[1200:1712, 2100:2612] = original
    assert faces.detection_scale(3000, 4000) == 0.4
    assert faces.smallest_detectable_face(3000, 4000) == 30  # 12-pixel windows on the 0.4× copy
    found = faces.detect_faces(canvas, detector)
    reference = faces.detect_faces(original, detector)[0]
    assert len(found) == 1
    expected = np.add(reference.box, [2100, 1200, 2100, 1200])
    assert np.allclose(found[0].box, expected, atol=12)
    assert np.allclose(found[0].landmarks, reference.landmarks + [2100, 1200], atol=8)


def test_the_shared_detector_is_not_changed_by_settings(detector):
    before = (detector.min_face_size, list(detector.thresholds))
    faces.detect_faces(example_image("astronaut"), detector, faces.DetectionSettings(50, (0.5, 0.5, 0.5)))
    assert (detector.min_face_size, list(detector.thresholds)) == before


@pytest.mark.parametrize("bad", [dict(min_face_size=4), dict(thresholds=(0.6, 1.0, 0.7)), dict(pyramid_factor=1.0)])
def test_impossible_settings_are_refused(bad):
    with pytest.raises(ValueError):
        faces.DetectionSettings(**bad)


def test_crops_are_160_pixels_and_the_margin_widens_them(detector):
    image = example_image("astronaut")
    found = faces.detect_faces(image, detector)
    tight, wide = faces.align_faces(image, found, margin=0), faces.align_faces(image, found, margin=60)
    assert tight.shape == wide.shape == (1, 160, 160, 3) and tight.dtype == np.uint8
    x1, y1, x2, y2 = (int(round(v)) for v in found[0].box)
    import cv2

    expected = cv2.resize(image[y1:y2, x1:x2], (160, 160), interpolation=cv2.INTER_AREA)
    assert np.abs(tight[0].astype(int) - expected.astype(int)).mean() < 12  # the box itself, resized
    assert np.abs(tight[0].astype(int) - wide[0].astype(int)).mean() > 12  # more of the head
    assert faces.align_faces(image, []).shape == (0, 160, 160, 3)


def test_encodings_are_batched_unit_vectors(detector, encoder):
    image = example_image("astronaut")
    crops = faces.align_faces(image, faces.detect_faces(image, detector))
    batch = faces.embed_faces(np.concatenate([crops, crops[:, ::-1].copy()]), encoder)
    assert batch.shape == (2, 512)
    torch.testing.assert_close(batch.norm(dim=1), torch.ones(2))
    one = faces.embed_faces(crops, encoder)
    torch.testing.assert_close(one[0], batch[0], atol=1e-5, rtol=0)  # the same face, alone or batched
    assert faces.embed_faces(crops[:0], encoder).shape == (0, 512)
    with pytest.raises(ValueError):
        faces.embed_faces(np.zeros((1, 64, 64, 3), np.uint8), encoder)


# -- comparing encodings ------------------------------------------------------------------------------------


def test_verification_distance_and_cosine_agree():
    a, b = unit_vectors(2, seed=1)
    result = faces.verify(a, b, threshold=1.2)
    assert result.distance == pytest.approx(torch.dist(a, b).item(), abs=1e-6)
    assert result.cosine_similarity == pytest.approx(float(a @ b), abs=1e-6)
    assert result.distance**2 == pytest.approx(2 - 2 * result.cosine_similarity, abs=1e-5)
    assert faces.verify(a, a).same_person and faces.verify(a, a).distance == pytest.approx(0, abs=1e-6)
    assert faces.verify(a, -a).distance == pytest.approx(2.0) and not faces.verify(a, -a).same_person
    assert faces.verify(a, b, threshold=result.distance).same_person  # d ≤ τ, with equality


@settings(max_examples=25, deadline=None)
@given(queries=st.integers(1, 5), gallery=st.integers(1, 60), k=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_nearest_matches_brute_force(queries, gallery, k, seed):
    q, g = unit_vectors(queries, seed, 16), unit_vectors(gallery, seed + 1, 16)
    distances, rows = faces.nearest(q, g, k)
    brute = torch.cdist(q.double(), g.double())
    expected, expected_rows = brute.sort(dim=1)
    torch.testing.assert_close(distances.double(), expected[:, : min(k, gallery)], atol=1e-5, rtol=0)
    chosen = brute.gather(1, rows)  # ties may swap rows, never distances
    torch.testing.assert_close(chosen, expected[:, : min(k, gallery)], atol=1e-5, rtol=0)
    torch.testing.assert_close(faces.pairwise_distances(q, g).double(), brute, atol=1e-3, rtol=0)


def test_recognition_names_the_nearest_identity_within_the_threshold():
    alice, bob = unit_vectors(2, seed=3)
    near_alice = torch.nn.functional.normalize(alice + 0.1 * bob, dim=0)
    stranger = unit_vectors(1, seed=99)[0]
    answers = faces.recognize(torch.stack([near_alice, stranger]), ["Alice", "Bob"], torch.stack([alice, bob]), 0.5)
    assert answers[0].name == "Alice" and [name for name, _ in answers[0].top] == ["Alice", "Bob"]
    assert answers[1].name is None and answers[1].top[0][1] > 0.5  # "not recognized"
    assert faces.recognize(stranger[None], [], torch.zeros(0, 512))[0].name is None


def test_templates_are_normalized_means_per_identity():
    encodings = unit_vectors(3, seed=5)
    names, templates = faces.identity_templates(["A", "B", "A"], encodings)
    assert names == ["A", "B"]
    torch.testing.assert_close(templates[0], torch.nn.functional.normalize(encodings[0] + encodings[2], dim=0))
    torch.testing.assert_close(templates[1], encodings[1])


# -- triplet loss and thresholds ----------------------------------------------------------------------------


def test_triplet_loss_by_hand():
    anchor, positive, negative = torch.tensor([1.0, 0.0]), torch.tensor([0.6, 0.8]), torch.tensor([0.0, 1.0])
    # ‖A − P‖² = 0.16 + 0.64 = 0.8; ‖A − N‖² = 1 + 1 = 2
    terms = faces.triplet_terms(anchor, positive, negative, alpha=0.2)
    assert (terms.anchor_positive, terms.anchor_negative) == pytest.approx((0.8, 2.0))
    assert terms.loss == 0.0 and terms.kind == "easy"  # 0.8 − 2 + 0.2 < 0
    semi = faces.triplet_terms(anchor, positive, negative, alpha=1.5)
    assert semi.loss == pytest.approx(0.3) and semi.kind == "semi-hard"
    hard = faces.triplet_terms(anchor, negative, positive, alpha=0.2)
    assert hard.loss == pytest.approx(2.0 - 0.8 + 0.2) and hard.kind == "hard"


def test_triplet_loss_batches_and_sums_to_the_course_cost():
    a, p, n = unit_vectors(4, 1), unit_vectors(4, 2), unit_vectors(4, 3)
    losses = faces.triplet_loss(a, p, n, alpha=0.3)
    loops = [max(float(((a[i] - p[i]) ** 2).sum() - ((a[i] - n[i]) ** 2).sum()) + 0.3, 0.0) for i in range(4)]
    assert losses.tolist() == pytest.approx(loops, abs=1e-6)
    assert float(losses.sum()) == pytest.approx(sum(loops), abs=1e-5)


def test_threshold_errors_count_false_accepts_and_rejects():
    errors = faces.threshold_errors(same=[0.4, 0.6, 1.2], different=[0.9, 1.3, 1.5, 1.6], threshold=1.0)
    assert errors.false_reject_rate == pytest.approx(1 / 3) and errors.false_accept_rate == pytest.approx(1 / 4)
    assert faces.threshold_errors([], [1.0], 1.0).false_reject_rate is None


def test_the_suggested_threshold_separates_separable_pairs():
    tau = faces.suggest_threshold(same=[0.3, 0.5, 0.7], different=[1.1, 1.2, 1.4])
    assert 0.7 < tau < 1.1
    errors = faces.threshold_errors([0.3, 0.5, 0.7], [1.1, 1.2, 1.4], tau)
    assert errors.false_accept_rate == 0 and errors.false_reject_rate == 0
    overlapping = faces.suggest_threshold(same=[0.3, 0.5, 1.3], different=[0.9, 1.2, 1.4])

    def total_error(threshold: float) -> float:
        errors = faces.threshold_errors([0.3, 0.5, 1.3], [0.9, 1.2, 1.4], threshold)
        return errors.false_accept_rate + errors.false_reject_rate

    assert total_error(overlapping) == min(total_error(t) for t in np.linspace(0, 2, 201))
    assert faces.suggest_threshold([], [1.0]) is None


def photos_of(
    identities: torch.Tensor, per_identity: int, seed: int, spread: float = 0.02
) -> tuple[list[str], torch.Tensor]:
    """``per_identity`` photos of each identity: their names and their encodings, the
    identity's vector plus noise."""
    generator = torch.Generator().manual_seed(seed)
    repeated = identities.repeat_interleave(per_identity, dim=0)
    names = [f"person {row // per_identity}" for row in range(len(repeated))]
    return names, torch.nn.functional.normalize(
        repeated + spread * torch.randn(repeated.shape, generator=generator), dim=1
    )


def encoded_pairs(names: list[str], encodings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    first, second, same = faces.labelled_pairs(names)
    return encodings[first], encodings[second], same


@pytest.mark.parametrize("alpha", [0.0, 0.2, 1.0])
def test_the_triplet_census_counts_every_triplet_as_the_loop_does(alpha):
    names, encodings = photos_of(unit_vectors(4, seed=6), 3, seed=7, spread=0.12)  # noisy: every kind occurs
    every = [
        faces.triplet_terms(encodings[a], encodings[p], encodings[n], alpha)
        for a in range(len(names))
        for p in range(len(names))
        for n in range(len(names))
        if a != p and names[a] == names[p] and names[n] != names[a]
    ]
    census = faces.triplet_census(encodings, names, alpha)
    assert (census.hard, census.semi_hard, census.easy) == tuple(
        sum(terms.kind == kind for terms in every) for kind in ("hard", "semi-hard", "easy")
    )
    assert census.count == len(every) == 12 * 2 * 9  # anchors × positives × negatives
    assert census.total_loss == pytest.approx(sum(terms.loss for terms in every), rel=1e-5)
    if alpha == 0.2:
        assert min(census.hard, census.semi_hard, census.easy) > 0


def test_labelled_pairs_are_every_pair_and_a_bounded_sample_keeps_every_same_person_pair():
    names = ["a", "b", "a", "c", "b", "a"]
    first, second, same = faces.labelled_pairs(names)
    assert list(zip(first.tolist(), second.tolist())) == [(i, j) for i in range(6) for j in range(i + 1, 6)]
    assert same.tolist() == [names[i] == names[j] for i, j in zip(first.tolist(), second.tolist())]
    sample = faces.labelled_pairs(names, limit=7, seed=3)
    assert len(sample[2]) == 7 and int(sample[2].sum()) == int(same.sum()) == 4
    assert all(torch.equal(x, y) for x, y in zip(sample, faces.labelled_pairs(names, limit=7, seed=3)))
    kept = set(zip(sample[0].tolist(), sample[1].tolist()))
    assert kept <= set(zip(first.tolist(), second.tolist()))
    assert [len(part) for part in faces.labelled_pairs([])] == [0, 0, 0]


def test_the_binary_classification_variant_is_logistic_regression_at_its_optimum():
    first, second, same = encoded_pairs(*photos_of(unit_vectors(6, seed=8), 3, seed=9))
    classifier = faces.fit_pair_classifier(first, second, same, l2_penalty=1e-3)
    # The gradient of mean cross-entropy + λ‖w‖², written out, vanishes at the fitted w and b.
    features = (first - second).abs().double()
    residual = torch.sigmoid(features @ classifier.weights.double() + classifier.bias) - same.double()
    assert torch.linalg.vector_norm(features.T @ residual / len(same) + 2e-3 * classifier.weights.double()) < 1e-4
    assert abs(residual.mean().item()) < 1e-4
    probability = classifier.same_person_probability(first, second)
    assert torch.allclose(probability, classifier.same_person_probability(second, first))
    assert torch.allclose(probability, torch.sigmoid(features.float() @ classifier.weights + classifier.bias))


def test_the_pair_classifier_tells_new_people_apart():
    classifier = faces.fit_pair_classifier(*encoded_pairs(*photos_of(unit_vectors(6, seed=1), 3, seed=2)))
    first, second, same = encoded_pairs(*photos_of(unit_vectors(4, seed=3), 3, seed=4))
    assert torch.equal(classifier.same_person_probability(first, second) > 0.5, same)


def test_the_pair_classifier_needs_pairs_of_both_kinds():
    a, b = unit_vectors(2, seed=5)
    for same in (torch.tensor([True]), torch.tensor([False]), torch.zeros(0, dtype=torch.bool)):
        with pytest.raises(ValueError, match="both kinds"):
            faces.fit_pair_classifier(a[None].expand(len(same), -1), b[None].expand(len(same), -1), same)


# -- the gallery ---------------------------------------------------------------------------------------------


def crop(value: int) -> np.ndarray:
    return np.full((160, 160, 3), value, np.uint8)


def test_gallery_add_rename_remove():
    gallery = Gallery()
    gallery.add("  Eileen   Collins ", crop(1))
    gallery.add("Bob", crop(2))
    gallery.add("Eileen Collins", crop(3))
    assert gallery.names() == ["Eileen Collins", "Bob"]
    assert [int(entry.crop[0, 0, 0]) for entry in gallery.entries_of("Eileen Collins")] == [1, 3]
    with pytest.raises(GalleryError, match="already"):
        gallery.rename("Bob", "Eileen Collins")
    gallery.rename("Bob", "Robert")
    assert gallery.names() == ["Eileen Collins", "Robert"]
    gallery.remove("Eileen Collins")
    assert gallery.names() == ["Robert"]
    gallery.clear()
    assert gallery.entries == []
    for bad in ["", "   ", "x" * 61]:
        with pytest.raises(GalleryError):
            gallery.add(bad, crop(0))
    with pytest.raises(GalleryError):
        gallery.add("Eve", np.zeros((10, 10, 3), np.uint8))


def test_gallery_search_finds_each_enrolled_identity():
    gallery_encodings = unit_vectors(5, seed=11)
    names = ["A", "B", "C", "D", "E"]
    identities, templates = faces.identity_templates(names, gallery_encodings)
    answers = faces.recognize(gallery_encodings, identities, templates, threshold=0.1)
    assert [answer.name for answer in answers] == names


def test_export_and_import_round_trip():
    gallery = Gallery()
    gallery.add("Ann", crop(5))
    gallery.add("Ben", crop(6))
    copy = Gallery()
    assert copy.import_file(gallery.export()) == ImportResult(2, 0)
    assert copy.import_file(gallery.export()) == ImportResult(0, 2) and len(copy.entries) == 2
    assert copy.names() == ["Ann", "Ben"] and int(copy.entries_of("Ben")[0].crop[0, 0, 0]) == 6
    copy.rename("Ben", "Benjamin")
    assert copy.import_file(gallery.export()) == ImportResult(1, 1)  # Ben's photo under his old name is new
    for data in [b"", b"not a gallery", b"PK\x03\x04 a damaged zip", np.eye(2).tobytes()]:
        with pytest.raises(GalleryError, match="not a CNN Lab face gallery"):
            read_export(data)


def test_a_gallery_is_capped_and_a_file_that_would_unpack_beyond_it_is_refused(monkeypatch):
    import io

    from core.faces import gallery as gallery_module

    monkeypatch.setattr(gallery_module, "MAX_ENTRIES", 3)
    source = Gallery()
    for index in range(3):
        source.add(f"P{index}", crop(index))
    with pytest.raises(GalleryError, match="at most 3 photos"):
        source.add("P3", crop(3))
    target = Gallery()
    target.add("Zoe", crop(9))
    result = target.import_file(source.export())
    assert result == ImportResult(2, 0, 1) and len(target.entries) == 3
    assert result.summary("g.npz") == "Imported 2 photos from g.npz. 1 photo left out: a gallery holds at most 3."
    buffer = io.BytesIO()  # 400 zero crops: 30 MB unpacked from a few kilobytes
    np.savez_compressed(
        buffer,
        format=np.array(gallery_module.EXPORT_FORMAT),
        names=np.array(["A"] * 400),
        crops=np.zeros((400, 160, 160, 3), np.uint8),
    )
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(GalleryError, match="more than 3 photos"):
        read_export(buffer.getvalue())


def test_the_store_keeps_each_owners_gallery_apart_in_enrollment_order(face_db):
    store = open_store(face_db)
    assert isinstance(store, SqliteGalleryStore if face_db.endswith(".sqlite") else PostgresGalleryStore)
    mine, theirs = Gallery(store, "me"), Gallery(store, "them")
    mine.add("Ann", crop(7))
    theirs.add("Zed", crop(8))
    for shade in range(3):
        mine.add("Bo", crop(20 + shade))
    mine.rename("Ann", "Anne")
    reopened = Gallery(open_store(face_db), "me")
    assert [int(entry.crop[0, 0, 0]) for entry in reopened.entries] == [7, 20, 21, 22]
    mine.remove("Bo")
    reopened = Gallery(open_store(face_db), "me")
    assert reopened.names() == ["Anne"] and np.array_equal(reopened.entries[0].crop, crop(7))
    assert Gallery(store, "them").names() == ["Zed"]
    reopened.clear()
    assert Gallery(store, "me").entries == [] and Gallery(store, "them").names() == ["Zed"]


def test_pair_distances_split_every_pair_by_person():
    encodings = unit_vectors(5, seed=4)
    names = ["a", "b", "a", "b", "c"]
    same, different = faces.pair_distances(names, encodings)
    full = faces.pairwise_distances(encodings, encodings)
    assert sorted(same) == pytest.approx(sorted([float(full[0, 2]), float(full[1, 3])]))
    assert len(different) == 10 - 2 and min(different) > 0


def test_pixel_encodings_are_unit_vectors_of_the_crops_own_pixels():
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (3, faces.CROP_SIZE, faces.CROP_SIZE, 3), dtype=np.uint8)
    crops[1] = crops[0]
    encodings = faces.pixel_encodings(crops)
    assert encodings.shape == (3, 3 * faces.PIXEL_SIDE**2)
    torch.testing.assert_close(encodings.norm(dim=1), torch.ones(3))
    assert faces.triplet_terms(encodings[0], encodings[1], encodings[2]).anchor_positive == 0.0
    brighter = np.clip(crops[:1].astype(int) + 20, 0, 255).astype(np.uint8)  # brightness is centred away
    assert (faces.pixel_encodings(brighter)[0] - encodings[0]).norm() < 0.1


def test_triplet_choices_pair_an_anchor_with_its_own_person_and_someone_else():
    choices = faces.TripletChoices(("ann", "bob", "ann", "cy"))
    assert choices.possible and choices.anchors == [0, 2]
    assert choices.positives(0) == [2] and choices.negatives(0) == [1, 3]
    assert not faces.TripletChoices(("ann", "bob")).possible  # nobody has a second photo
    assert not faces.TripletChoices(("ann", "ann")).possible  # nobody else to be the negative


def test_recorded_pairs_join_the_gallery_s_distances_only_for_their_own_encoder():
    pair = faces.RecordedPair
    recorded = [pair("facenet", 0.4, True), pair("facenet", 1.3, False), pair("pixels", 0.1, True)]
    same, different = faces.with_recorded([0.5], [1.1, 1.2], recorded, "facenet")
    assert same == [0.5, 0.4] and different == [1.1, 1.2, 1.3]
    assert [faces.pair_count(n) for n in (0, 1, 2, 5)] == [0, 0, 1, 10]
