"""Face recognition (course week 4, "Face recognition"): detect and crop faces with MTCNN,
encode them with FaceNet, and compare encodings with a distance and a threshold τ.

- Detection: MTCNN (Zhang et al., "Joint Face Detection and Alignment using Multi-task
  Cascaded Convolutional Networks", 2016) gives a box, a probability and five landmarks
  per face (eyes, nose, mouth corners) — the landmark detection of week 3.
- Encoding: InceptionResnetV1 (Schroff et al., "FaceNet", 2015) maps a 160×160 crop to
  f(x), a 512-d vector of unit length.
- Verification (1:1): d(img1, img2) = ‖f(img1) − f(img2)‖₂ ≤ τ means "same person".
- Recognition (1:K): the nearest of K enrolled identities, or "not recognized" beyond τ.
- Triplet loss: L(A, P, N) = max(‖f(A) − f(P)‖² − ‖f(A) − f(N)‖² + α, 0).

Both networks come from facenet-pytorch; this module passes them in, it never loads them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.runtime.device import device_lock
from core.runtime.errors import UserError
from core.runtime.images import fit_within
from core.runtime.inference import ModelTask, any_shape

EMBEDDING_SIZE = 512
CROP_SIZE = 160  # InceptionResnetV1's input side
DEFAULT_MARGIN = 20  # pixels of the 160-px crop added around the box
# Euclidean distance between unit-length encodings. 1.04 is deepface's tuned "euclidean_l2"
# threshold for Facenet512, the same VGGFace2 network (Sandberg's 20180402-114759) that
# facenet-pytorch ships; the distance lab suggests a τ from your own labelled pairs.
DEFAULT_THRESHOLD = 1.04
DEFAULT_MARGIN_ALPHA = 0.2  # FaceNet's α
DETECTION_SIDE = 1600  # larger photos are searched for faces on a copy reduced to this side
PNET_WINDOW = 12  # MTCNN's P-Net looks at 12×12 windows of each pyramid level

TripletKind = Literal["easy", "semi-hard", "hard"]


@dataclass(frozen=True)
class DetectionSettings:
    """MTCNN's knobs: the smallest face side in pixels, the P-, R- and O-Net score
    thresholds, and the image-pyramid scale factor."""

    min_face_size: int = 20
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    pyramid_factor: float = 0.709

    def __post_init__(self) -> None:
        if self.min_face_size < 8:
            raise UserError(f"The smallest face must be at least 8 pixels, not {self.min_face_size}.")
        if not all(0.0 < threshold < 1.0 for threshold in self.thresholds):
            raise UserError("Each MTCNN threshold must lie strictly between 0 and 1.")
        if not 0.1 <= self.pyramid_factor < 1.0:
            raise UserError("The pyramid factor must lie in [0.1, 1).")


@dataclass(frozen=True)
class Face:
    """One detected face: ``box`` (x1, y1, x2, y2) in pixels, MTCNN's ``probability``, and
    ``landmarks`` (5, 2) as (x, y): left eye, right eye, nose, left and right mouth corner."""

    box: tuple[float, float, float, float]
    probability: float
    landmarks: np.ndarray

    @property
    def side(self) -> float:
        """The shorter side of the box, in pixels."""
        x1, y1, x2, y2 = self.box
        return min(x2 - x1, y2 - y1)


def new_detector(device: torch.device | str = "cpu") -> nn.Module:
    """facenet-pytorch's MTCNN with its bundled weights, on ``device``."""
    from facenet_pytorch import MTCNN

    return MTCNN(keep_all=True, device=torch.device(device)).eval()


def detection_scale(height: int, width: int, max_side: int = DETECTION_SIDE) -> float:
    """How much a photo is reduced before MTCNN searches it: 1 when it fits in ``max_side``."""
    return min(1.0, max_side / max(height, width))


def smallest_detectable_face(height: int, width: int, settings: DetectionSettings = DetectionSettings()) -> int:
    """The smallest face side, in the photo's pixels, that ``detect_faces`` can find: the
    chosen minimum, or more when the photo is reduced (P-Net's window is 12 pixels)."""
    return max(settings.min_face_size, math.ceil(PNET_WINDOW / detection_scale(height, width)))


