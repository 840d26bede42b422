"""Face recognition (course week 4): MTCNN finds faces and their five landmarks, FaceNet
encodes them, and a distance with a threshold τ verifies (1:1) and recognizes (1:K)
against a gallery enrolled from one photo per person. The labs show the similarity
matrix, the distance distributions behind τ, and the triplet loss.

The math lives in ``core.faces.recognition``, the gallery in ``core.faces.gallery``. Every section but the
options is a fragment; changes to the gallery rerun the whole page so every tab sees them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
import torch

from core.faces import recognition as faces
from core.faces import video as face_video
from core.faces.gallery import Gallery, clean_name
from core.runtime import weights
from core.runtime.errors import UserError
from core.runtime.jobs import JobHandle
from ui import state
from ui.boxes import DrawnBox, boxes_figure
from ui.camera import live_camera
from ui.errors import shown_user_errors, user_errors_shown
from ui.face_gallery import current_gallery, gallery_owner, stored, where_faces_live
from ui.image_input import display_jpeg, image_input
from ui.model_status import weights_ready
from ui.models import compute_device, infer, pretrained
from ui.page import page_header, section_tabs
from ui.video import chosen_video, run_video_job, video_job_view

ENCODERS = ("facenet_vggface2", "facenet_casia")
LANDMARK_COLORS = ("#00e5ff", "#00e5ff", "#ffd600", "#ff4081", "#ff4081")  # eyes, nose, mouth corners
MATRIX_LABELS = 20  # beyond this many photos the distance matrix shows colours only (hover for numbers)
TRAINING_PAIRS = 10_000  # beyond this many photo pairs, the classifier is fitted on a sample (memory, time)
# what "Forget everything" deletes besides the gallery; uploads decoded by ui.image_input end in "-decoded"
SESSION_FACE_DATA = tuple(
    value.key
    for value in (
        state.GALLERY,
        state.ENCODINGS,
        state.FACE_PAIRS,
        state.ANALYSED_FACES.value,
        state.DISPLAY_JPEGS.value,
    )
)


@dataclass(frozen=True)
class Options:
    """The page-wide choices every tab uses."""

    device: torch.device
    encoder: str
    threshold: float
    detection: faces.DetectionSettings
    margin: int


def options_panel(device: torch.device) -> Options:
    left, right = st.columns(2)
    encoder = left.selectbox(
        "Face encoder", ENCODERS, format_func=lambda name: weights.get_weights(name).title, key="faces-encoder"
    )
    threshold = right.slider(
        "Threshold τ (Euclidean distance)",
        0.0,
        2.0,
        faces.DEFAULT_THRESHOLD,
        0.01,
        key="faces-threshold",
        help="d(img1, img2) ≤ τ means “same person”. The default 1.04 is the tuned threshold "
        "for this VGGFace2 network in the deepface library; the Labs tab suggests one "
        "from your own pairs.",
    )
    with st.expander("Detection settings (MTCNN)"):
        columns = st.columns(5)
        min_face = columns[0].slider("Smallest face (px)", 10, 300, 20, key="faces-min-size")
        stages = [
            columns[i + 1].slider(f"{net} threshold", 0.05, 0.99, default, 0.01, key=f"faces-threshold-{net}")
            for i, (net, default) in enumerate(zip(("P-Net", "R-Net", "O-Net"), (0.6, 0.7, 0.7)))
        ]
        margin = columns[4].slider("Crop margin (px of 160)", 0, 80, faces.DEFAULT_MARGIN, key="faces-margin")
    return Options(device, encoder, threshold, faces.DetectionSettings(min_face, tuple(stages)), margin)


# -- faces in an image ------------------------------------------------------------------------------------------


def analysed(image: np.ndarray, options: Options) -> tuple[list[faces.Face], np.ndarray]:
    """The faces in ``image`` and their 160×160 crops, computed once per image and settings
    and kept in this user's session."""

    def found() -> tuple[list[faces.Face], np.ndarray]:
        with st.spinner(f"Finding faces in the {image.shape[1]}×{image.shape[0]} photo…"):
            detected = infer(faces.FACE_DETECTION, "mtcnn", image, options.device, settings=options.detection)
        return detected, faces.align_faces(image, detected, options.margin)

    return state.ANALYSED_FACES.get(image, (options.detection, options.margin), found)


