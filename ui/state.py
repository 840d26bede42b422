"""Everything a session keeps besides widget values, each under one typed key defined here,
and the one memo of results computed from an image.

Values live in ``st.session_state`` only (DESIGN rule 9): one user's photos, encodings and
results are never visible to another. Pages read and write them through these objects,
never through raw string keys.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import streamlit as st

if TYPE_CHECKING:
    import torch

    from core.detection.detectors import Detection
    from core.faces.gallery import Gallery
    from core.faces.recognition import RecordedPair
    from core.media.live import FrameRecorder
    from core.runtime.files import PrivateFolder
    from core.style.fast import FastResult
    from core.transfer.augment import AugmentSettings
    from core.transfer.deploy import OnnxExport
    from core.transfer.regimes import PhotoSet

T = TypeVar("T")


class SessionValue(Generic[T]):
    """One value of this session under ``key``."""

    def __init__(self, key: str) -> None:
        self.key = key

    def get(self, default: T | None = None) -> T | None:
        return st.session_state.get(self.key, default)

    def set(self, value: T) -> None:
        st.session_state[self.key] = value

    def setdefault(self, make: Callable[[], T]) -> T:
        """The value, made by ``make`` the first time."""
        if self.key not in st.session_state:
            st.session_state[self.key] = make()
        return st.session_state[self.key]

    def pop(self, default: T | None = None) -> T | None:
        return st.session_state.pop(self.key, default)


class ImageMemo:
    """Results computed from an image, kept for the last ``slots`` (image, settings) pairs of
    this session: a rerun that changes only the output does not compute them again. Keyed by
    the image object itself (uploads are decoded once per file, examples once per process)."""

    def __init__(self, key: str, slots: int) -> None:
        self.value: SessionValue[dict[tuple, tuple[np.ndarray, Any]]] = SessionValue(key)
        self.slots = slots

    def get(self, image: np.ndarray, settings: Hashable, make: Callable[[], T]) -> T:
        cache = self.value.setdefault(dict)
        key = (id(image), settings)
        hit = cache.get(key)
        if hit is None or hit[0] is not image:
            result = make()
            while len(cache) >= self.slots:
                cache.pop(next(iter(cache)))
            hit = cache[key] = (image, result)
        return hit[1]

    def clear(self) -> None:
        self.value.pop()


# -- object detection
YOLO_SIZE: SessionValue[str] = SessionValue("det-chosen-size")
LATEST_DETECTIONS: SessionValue[tuple[np.ndarray, list[Detection]]] = SessionValue("det-latest")
NMS_CANDIDATES: SessionValue[tuple[np.ndarray, str, tuple]] = SessionValue("nms-candidates")

# -- transfer learning
PHOTO_SET: SessionValue[PhotoSet] = SessionValue("transfer-photos")
TRANSFER_NOTICES: SessionValue[list[tuple[str, str]]] = SessionValue("transfer-notices")
EARLIER_TRAININGS: SessionValue[list[dict]] = SessionValue("transfer-earlier")
FRAME_RECORDER: SessionValue[FrameRecorder] = SessionValue("transfer-recorder")  # the live camera's recorder
# the last ONNX file made, with the id of the network it was made from
ONNX_EXPORT: SessionValue[tuple[int, OnnxExport]] = SessionValue("transfer-onnx")
AUGMENTATION: SessionValue[AugmentSettings] = SessionValue("transfer-augmentation")

# -- model comparisons and MobileNet
EARLIER_LATENCIES: SessionValue[list[dict]] = SessionValue("latency-earlier")
SEPARABLE_SIZE: SessionValue[tuple[int, int, int, int]] = SessionValue("separable-size")

# -- face recognition
GALLERY: SessionValue[Gallery] = SessionValue("faces-gallery")
GALLERY_KEY: SessionValue[str] = SessionValue("faces-key")
ENCODINGS: SessionValue[dict[tuple[str, str], torch.Tensor]] = SessionValue("faces-encodings")
FACE_PAIRS: SessionValue[list[RecordedPair]] = SessionValue("faces-pairs")
FLASH: SessionValue[str] = SessionValue("faces-flash")
FLASH_NOTE: SessionValue[str] = SessionValue("faces-flash-note")
CLEAR_NAME: SessionValue[bool] = SessionValue("faces-clear-name")
FORGET_ASKED: SessionValue[bool] = SessionValue("faces-forget-asked")
ANALYSED_FACES = ImageMemo("faces-analysed", slots=6)

# -- every page
PRIVATE_FOLDER: SessionValue[PrivateFolder] = SessionValue("private-folder")  # videos being made
DISPLAY_JPEGS = ImageMemo("display-jpeg", slots=4)

# -- neural style transfer
FAST_RESULTS = ImageMemo("fast-style-results", slots=4)  # content -> (style image, its FastResult)
FAST_PRESETS = ImageMemo("fast-style-presets", slots=4)  # content -> a preset's FastResult
PRESET_SHEETS = ImageMemo("fast-style-preset-sheets", slots=2)  # content -> its 26 styled thumbnails
# fast style's costs beside Gatys': (what they were measured for, the fast result, the rows)
FAST_COSTS: SessionValue[tuple[tuple, FastResult, list]] = SessionValue("fast-style-costs")