def detect_faces(
    image: np.ndarray, detector: nn.Module | None = None, settings: DetectionSettings = DetectionSettings()
) -> list[Face]:
    """Every face in ``image`` ((H, W, 3) uint8 RGB), most probable first, in its pixels.

    ``detector`` is an MTCNN (a new one when None); its three networks run with
    ``settings``, so one shared detector serves every user's settings unchanged. A photo
    larger than ``DETECTION_SIDE`` is searched on a reduced copy (MTCNN's time grows with
    the pixels: about 40 s for 6000×6000 on two cores) with the minimum face reduced
    alike; only faces below ``smallest_detectable_face`` are lost. A photo smaller than
    the smallest face holds none: MTCNN has no pyramid level to search.
    """
    detector = detector if detector is not None else new_detector()
    return FACE_DETECTION(detector, image, next(detector.parameters()).device, settings=settings)


def detect_faces_batch(
    detector: nn.Module, images: Sequence[np.ndarray], device: torch.device, options: Mapping[str, Any]
) -> list[list[Face]]:
    """``detect_faces`` for photos of one shape, searched as one batch (MTCNN's image
    pyramid is the same for all of them); ``options["settings"]`` as its ``settings``."""
    from facenet_pytorch.models.utils.detect_face import detect_face

    settings: DetectionSettings = options.get("settings", DetectionSettings())
    for image in images:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise UserError(f"Expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}.")
    if len({image.shape for image in images}) > 1:
        return [detect_faces_batch(detector, [image], device, options)[0] for image in images]
    height, width = images[0].shape[:2]
    scale = detection_scale(height, width)
    min_face = settings.min_face_size if scale == 1 else max(PNET_WINDOW, round(settings.min_face_size * scale))
    searched = np.stack([image if scale == 1 else fit_within(image, DETECTION_SIDE) for image in images])
    if min(searched.shape[1:3]) < min_face:
        return [[] for _ in images]
    with device_lock(device), torch.inference_mode():
        batch_boxes, batch_points = detect_face(
            searched,
            min_face,
            detector.pnet,
            detector.rnet,
            detector.onet,
            list(settings.thresholds),
            settings.pyramid_factor,
            device,
        )
    back = (width / searched.shape[2], height / searched.shape[1])  # to the photos' own pixels
    return [
        sorted(_faces(np.asarray(boxes), np.asarray(points), back), key=lambda face: -face.probability)
        for boxes, points in zip(batch_boxes, batch_points)
    ]


def _faces(boxes: np.ndarray, points: np.ndarray, back: tuple[float, float]) -> list[Face]:
    """MTCNN's (N, 5) rows (box and score) and (N, 5, 2) landmarks as ``Face``s in the photo's pixels."""
    return [
        Face(
            tuple(float(v) * back[i % 2] for i, v in enumerate(row[:4])),
            float(row[4]),
            (landmarks * back).astype(np.float32),
        )
        for row, landmarks in zip(boxes, points)
    ]


def align_faces(image: np.ndarray, faces: Sequence[Face], margin: int = DEFAULT_MARGIN) -> np.ndarray:
    """The (N, 160, 160, 3) uint8 crops FaceNet reads: each box widened by ``margin`` pixels
    of the output and resized, as facenet-pytorch's MTCNN does. The network was trained on
    such crops, so they are not rotated upright; the landmarks are shown, not used."""
    from facenet_pytorch.models.utils.detect_face import extract_face

    if not 0 <= margin < CROP_SIZE:
        raise UserError(f"The margin must be between 0 and {CROP_SIZE - 1} pixels.")
    crops = [extract_face(image, np.asarray(face.box), CROP_SIZE, margin) for face in faces]  # (3, 160, 160) floats
    if not crops:
        return np.zeros((0, CROP_SIZE, CROP_SIZE, 3), np.uint8)
    return torch.stack(crops).permute(0, 2, 3, 1).round().clamp(0, 255).to(torch.uint8).numpy()