def no_face_message(options: Options) -> str:
    return (
        f"No face found. Faces smaller than {options.detection.min_face_size} px are skipped: lower “Smallest "
        "face” under Detection settings for small faces. Very dark, blurred, turned-away or covered faces are "
        "often missed too; try a brighter, frontal photo."
    )


def faces_figure(
    image: np.ndarray, found: list[faces.Face], labels: list[str] | None = None, colors: list[str] | None = None
) -> go.Figure:
    """Each face's box with its label, and its five landmarks as dots."""
    labels = labels or [f"{index + 1}: p = {face.probability:.3f}" for index, face in enumerate(found)]
    colors = colors or ["#00c853"] * len(found)
    boxes = [DrawnBox(face.box, color, label, width=3) for face, label, color in zip(found, labels, colors)]
    points = [(float(x), float(y), color) for face in found for (x, y), color in zip(face.landmarks, LANDMARK_COLORS)]
    return boxes_figure(image, boxes, points=points)


def faces_in(
    key: str, options: Options, default_example: str, label: str = "Image"
) -> tuple[np.ndarray, list[faces.Face], np.ndarray] | None:
    """A photo from the user with its faces and their crops; None when there is no photo,
    or no face in it (after saying why and what to try)."""
    image = image_input(key, label=label, default_example=default_example)
    if image is None:
        return None
    found, crops = analysed(image, options)
    height, width = image.shape[:2]
    if faces.detection_scale(height, width) < 1:
        st.caption(
            f"The photo is {width}×{height}: faces are searched for on a copy reduced to {faces.DETECTION_SIDE} px, "
            f"so faces smaller than {faces.smallest_detectable_face(height, width, options.detection)} px are "
            "skipped. Boxes and crops are in the full photo."
        )
    if not found:
        st.warning(no_face_message(options), icon=":material/face_retouching_off:")
        st.image(display_jpeg(image), caption=f"Your photo, {width}×{height}", width=480)
        return None
    return image, found, crops


def pick_face(key: str, options: Options, default_example: str, label: str = "Photo") -> np.ndarray | None:
    """One face of a photo from the user (they choose when there are several): its crop."""
    picked = faces_in(key, options, default_example, label)
    if picked is None:
        return None
    _, found, crops = picked
    index = 0
    if len(found) > 1:
        st.image(list(crops), caption=[f"Face {i + 1}" for i in range(len(found))], width=80)
        index = st.radio(
            f"{len(found)} faces: which one?",
            range(len(found)),
            format_func=lambda i: f"Face {i + 1}",
            horizontal=True,
            key=f"{key}-face",
        )
    st.image(crops[index], caption=f"Face {index + 1} of {len(found)}, as the encoder sees it", width=160)
    return crops[index]


# -- encodings --------------------------------------------------------------------------------------------------


def encoder_ready(options: Options, where: str) -> bool:
    """Whether the chosen encoder's weights are here, after saying what is missing and how to get it."""
    return weights_ready(
        options.encoder, "face encodings (verification, recognition and the labs)", key=f"faces-download-{where}"
    )


def encode(crops: np.ndarray, options: Options) -> torch.Tensor:
    with st.spinner(f"Encoding {len(crops)} face{'s' if len(crops) > 1 else ''}…"):
        return infer(faces.FACE_ENCODING, options.encoder, crops, options.device)


def gallery_encodings(gallery: Gallery, options: Options) -> torch.Tensor:
    """f(x) of every enrolled photo, (N, 512); each is computed once per encoder and session."""
    cache = state.ENCODINGS.setdefault(dict)
    missing = [entry for entry in gallery.entries if (options.encoder, entry.entry_id) not in cache]
    if missing:
        for entry, encoding in zip(missing, encode(np.stack([entry.crop for entry in missing]), options)):
            cache[(options.encoder, entry.entry_id)] = encoding
    if not gallery.entries:
        return torch.zeros(0, faces.EMBEDDING_SIZE)
    return torch.stack([cache[(options.encoder, entry.entry_id)] for entry in gallery.entries])


# -- the gallery ------------------------------------------------------------------------------------------------


def changed(message: str) -> None:
    """After a gallery change: remember what happened and rerun every tab."""
    state.FLASH.set(message)
    st.rerun(scope="app")


def forget_everything(gallery: Gallery) -> None:
    """Delete the gallery (from the store too) and every face-derived thing in this session."""
    gallery.clear()
    for key in list(st.session_state):
        if key in SESSION_FACE_DATA or str(key).endswith("-decoded"):
            del st.session_state[key]
    changed("Forgotten: the gallery, its encodings, the recorded pairs and every photo decoded in this session.")


@st.fragment
@user_errors_shown
def gallery_section(options: Options) -> None:
    gallery = current_gallery()
    if flash := state.FLASH.pop():
        st.success(flash)
    if note := state.FLASH_NOTE.pop():
        st.info(note, icon=":material/info:")
    st.caption(where_faces_live())
    st.subheader("Enroll a person (one-shot)")
    if state.CLEAR_NAME.pop(False):  # after enrolling, the field starts empty for the next
        st.session_state["enroll-name"] = ""  # person (set before the widget exists, so the browser follows)
    name = st.text_input("Name", key="enroll-name", max_chars=60, placeholder="e.g. Eileen Collins")
    crop = pick_face("faces-enroll", options, default_example="astronaut")
    if crop is not None:
        ready, target = enrollment_target(gallery, name)
        if st.button("Enroll", type="primary", icon=":material/person_add:", disabled=not ready, key="enroll-add"):
            gallery.add(target, crop)
            state.CLEAR_NAME.set(True)
            count = len(gallery.entries_of(target))
            encoder = weights.get_weights(options.encoder)
            if not encoder.is_cached():
                state.FLASH_NOTE.set(
                    f"The gallery keeps {target}'s face as a crop. Verify and Recognize compare faces through "
                    f"{encoder.title}, whose weights are not on this machine: they can use this face once the "
                    "weights are here (their tabs say how to get them). The Labs' triplet loss works on the crops "
                    "meanwhile."
                )
            changed(f"Enrolled {target}" + (f" (photo {count})." if count > 1 else "."))
    st.divider()
    show_gallery(gallery)


def enrollment_target(gallery: Gallery, name: str) -> tuple[bool, str]:
    """Whether the Enroll button may be pressed, and the cleaned name; a name already in the
    gallery asks whether to add this photo to that person or to pick another name."""
    if not name.strip():
        st.info("Type the person's name to enroll this face.")
        return False, ""
    with shown_user_errors() as outcome:
        cleaned = clean_name(name)
    if outcome.failed:
        return False, ""
    if cleaned in gallery.names():
        choice = st.radio(
            f"“{cleaned}” is already in the gallery.",
            ["Add this photo to them", "It is someone else"],
            key="enroll-existing",
            horizontal=True,
        )
        if choice != "Add this photo to them":
            st.warning("Change the name above to enroll someone new.")
            return False, cleaned
    return True, cleaned


def show_gallery(gallery: Gallery) -> None:
    names = gallery.names()
    photos = len(gallery.entries)
    st.subheader(
        f"Gallery: {len(names)} {'person' if len(names) == 1 else 'people'}, "
        f"{photos} {'photo' if photos == 1 else 'photos'}"
    )
    if stored() and gallery_owner().startswith("key:"):
        key_column, open_column = st.columns(2)
        key_column.markdown(f"Your gallery key: `{state.GALLERY_KEY.get()}` — keep it to open this gallery again.")
        other = open_column.text_input("Open the gallery of another key", key="faces-open-key", type="password")
        if other and other != state.GALLERY_KEY.get():
            state.GALLERY_KEY.set(other.strip())
            changed("Opened the gallery of that key.")
    for person in names:
        person_card(gallery, person)
    export_column, import_column = st.columns(2)
    export_column.download_button(
        "Export gallery (.npz)",
        gallery.export() if names else b"",
        file_name="cnn-lab-face-gallery.npz",
        disabled=not names,
        icon=":material/download:",
        key="faces-export",
    )
    upload = import_column.file_uploader("Import a gallery file", type=["npz"], key="faces-import")
    if upload is not None and import_column.button("Import", key="faces-import-go"):
        with shown_user_errors(import_column):
            changed(gallery.import_file(upload.getvalue()).summary(upload.name))
    forget_everything_button(gallery, photos, len(names))