def check_crops(crops: np.ndarray) -> None:
    """Refuse anything but an (N, 160, 160, 3) stack of face crops."""
    if crops.ndim != 4 or crops.shape[1:] != (CROP_SIZE, CROP_SIZE, 3):
        raise UserError(f"Expected (N, {CROP_SIZE}, {CROP_SIZE}, 3) crops, got {crops.shape}.")


def embed_faces(crops: np.ndarray, encoder: nn.Module, device: torch.device | str = "cpu") -> torch.Tensor:
    """f(x) for every crop in one batch: (N, 160, 160, 3) uint8 -> (N, 512) float32 on the
    CPU, each of unit length. The pixels are standardized as facenet-pytorch's MTCNN does,
    (x − 127.5) / 128."""
    return FACE_ENCODING(encoder, crops, torch.device(device))


def embed_faces_batch(
    encoder: nn.Module, stacks: Sequence[np.ndarray], device: torch.device, options: Mapping[str, Any]
) -> list[torch.Tensor]:
    """``embed_faces`` for several stacks of crops, all encoded in one forward pass."""
    for crops in stacks:
        check_crops(crops)
    counts = [len(crops) for crops in stacks]
    if sum(counts) == 0:
        return [torch.zeros(0, EMBEDDING_SIZE) for _ in stacks]
    crops = np.concatenate([np.ascontiguousarray(crops) for crops in stacks])
    pixels = torch.from_numpy(crops).to(device).permute(0, 3, 1, 2).float()  # (N, 3, 160, 160)
    with device_lock(device), torch.inference_mode():
        encodings = encoder((pixels - 127.5) / 128.0)  # (N, 512)
    unit = nn.functional.normalize(encodings.float(), dim=1).cpu()
    return [part.clone() for part in unit.split(counts)]  # own storage: no result carries another user's encodings


FACE_DETECTION = ModelTask("mtcnn-faces", detect_faces_batch)
FACE_ENCODING = ModelTask("facenet-encodings", embed_faces_batch, batch_key=any_shape)


# -- comparing encodings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """d(img1, img2) ≤ τ: the Euclidean distance, the cosine similarity, and the verdict."""

    distance: float
    cosine_similarity: float
    threshold: float

    @property
    def same_person(self) -> bool:
        return self.distance <= self.threshold


def verify(first: torch.Tensor, second: torch.Tensor, threshold: float = DEFAULT_THRESHOLD) -> Verification:
    """Compare two (512,) encodings. For unit vectors d² = 2 − 2·cos, so either number decides."""
    distance = torch.linalg.vector_norm(first - second).item()
    cosine = nn.functional.cosine_similarity(first, second, dim=0).item()
    return Verification(distance, cosine, threshold)