def person_card(gallery: Gallery, person: str) -> None:
    """One person's photos with Rename and Delete."""
    entries = gallery.entries_of(person)
    with st.container(border=True):
        pictures, actions = st.columns([3, 2])
        pictures.markdown(f"**{person}** · {len(entries)} photo{'s' if len(entries) > 1 else ''}")
        pictures.image([entry.crop for entry in entries], width=72)
        new_name = actions.text_input("Rename to", value=person, key=f"rename-{person}", max_chars=60)
        rename, delete = actions.columns(2)
        if rename.button("Rename", key=f"rename-go-{person}", disabled=new_name == person):
            with shown_user_errors(actions):
                changed(f"Renamed {person} to {gallery.rename(person, new_name)}.")
        if delete.button("Delete", key=f"delete-{person}", icon=":material/delete:"):
            gallery.remove(person)
            changed(f"Deleted {person} and their photos.")


def forget_everything_button(gallery: Gallery, photos: int, people: int) -> None:
    """Forget everything, after a confirmation that says what goes."""
    st.button(
        "Forget everything…",
        icon=":material/delete_forever:",
        key="faces-forget",
        help="Deletes the gallery (also from the operator's database), every encoding, recorded pair "
        "and detected face of this session; asks first.",
        on_click=state.FORGET_ASKED.set,
        args=(True,),
    )
    if state.FORGET_ASKED.get():
        st.warning(
            f"Delete all {photos} photos of {people} {'person' if people == 1 else 'people'}"
            + (" from the database too" if stored() else "")
            + ", with every encoding and recorded pair? This cannot be undone."
        )
        confirm, cancel = st.columns(2)
        if confirm.button("Yes, forget everything", type="primary", key="faces-forget-yes"):
            state.FORGET_ASKED.pop()
            forget_everything(gallery)
        cancel.button("Cancel", key="faces-forget-cancel", on_click=state.FORGET_ASKED.pop)


# -- detection --------------------------------------------------------------------------------------------------


@st.fragment
@user_errors_shown
def detect_section(options: Options) -> None:
    picked = faces_in("faces-detect", options, "astronaut")
    if picked is None:
        return
    image, found, crops = picked
    st.plotly_chart(faces_figure(image, found), key="faces-detect-figure")
    st.caption(
        "Boxes with MTCNN's probability; dots are the five landmarks: eyes (cyan), nose (yellow), mouth "
        "corners (pink) — the landmark detection of week 3."
    )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "face": index + 1,
                    "probability": round(face.probability, 4),
                    **{name: round(value, 1) for name, value in zip(("x1", "y1", "x2", "y2"), face.box)},
                    "side (px)": round(face.side, 1),
                    **{
                        part: f"({x:.0f}, {y:.0f})"
                        for part, (x, y) in zip(
                            ("left eye", "right eye", "nose", "mouth left", "mouth right"), face.landmarks
                        )
                    },
                }
                for index, face in enumerate(found)
            ]
        ),
        hide_index=True,
    )
    st.image(list(crops), caption=[f"Face {index + 1}" for index in range(len(found))], width=120)
    st.caption(
        f"The crops FaceNet reads: each box plus a margin of {options.margin} px, resized to 160×160. The "
        "network was trained on such crops, so they are not rotated upright."
    )


# -- verification and recognition -------------------------------------------------------------------------------


@st.fragment
@user_errors_shown
def verify_section(options: Options) -> None:
    if not encoder_ready(options, "verify"):
        return
    gallery = current_gallery()
    mode = st.radio("Compare", ["Two photos", "A photo and an enrolled person"], horizontal=True, key="verify-mode")
    first_column, second_column = st.columns(2)
    with first_column:
        first = pick_face("faces-verify-a", options, "astronaut", "Image 1")
    with second_column:
        if mode == "Two photos":
            second_crop = pick_face("faces-verify-b", options, "camera", "Image 2")
            second = None if second_crop is None else encode(second_crop[None], options)[0]
        elif not gallery.names():
            st.info("The gallery is empty: enroll someone in the Gallery tab.")
            second = None
        else:
            person = st.selectbox("Enrolled person", gallery.names(), key="verify-person")
            identities, templates = faces.identity_templates(
                [entry.name for entry in gallery.entries], gallery_encodings(gallery, options)
            )
            second = templates[identities.index(person)]
            st.image(
                [entry.crop for entry in gallery.entries_of(person)],
                width=80,
                caption=f"{person}: the mean of {len(gallery.entries_of(person))} encoding(s)",
            )
    if first is None or second is None:
        return
    result = faces.verify(encode(first[None], options)[0], second, options.threshold)
    relation = r"\le" if result.same_person else ">"
    st.latex(
        rf"d(\mathrm{{img1}}, \mathrm{{img2}}) = \lVert f(\mathrm{{img1}}) - f(\mathrm{{img2}}) \rVert_2 "
        rf"= {result.distance:.3f} {relation} \tau = {options.threshold:.2f}"
    )
    columns = st.columns(3)
    columns[0].metric("Distance d", f"{result.distance:.3f}")
    columns[1].metric("Cosine similarity", f"{result.cosine_similarity:.3f}")
    columns[2].metric("Squared distance = 2 − 2·cos", f"{result.distance**2:.3f}")
    if result.same_person:
        st.success("Same person: the distance is within τ.", icon=":material/how_to_reg:")
    else:
        st.error("Different people: the distance is above τ.", icon=":material/person_off:")
    if mode == "Two photos":
        st.caption("Tell the lab whether these two are the same person, to build the distance distributions:")
        same, different = st.columns(2)
        for column, truth, label in (
            (same, True, "Record as the same person"),
            (different, False, "Record as different people"),
        ):
            if column.button(label, key=f"verify-record-{truth}"):
                state.FACE_PAIRS.setdefault(list).append(faces.RecordedPair(options.encoder, result.distance, truth))
                column.success(f"Recorded ({len(state.FACE_PAIRS.get())} pairs).")


@st.fragment
@user_errors_shown
def recognize_section(options: Options) -> None:
    if not encoder_ready(options, "recognize"):
        return
    gallery = current_gallery()
    if not gallery.names():
        st.info("The gallery is empty: enroll people in the Gallery tab, then recognize them here.")
        return
    picked = faces_in("faces-query", options, "astronaut", "Query photo")
    if picked is None:
        return
    image, found, crops = picked
    identities, templates = faces.identity_templates(
        [entry.name for entry in gallery.entries], gallery_encodings(gallery, options)
    )
    answers = faces.recognize(encode(crops, options), identities, templates, options.threshold, k=3)
    labels = [
        f"{index + 1}: {answer.name or 'not recognized'} (d = {answer.top[0][1]:.2f})"
        for index, answer in enumerate(answers)
    ]
    colors = ["#00c853" if answer.name else "#ff1744" for answer in answers]
    st.plotly_chart(faces_figure(image, found, labels, colors), key="faces-recognize-figure")
    st.caption(
        f"1:K search over {len(identities)} identities (the mean encoding of each person's photos); "
        f"“not recognized” when the nearest is farther than τ = {options.threshold:.2f}."
    )
    for index, (answer, crop) in enumerate(zip(answers, crops)):
        picture, table = st.columns([1, 4])
        picture.image(crop, width=96, caption=f"Face {index + 1}")
        table.markdown(f"**Face {index + 1}: {answer.name or 'not recognized'}**")
        table.dataframe(
            pd.DataFrame(
                [
                    {
                        "rank": rank + 1,
                        "identity": name,
                        "distance": round(distance, 4),
                        "within τ": distance <= options.threshold,
                    }
                    for rank, (name, distance) in enumerate(answer.top)
                ]
            ),
            hide_index=True,
        )


# -- labs -------------------------------------------------------------------------------------------------------