def pairwise_distances(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """(M, D) and (K, D) unit vectors -> (M, K) Euclidean distances, as one matrix product:
    ‖q − g‖² = 2 − 2 q·g for unit vectors."""
    squared = (2.0 - 2.0 * first @ second.T).clamp_min(0.0)
    return squared.sqrt()


@dataclass(frozen=True)
class Recognition:
    """The answer for one query face: the ``k`` nearest identities, nearest first, and the
    name when the nearest lies within τ (None: "not recognized")."""

    top: list[tuple[str, float]]
    threshold: float

    @property
    def name(self) -> str | None:
        if self.top and self.top[0][1] <= self.threshold:
            return self.top[0][0]
        return None


def nearest(queries: torch.Tensor, gallery: torch.Tensor, k: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """1:K search: for (M, D) queries over a (K, D) gallery, the ``k`` smallest distances and
    their gallery rows, each (M, min(k, K)), nearest first. Vectorized: one matrix product
    and one top-k, however large the gallery."""
    k = min(k, len(gallery))
    scores = queries @ gallery.T  # (M, K) cosine; the largest is the nearest
    best, rows = scores.topk(k, dim=1)
    return (2.0 - 2.0 * best).clamp_min(0.0).sqrt(), rows


def recognize(
    queries: torch.Tensor,
    names: Sequence[str],
    templates: torch.Tensor,
    threshold: float = DEFAULT_THRESHOLD,
    k: int = 3,
) -> list[Recognition]:
    """Label each query encoding with its nearest identity (``templates`` (K, D), one per
    name) or "not recognized"; an empty gallery recognizes no one."""
    if len(names) == 0:
        return [Recognition([], threshold) for _ in range(len(queries))]
    distances, rows = nearest(queries, templates, k)
    return [
        Recognition(
            [(names[row], float(distance)) for distance, row in zip(face_distances, face_rows.tolist())], threshold
        )
        for face_distances, face_rows in zip(distances, rows)
    ]


def identity_indices(names: Sequence[str]) -> tuple[list[str], torch.Tensor]:
    """The distinct identities in order of first appearance, and each photo's index among them."""
    identities = list(dict.fromkeys(names))
    index = {name: row for row, name in enumerate(identities)}
    return identities, torch.tensor([index[name] for name in names], dtype=torch.long)


def identity_templates(names: Sequence[str], encodings: torch.Tensor) -> tuple[list[str], torch.Tensor]:
    """One template per identity: the mean of its encodings, scaled back to unit length.
    ``names[i]`` is the identity of ``encodings[i]``; returns (identities, (K, D))."""
    identities, rows = identity_indices(names)
    if not identities:
        return [], torch.zeros(0, encodings.shape[-1] if encodings.ndim == 2 else EMBEDDING_SIZE)
    sums = torch.zeros(len(identities), encodings.shape[1]).index_add_(0, rows, encodings)
    return identities, nn.functional.normalize(sums, dim=1)


# -- the triplet loss and choosing τ ------------------------------------------------------------------------


@dataclass(frozen=True)
class TripletTerms:
    """Every term of L(A, P, N) = max(‖f(A) − f(P)‖² − ‖f(A) − f(N)‖² + α, 0)."""

    anchor_positive: float  # ‖f(A) − f(P)‖²
    anchor_negative: float  # ‖f(A) − f(N)‖²
    alpha: float
    loss: float

    @property
    def kind(self) -> TripletKind:
        """FaceNet's names: "hard" when N is nearer A than P is, "semi-hard" when N is farther
        but within the margin (the loss is still positive), "easy" when the loss is 0."""
        if self.anchor_negative < self.anchor_positive:
            return "hard"
        return "semi-hard" if self.loss > 0 else "easy"


PIXEL_SIDE = 40  # pixel encodings average the 160×160 crop down to 40×40×3 = 4,800 numbers


def pixel_encodings(crops: np.ndarray) -> torch.Tensor:
    """(N, 160, 160, 3) uint8 crops -> (N, 4,800) unit-length vectors of their own pixels:
    averaged to 40×40, centred on each crop's mean, scaled to length 1. No network and
    nothing learned — the f(x) a triplet loss meets before any training — so the loss can be
    shown without FaceNet's weights. Distances say how alike two photos look, not who they show."""
    check_crops(crops)
    pixels = torch.from_numpy(np.asarray(crops, dtype=np.float32)).permute(0, 3, 1, 2) / 255.0  # (N, 3, 160, 160)
    small = F.adaptive_avg_pool2d(pixels, PIXEL_SIDE).flatten(1)  # (N, 4800)
    return F.normalize(small - small.mean(dim=1, keepdim=True), dim=1)


def triplet_loss(
    anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, alpha: float = DEFAULT_MARGIN_ALPHA
) -> torch.Tensor:
    """L(A, P, N) per triplet: (..., D) encodings -> (...) losses. Summing over a batch
    gives the course's J = Σ L(A⁽ⁱ⁾, P⁽ⁱ⁾, N⁽ⁱ⁾)."""
    anchor_positive = (anchor - positive).pow(2).sum(dim=-1)
    anchor_negative = (anchor - negative).pow(2).sum(dim=-1)
    return (anchor_positive - anchor_negative + alpha).clamp_min(0.0)


def triplet_terms(
    anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, alpha: float = DEFAULT_MARGIN_ALPHA
) -> TripletTerms:
    """``triplet_loss`` for one triplet of (D,) encodings, with its terms."""
    return TripletTerms(
        (anchor - positive).pow(2).sum().item(),
        (anchor - negative).pow(2).sum().item(),
        alpha,
        triplet_loss(anchor, positive, negative, alpha).item(),
    )


@dataclass(frozen=True)
class TripletCensus:
    """How every triplet of a gallery splits into FaceNet's kinds at margin α, and the
    course's cost over all of them, J = Σ L(A, P, N)."""

    hard: int
    semi_hard: int
    easy: int
    total_loss: float

    @property
    def count(self) -> int:
        return self.hard + self.semi_hard + self.easy


@dataclass(frozen=True)
class TripletChoices:
    """Which photos of a gallery (their person's names, in order) can form a triplet: anchors
    are photos whose person has another photo; a positive shares the anchor's person, a
    negative does not."""

    names: tuple[str, ...]

    @property
    def anchors(self) -> list[int]:
        return [i for i, name in enumerate(self.names) if self.names.count(name) > 1]

    @property
    def possible(self) -> bool:
        return bool(self.anchors) and len(set(self.names)) > 1

    def positives(self, anchor: int) -> list[int]:
        return [i for i, name in enumerate(self.names) if name == self.names[anchor] and i != anchor]

    def negatives(self, anchor: int) -> list[int]:
        return [i for i, name in enumerate(self.names) if name != self.names[anchor]]


def triplet_census(encodings: torch.Tensor, names: Sequence[str], alpha: float = DEFAULT_MARGIN_ALPHA) -> TripletCensus:
    """Every (A, P, N) of a gallery, A ≠ P of one person and N of another, classed as in
    ``TripletTerms.kind``: one anchor at a time, vectorized over every P and N."""
    _, identity = identity_indices(names)
    hard = semi_hard = easy = 0
    total_loss = 0.0
    for anchor in range(len(names)):
        squared = (encodings - encodings[anchor]).pow(2).sum(dim=1)  # ‖f(A) − f(X)‖² for every photo X
        positives = identity == identity[anchor]
        positives[anchor] = False
        anchor_positive = squared[positives][:, None]
        anchor_negative = squared[identity != identity[anchor]][None, :]
        losses = (anchor_positive - anchor_negative + alpha).clamp_min(0.0)  # (P, N)
        is_hard = anchor_negative < anchor_positive
        hard += int(is_hard.sum())
        semi_hard += int((~is_hard & (losses > 0)).sum())
        easy += int((~is_hard & (losses == 0)).sum())
        total_loss += float(losses.sum())
    return TripletCensus(hard, semi_hard, easy, total_loss)


@dataclass(frozen=True)
class ThresholdErrors:
    """At τ: the false accept rate (different people with d ≤ τ) and the false reject rate
    (the same person with d > τ); None where there are no pairs of that kind."""

    threshold: float
    false_accept_rate: float | None
    false_reject_rate: float | None


def threshold_errors(same: Sequence[float], different: Sequence[float], threshold: float) -> ThresholdErrors:
    same_distances, different_distances = np.asarray(same, float), np.asarray(different, float)
    far = float(np.mean(different_distances <= threshold)) if different_distances.size else None
    frr = float(np.mean(same_distances > threshold)) if same_distances.size else None
    return ThresholdErrors(threshold, far, frr)


def suggest_threshold(same: Sequence[float], different: Sequence[float]) -> float | None:
    """The τ with the fewest errors (FAR + FRR) on these pairs, midway between the two
    distances it separates; None without pairs of both kinds."""
    same_distances, different_distances = np.sort(np.asarray(same, float)), np.sort(np.asarray(different, float))
    if not same_distances.size or not different_distances.size:
        return None
    edges = np.unique(np.concatenate([same_distances, different_distances, [0.0, 4.0]]))
    candidates = (edges[:-1] + edges[1:]) / 2
    far = np.searchsorted(different_distances, candidates, side="right") / different_distances.size
    frr = 1.0 - np.searchsorted(same_distances, candidates, side="right") / same_distances.size
    return float(candidates[np.argmin(far + frr)])


def labelled_pairs(
    names: Sequence[str], limit: int | None = None, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every pair i < j of enrolled photos (``names[i]`` is photo i's person): the rows i, the
    rows j, and whether the two show the same person. Beyond ``limit`` pairs, every
    same-person pair is kept (up to the limit) and a seeded random choice of the others."""
    _, identity = identity_indices(names)
    first, second = torch.triu_indices(len(names), len(names), offset=1)
    same = identity[first] == identity[second]
    if limit is None or len(same) <= limit:
        return first, second, same
    same_rows = same.nonzero().flatten()[:limit]
    other_rows = (~same).nonzero().flatten()
    chosen = torch.randperm(len(other_rows), generator=torch.Generator().manual_seed(seed))[: limit - len(same_rows)]
    rows = torch.cat([same_rows, other_rows[chosen]]).sort().values
    return first[rows], second[rows], same[rows]


def pair_distances(names: Sequence[str], encodings: torch.Tensor) -> tuple[list[float], list[float]]:
    """Distances of every pair of enrolled photos, split into (same person, different people):
    the two distributions a threshold τ separates."""
    first, second, same = labelled_pairs(names)
    distances = pairwise_distances(encodings, encodings)[first, second]
    return distances[same].tolist(), distances[~same].tolist()


@dataclass(frozen=True)
class RecordedPair:
    """Two photos the user verified and labelled: the encoder that measured them, their
    distance, and whether they are the same person."""

    encoder: str
    distance: float
    same_person: bool


def with_recorded(
    same: Sequence[float], different: Sequence[float], recorded: Sequence[RecordedPair], encoder: str
) -> tuple[list[float], list[float]]:
    """The gallery's (same, different) distances with the recorded pairs of ``encoder``
    added; another encoder's distances are on another scale."""
    mine = [pair for pair in recorded if pair.encoder == encoder]
    return (
        [*same, *(pair.distance for pair in mine if pair.same_person)],
        [*different, *(pair.distance for pair in mine if not pair.same_person)],
    )


def pair_count(photos: int) -> int:
    """How many unordered pairs ``photos`` photos make: n(n − 1)/2."""
    return photos * (photos - 1) // 2


def pair_features(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """|f(xᵢ) − f(xⱼ)|, element by element: the input of the course's binary-classification
    variant ŷ = σ(Σₖ wₖ |f(xᵢ)ₖ − f(xⱼ)ₖ| + b)."""
    return (first - second).abs()


@dataclass(frozen=True)
class PairClassifier:
    """The course's binary-classification variant of verification: logistic regression on
    the element-wise difference of two encodings, ŷ = σ(Σₖ wₖ |f(xᵢ)ₖ − f(xⱼ)ₖ| + b)."""

    weights: torch.Tensor  # (D,)
    bias: float

    def same_person_probability(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        """ŷ for (..., D) encodings: the probability that the two photos show one person."""
        return torch.sigmoid(pair_features(first, second) @ self.weights + self.bias)


def fit_pair_classifier(
    first: torch.Tensor, second: torch.Tensor, same: torch.Tensor, l2_penalty: float = 1e-3
) -> PairClassifier:
    """Fit w and b on labelled pairs ((P, D) encodings each, ``same`` (P,) booleans) by
    minimizing the mean cross-entropy plus ``l2_penalty``·‖w‖² with L-BFGS from zero; the
    penalty keeps w finite when the pairs can be separated perfectly."""
    if len(same) == 0 or bool(same.all()) or not bool(same.any()):
        raise UserError(
            "Fitting w and b needs labelled pairs of both kinds: enroll two photos of one person and a photo of "
            "someone else."
        )
    features, targets = pair_features(first, second).double(), same.double()
    weights = torch.zeros(features.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weights, bias], max_iter=500, tolerance_grad=1e-10, line_search_fn="strong_wolfe")

    def objective() -> torch.Tensor:
        optimizer.zero_grad()
        logits = features @ weights + bias
        loss = nn.functional.binary_cross_entropy_with_logits(logits, targets) + l2_penalty * weights.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(objective)
    return PairClassifier(weights.detach().float(), bias.item())