def use_suggested(threshold: float) -> None:
    st.session_state["faces-threshold"] = round(threshold, 2)


@st.fragment
@user_errors_shown
def labs_section(options: Options) -> None:
    ready = encoder_ready(options, "labs")
    gallery = current_gallery()
    if len(gallery.entries) < 2:
        st.info(
            "The labs compare enrolled photos: enroll at least two in the Gallery tab (two people, or two "
            "photos of one person)."
        )
        return
    names = [entry.name for entry in gallery.entries]
    labels = [f"{entry.name} #{gallery.entries_of(entry.name).index(entry) + 1}" for entry in gallery.entries]
    if not ready:
        pixel_triplet_lab(gallery, labels)
        return
    encodings = gallery_encodings(gallery, options)
    distance_matrix_lab(encodings, labels)
    threshold_lab(names, encodings, options)
    triplet_lab(gallery, encodings, labels)
    binary_classification_lab(names, encodings, labels)


def pixel_triplet_lab(gallery: Gallery, labels: list[str]) -> None:
    """The triplet loss without FaceNet: on the crops' own pixels, saying that nothing is learned."""
    st.info(
        "Meanwhile the triplet loss below runs on the crops' own pixels: f(x) is each crop averaged to "
        f"{faces.PIXEL_SIDE}×{faces.PIXEL_SIDE}, centred and scaled to length 1 — no network, nothing learned. "
        "Its distances say how alike two photos look, not who is in them; FaceNet's training is what makes "
        "them say who.",
        icon=":material/grid_on:",
    )
    triplet_lab(gallery, faces.pixel_encodings(np.stack([entry.crop for entry in gallery.entries])), labels)


def distance_matrix_lab(encodings: torch.Tensor, labels: list[str]) -> None:
    st.subheader("Distance matrix of the gallery")
    distances = faces.pairwise_distances(encodings, encodings).numpy()
    figure = px.imshow(
        distances,
        x=labels,
        y=labels,
        zmin=0,
        zmax=2,
        color_continuous_scale="Viridis_r",
        text_auto=".2f" if len(labels) <= MATRIX_LABELS else False,
        labels=dict(color="d"),
    )
    st.plotly_chart(figure, key="faces-matrix")


def threshold_lab(names: list[str], encodings: torch.Tensor, options: Options) -> None:
    st.subheader("Same-person and different-person distances")
    same, different = faces.with_recorded(
        *faces.pair_distances(names, encodings), state.FACE_PAIRS.get([]), options.encoder
    )
    histogram = go.Figure(
        [
            go.Histogram(x=same, name="same person", opacity=0.7, xbins=dict(size=0.05)),
            go.Histogram(x=different, name="different people", opacity=0.7, xbins=dict(size=0.05)),
        ]
    )
    histogram.add_vline(options.threshold, line_dash="dash", annotation_text=f"τ = {options.threshold:.2f}")
    histogram.update_layout(barmode="overlay", xaxis_title="d", yaxis_title="pairs", height=320)
    st.plotly_chart(histogram, key="faces-distances")
    errors = faces.threshold_errors(same, different, options.threshold)
    columns = st.columns(4)
    columns[0].metric("Pairs (same / different)", f"{len(same):,} / {len(different):,}")
    columns[1].metric(
        "False accept rate at τ", "–" if errors.false_accept_rate is None else f"{errors.false_accept_rate:.0%}"
    )
    columns[2].metric(
        "False reject rate at τ", "–" if errors.false_reject_rate is None else f"{errors.false_reject_rate:.0%}"
    )
    suggested = faces.suggest_threshold(same, different)
    if suggested is None:
        columns[3].metric("Suggested τ", "–")
        st.caption(
            "A suggested τ needs pairs of both kinds: enroll two photos of one person, or record pairs in "
            "the Verify tab."
        )
    else:
        columns[3].metric("Suggested τ", f"{suggested:.2f}")
        st.button(f"Use τ = {suggested:.2f}", on_click=use_suggested, args=(suggested,), key="faces-use-suggested")
        st.caption(
            f"The suggested τ makes the fewest errors (false accepts + false rejects) on these "
            f"{len(same) + len(different):,} pairs; with few pairs it is a rough guide."
        )


def triplet_lab(gallery: Gallery, encodings: torch.Tensor, labels: list[str]) -> None:
    st.subheader("Triplet loss")
    names = [entry.name for entry in gallery.entries]
    choices = faces.TripletChoices(tuple(names))
    if not choices.possible:
        st.info(
            "A triplet needs an anchor and a positive of one person and a negative of another: enroll two "
            "photos of someone and one of someone else."
        )
        return
    columns = st.columns(4)
    anchor = columns[0].selectbox("Anchor A", choices.anchors, format_func=labels.__getitem__, key="triplet-a")
    positive = columns[1].selectbox(
        "Positive P", choices.positives(anchor), format_func=labels.__getitem__, key="triplet-p"
    )
    negative = columns[2].selectbox(
        "Negative N", choices.negatives(anchor), format_func=labels.__getitem__, key="triplet-n"
    )
    alpha = columns[3].slider("Margin α", 0.0, 2.0, faces.DEFAULT_MARGIN_ALPHA, 0.05, key="triplet-alpha")
    terms = faces.triplet_terms(encodings[anchor], encodings[positive], encodings[negative], alpha)
    st.latex(
        rf"L(A, P, N) = \max(\underbrace{{\lVert f(A) - f(P)\rVert^2}}_{{{terms.anchor_positive:.3f}}} - "
        rf"\underbrace{{\lVert f(A) - f(N)\rVert^2}}_{{{terms.anchor_negative:.3f}}} + "
        rf"\underbrace{{\alpha}}_{{{alpha:.2f}}}, 0) = {terms.loss:.3f}"
    )
    st.markdown(
        f"This triplet is **{terms.kind}**: "
        + {
            "easy": "N is farther from A than P by more than α, so the loss is 0 and it teaches nothing.",
            "semi-hard": "N is farther from A than P, but by less than α: the loss is positive.",
            "hard": "N is nearer to A than P is; these are the triplets FaceNet trains on.",
        }[terms.kind]
    )
    census = faces.triplet_census(encodings, names, alpha)
    st.caption(
        f"All {census.count:,} triplets of the gallery at α = {alpha:.2f}: {census.hard:,} hard, "
        f"{census.semi_hard:,} semi-hard, {census.easy:,} easy; J = Σ L = {census.total_loss:.3f}."
    )


def binary_classification_lab(names: list[str], encodings: torch.Tensor, labels: list[str]) -> None:
    st.subheader("Verification as binary classification")
    st.markdown(
        "Instead of a triplet loss, a Siamese network can end in logistic regression on the element-wise "
        "difference of two encodings, trained on pairs labelled same (1) or different (0):"
    )
    st.latex(r"\hat y = \sigma\Big(\sum_{k=1}^{512} w_k \,\lvert f(x^{(i)})_k - f(x^{(j)})_k\rvert + b\Big)")
    columns = st.columns(2)
    first = columns[0].selectbox("x⁽ⁱ⁾", range(len(labels)), format_func=labels.__getitem__, key="binary-i")
    second = columns[1].selectbox("x⁽ʲ⁾", range(len(labels)), index=1, format_func=labels.__getitem__, key="binary-j")
    features = faces.pair_features(encodings[first], encodings[second])
    figure = go.Figure(go.Bar(y=features.numpy(), marker_color="#5c6bc0"))
    figure.update_layout(height=240, xaxis_title="k", yaxis_title="|f(xⁱ)ₖ − f(xʲ)ₖ|", margin=dict(t=10))
    st.plotly_chart(figure, key="faces-binary-features")
    st.caption(
        f"These 512 numbers are the classifier's input; they sum to {features.sum():.3f} (the L1 distance). "
        "The encodings of the gallery can be precomputed, so only the new photo goes through the network."
    )
    pair_first, pair_second, same = faces.labelled_pairs(names, limit=TRAINING_PAIRS)
    try:
        classifier = faces.fit_pair_classifier(encodings[pair_first], encodings[pair_second], same)
    except UserError as error:
        st.info(str(error))
        return
    probability = classifier.same_person_probability(encodings[first], encodings[second]).item()
    columns = st.columns(3)
    columns[0].metric("ŷ for this pair", f"{probability:.3f}")
    columns[1].metric("Verdict (ŷ ≥ 0.5)", "same person" if probability >= 0.5 else "different people")
    columns[2].metric("b", f"{classifier.bias:.3f}")
    every_pair = faces.pair_count(len(names))
    sampled = "" if len(same) == every_pair else f" (a seeded sample of all {every_pair:,})"
    st.caption(
        f"w and b were fitted here by logistic regression (L-BFGS, a small L2 penalty on w) on "
        f"{len(same):,} pairs of your gallery{sampled}, {int(same.sum()):,} of them the same person. "
        "Fitted and judged on the same photos, it shows the mechanics, not how well it would do on new people."
    )


# -- video ------------------------------------------------------------------------------------------------------


def show_appearances(handle: JobHandle[tuple[face_video.Sighting, ...]]) -> None:
    """Who appears when, as a table and a timeline, and the CSV."""
    rows = face_video.appearance_rows(handle.records)
    if not rows:
        st.info("No face was found in the frames done. Lower “Smallest face” under Detection settings.")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    seen = pd.DataFrame(face_video.sighting_rows(handle.records))
    figure = px.scatter(seen, x="time s", y="person", color="person")
    figure.update_layout(height=80 + 40 * len(rows), showlegend=False, yaxis_title=None, margin=dict(t=10))
    st.plotly_chart(figure, key="faces-video-timeline")
    st.download_button(
        "Appearances CSV",
        face_video.appearances_csv(handle.records),
        "appearances.csv",
        "text/csv",
        on_click="ignore",
        key="faces-video-csv",
    )


RECOGNIZING = video_job_view(
    "faces-video",
    "Recognize faces in the video",
    "the video so far plays and who appeared is kept",
    "recognized.mp4",
    show_appearances,
)


def video_section(options: Options) -> None:
    st.caption(
        "Every frame searched for faces, each face named after the nearest person of your gallery within τ: "
        "who appears in the video, and when."
    )
    video = chosen_video("faces-video")
    work = recognition_work(options, "video", "find them in a video here")
    if work is not None and video is not None:
        run_video_job(RECOGNIZING, work, video)


def camera_section(options: Options) -> None:
    st.caption(
        "Your browser's camera, frame by frame: each face found, boxed, and named after the nearest person of "
        "your gallery within τ (red “?”: nobody is that close)."
    )
    work = recognition_work(options, "live", "recognize them live here")
    if work is not None:
        live_camera("faces-live", work, options.device)


def recognition_work(options: Options, where: str, then: str) -> face_video.FaceRecognitionVideo | None:
    """MTCNN and the encoder against the session's gallery; None after saying what is missing."""
    if not encoder_ready(options, where):
        return None
    gallery = current_gallery()
    if not gallery.names():
        st.info(f"The gallery is empty: enroll people in the Gallery tab, then {then}.")
        return None
    identities, templates = faces.identity_templates(
        [entry.name for entry in gallery.entries], gallery_encodings(gallery, options)
    )
    detector = pretrained("mtcnn", str(options.device))
    return face_video.FaceRecognitionVideo(
        options.encoder,
        weights.SharedModel("mtcnn", detector),
        weights.SharedModel(options.encoder, pretrained(options.encoder, str(options.device))),
        tuple(identities),
        templates,
        options.threshold,
        options.detection,
        options.margin,
    )


SECTIONS = {
    "Detect & align": detect_section,
    "Gallery": gallery_section,
    "Verify (1:1)": verify_section,
    "Recognize (1:K)": recognize_section,
    "Labs": labs_section,
    "Video": video_section,
    "Live camera": camera_section,
}

if __name__ == "__main__":  # Streamlit runs pages as __main__
    page_header(
        "Face recognition",
        "Course week 4 — MTCNN finds faces and landmarks, FaceNet (InceptionResnetV1) encodes them; "
        "the distances, search and triplet loss live in `core.faces.recognition`.",
    )
    if (page_device := compute_device()) is not None:
        section_tabs(SECTIONS, options_panel(page_device))
