"""Neural style transfer (course week 4, "Neural Style Transfer"; Gatys, Ecker and Bethge,
"A Neural Algorithm of Artistic Style", 2015): find an image G whose VGG19 activations
match a content image C at one layer and whose Gram matrices match a style image S at
several layers, by gradient descent on the pixels of G.

    J(G) = α J_content(C, G) + β J_style(S, G)  (+ a total-variation term, optional)
    J_content = ½ ‖a[l](C) − a[l](G)‖²
    G[l]_kk′ = Σ_i Σ_j a[l]_ijk a[l]_ijk′                              (the "style matrix")
    J_style[l] = 1 / (2 n_H n_W n_C)² Σ_k Σ_k′ (G[l](S)_kk′ − G[l](G)_kk′)²
    J_style = Σ_l λ[l] J_style[l]

Also "What are deep ConvNets learning?" (Zeiler and Fergus, 2013): the image patches that
most activate one unit, found through the unit's receptive field.

VGG19 runs only up to the deepest layer in use; the style targets are computed once.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.detection.boxes import iou  # boxes as (top, left, bottom, right): IoU is the same
from core.runtime.budget import MemoryEstimate, activation_values
from core.runtime.device import autocast_dtype, device_lock
from core.runtime.errors import UserError
from core.runtime.jobs import CancelToken, Step

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
CONTENT_LAYER = "conv4_2"

Initialization = Literal["content", "noise", "style"]
Optimizer = Literal["adam", "lbfgs"]


# -- the network -------------------------------------------------------------------------------------


def layer_names(features: nn.Sequential) -> dict[str, int]:
    """VGG's names for the layers of ``features`` -> the index of the ReLU after each conv.
    ``conv3_1`` is the first convolution of block 3; its activation is taken after the ReLU,
    as in Gatys et al. Pooling layers are ``pool1`` …, at their own index."""
    names, block, conv = {}, 1, 0
    for index, layer in enumerate(features):
        if isinstance(layer, nn.Conv2d):
            conv += 1
        elif isinstance(layer, nn.ReLU):
            names[f"conv{block}_{conv}"] = index
        elif isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
            names[f"pool{block}"] = index
            block, conv = block + 1, 0
    return names


class VGGFeatures(nn.Module):
    """The ImageNet-normalized input through VGG's convolutional layers, truncated after the
    deepest of ``layers``; ``forward`` returns {layer name: activation (B, C, H, W)} in float32.

    On CUDA the layers run in channels-last order under bfloat16 autocast (``core.runtime.device.
    autocast_dtype``): measured on an H100 at 512², a graphed step takes 3.4 ms against
    5.1 ms in float32 with contiguous memory. The activations come back in float32, so
    Gram matrices and costs are summed in full precision. On the CPU both are slower, and
    the network runs in float32 as it is."""

    def __init__(self, features: nn.Sequential, layers: Sequence[str]) -> None:
        super().__init__()
        names = layer_names(features)
        unknown = [name for name in layers if name not in names]
        if unknown:
            raise UserError(f"Unknown layer(s) {', '.join(unknown)}; VGG19 has {', '.join(names)}.")
        self.taps = {names[name]: name for name in layers}
        self.features = features[: max(self.taps) + 1]
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:  # (B, 3, H, W) in [0, 1]
        return dict(self.tapped(image))

    def tapped(self, image: torch.Tensor) -> Iterator[tuple[str, torch.Tensor]]:
        """(layer name, activation) for each tapped layer, as the image reaches it. A caller
        that computes each loss term as its activation comes (``costs``) lets autograd add
        the two gradients reaching that activation in place: 16 MB less at 256²."""
        x = (image - self.mean) / self.std
        low_precision = autocast_dtype(x.device)
        if x.is_cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        for index, layer in enumerate(self.features):
            # cache_enabled=False: each weight is cast once per pass anyway, and a CUDA graph may capture the pass
            with torch.autocast(
                x.device.type,
                dtype=low_precision or torch.bfloat16,
                enabled=low_precision is not None,
                cache_enabled=False,
            ):
                x = layer(x)
            if index in self.taps:
                yield self.taps[index], x.float()


def vgg19_features(model: nn.Module) -> nn.Sequential:
    """A frozen copy of the convolutional part of a torchvision VGG19 on the model's device
    (the model itself is left as it is), with in-place ReLUs replaced, so that activations
    kept for the losses are not overwritten; on CUDA its weights are in channels-last order."""
    layers = [nn.ReLU() if isinstance(layer, nn.ReLU) else copy.deepcopy(layer) for layer in model.features]
    features = nn.Sequential(*layers).eval().requires_grad_(False)
    if next(features.parameters()).is_cuda:
        features = features.to(memory_format=torch.channels_last)
    return features


# -- the costs -------------------------------------------------------------------------------------------


def _chw(activation: torch.Tensor) -> torch.Tensor:
    if activation.dim() == 4:
        if activation.shape[0] != 1:
            raise UserError(f"Expected one image's activations, got a batch of {activation.shape[0]}.")
        activation = activation.squeeze(0)  # a view: its gradient needs no zero-filled copy, as [0] would
    if activation.dim() != 3:
        raise UserError(f"Expected (C, H, W) or (1, C, H, W) activations, got {tuple(activation.shape)}.")
    return activation


def gram_matrix(activation: torch.Tensor) -> torch.Tensor:
    """G_kk′ = Σ_i Σ_j a_ijk a_ijk′ for one layer's (C, H, W) or (1, C, H, W) activations:
    (C, C), unnormalized, in float32."""
    a = _chw(activation).float()
    unrolled = a.reshape(a.shape[0], -1)  # (C, H·W)
    return unrolled @ unrolled.T


def gram_per_position(activation: torch.Tensor) -> torch.Tensor:
    """G[l] / (n_H n_W): the Gram matrix averaged over positions, which compares layers
    and images of different sizes."""
    return gram_matrix(activation) / (activation.shape[-2] * activation.shape[-1])


def image_gram(extractor: VGGFeatures, image: torch.Tensor, layer: str) -> torch.Tensor:
    """``gram_per_position`` of one (1, 3, H, W) image at ``layer`` (the Gram viewer)."""
    with device_lock(image.device), torch.inference_mode():
        activation = extractor(image)[layer]
    return gram_per_position(activation)


def style_cost_from_grams(style_gram: torch.Tensor, generated_gram: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """J_style[l] from the two Gram matrices and the layer's (C, H, W)."""
    channels, height, width = shape[-3:]
    return (style_gram - generated_gram).pow(2).sum() / (2 * height * width * channels) ** 2


def style_cost(a_style: torch.Tensor, a_generated: torch.Tensor) -> torch.Tensor:
    """J_style[l](S, G) = 1 / (2 n_H n_W n_C)² Σ_kk′ (G(S)_kk′ − G(G)_kk′)², a scalar. The two
    images may differ in size: the factor uses the generated image's layer size."""
    return style_cost_from_grams(gram_matrix(a_style), gram_matrix(a_generated), _chw(a_generated).shape)


def content_cost(a_content: torch.Tensor, a_generated: torch.Tensor, normalized: bool = False) -> torch.Tensor:
    """J_content(C, G) = ½ ‖a(C) − a(G)‖², a scalar; ``normalized`` uses the course
    assignment's 1 / (4 n_H n_W n_C) instead of ½."""
    difference = (_chw(a_content).float() - _chw(a_generated).float()).pow(2).sum()
    if normalized:
        channels, height, width = _chw(a_generated).shape
        return difference / (4 * height * width * channels)
    return difference / 2


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Σ of squared differences between neighbouring pixels of (B, 3, H, W): smooths G."""
    return (image[..., 1:, :] - image[..., :-1, :]).pow(2).sum() + (image[..., :, 1:] - image[..., :, :-1]).pow(2).sum()


# -- colours and sizes -----------------------------------------------------------------------------------

_RGB_TO_YUV = torch.tensor([[0.299, 0.587, 0.114], [-0.14713, -0.28886, 0.436], [0.615, -0.51499, -0.10001]])


def rgb_to_yuv(image: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> Y (luma) and U, V (chroma), BT.601."""
    return torch.einsum("ij,bjhw->bihw", _RGB_TO_YUV.to(image), image)


def yuv_to_rgb(image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_RGB_TO_YUV).to(image), image)


def preserve_colors(generated: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """G's luminance with C's chroma (Gatys et al., "Preserving Color in Neural Artistic
    Style Transfer", 2016, luminance-only transfer): the style's texture, the content's colours."""
    yuv = torch.cat([rgb_to_yuv(generated)[:, :1], rgb_to_yuv(content)[:, 1:]], dim=1)
    return yuv_to_rgb(yuv).clamp(0, 1)


def to_tensor(image: np.ndarray, longest_side: int) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, h, w) float in [0, 1], the longest side scaled to ``longest_side``."""
    tensor = torch.tensor(np.asarray(image)).permute(2, 0, 1)[None].float() / 255  # a copy: examples are read-only
    height, width = tensor.shape[-2:]
    scale = longest_side / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return F.interpolate(tensor, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) in [0, 1] -> (H, W, 3) uint8."""
    return (tensor[0].detach().float().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()


# -- the optimization -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StyleConfig:
    """Everything the optimization needs besides the images.

    ``style_weights`` are the λ[l]; ``content_weight`` and ``style_weight`` are α and β.
    ``style_scale`` sizes each style image relative to the content (longest sides).

    The defaults are Gatys et al.'s: their layers, λ[l] = 1/5 and their normalization (the
    course's), with their α/β = 10⁻³ … 10⁻⁴ moved to torchvision's inputs. Their VGG read
    Caffe's 0–255 pixels, about s = 255 · 0.226 ≈ 58 times torchvision's normalized ones;
    activations scale with s, J_content with s² and J_style with s⁴, so the same balance
    needs β/α larger by s² ≈ 3.3·10³: 3.3·10⁶ … 3.3·10⁷, of which the default β = 10⁷ (α = 1)
    is the middle. Other published settings normalize differently: the PyTorch tutorial
    (content 1, style 10⁶) and J. Johnson's neural-style (content 5, style 100 per layer, on
    Caffe's pixels) take means, J_content = mean((a(C) − a(G))²) and, per layer, the mean
    of ((G(S) − G(G)) / (n_C n_H n_W))²; ``published_weights`` gives the α, β and λ[l] for
    which this J equals theirs."""

    content_layer: str = CONTENT_LAYER
    style_weights: dict[str, float] = field(default_factory=lambda: {name: 0.2 for name in STYLE_LAYERS})
    content_weight: float = 1.0
    style_weight: float = 1e7
    tv_weight: float = 0.0
    normalized_content: bool = False
    iterations: int = 300
    image_size: int = 256
    init: Initialization = "content"
    optimizer: Optimizer = "adam"
    learning_rate: float = 0.02
    seed: int = 0
    style_scale: float = 1.0
    preserve_colors: bool = False
    preview_every: int = 10

    def __post_init__(self) -> None:
        if not any(weight > 0 for weight in self.style_weights.values()):
            raise UserError(
                "Every style layer has weight 0, so there is no style to transfer: give at least one "
                "layer a weight above 0."
            )
        if any(weight < 0 for weight in self.style_weights.values()):
            raise UserError("Style layer weights cannot be negative.")
        if self.iterations < 1 or self.image_size < 16:
            raise UserError("Run at least one iteration on an image of at least 16 pixels.")
        if not 0.1 <= self.style_scale <= 4.0:
            raise UserError("The style scale must lie between 0.1 and 4.")

    @property
    def layers(self) -> list[str]:
        used = [name for name, weight in self.style_weights.items() if weight > 0]
        return list(dict.fromkeys([self.content_layer, *used]))


def published_weights(
    config: StyleConfig, channels: dict[str, int], content_weight: float = 1.0, style_weight: float = 1e6
) -> StyleConfig:
    """``config`` reweighted so that its J(G) equals the PyTorch tutorial's objective for the
    same layers, w_c · mean((a(C) − a(G))²) + w_s Σ_l mean(((G(S) − G(G)) / (n_C n_H n_W))²),
    with w_c = ``content_weight`` and w_s = ``style_weight`` (the tutorial's defaults; J.
    Johnson's neural-style uses the same formulas with 5 and 100). ``channels`` are n_C of
    each style layer.

    Per layer the tutorial's term is ‖ΔG‖² / (n_C⁴ n_H² n_W²) and ours ‖ΔG‖² / (4 n_C² n_H² n_W²),
    so β λ[l] = 4 w_s / n_C²; with the course's content normalization 1 / (4 n_H n_W n_C),
    α = 4 w_c. Deeper layers (512 channels) weigh 64 times less than conv1_1 (64 channels)."""
    used = [name for name, weight in config.style_weights.items() if weight > 0]
    return replace(
        config,
        content_weight=4 * content_weight,
        style_weight=4 * style_weight,
        normalized_content=True,
        style_weights={name: 1 / channels[name] ** 2 for name in used},
    )


@dataclass(frozen=True)
class StyleProgress:
    """One step: the costs (total, content, style, tv, and J_style[l] per layer), the elapsed
    time, a preview of G (after step 1 and every ``preview_every`` steps; the best G at the
    end; else None), and the best G so far, which is what a stopped run keeps."""

    step: int
    total_steps: int
    losses: dict[str, float]
    elapsed_s: float
    preview: np.ndarray | None
    best: torch.Tensor = field(repr=False)  # the G with the lowest J so far, (1, 3, H, W)


@dataclass(frozen=True)
class StyleTargets:
    """What G is compared with, computed once: a(C) at the content layer and, per style
    layer, the Gram matrix of S (blended over several style images by their weights)."""

    content: torch.Tensor
    grams: dict[str, torch.Tensor]


def style_targets(
    extractor: VGGFeatures, content: torch.Tensor, styles: Sequence[tuple[torch.Tensor, float]], config: StyleConfig
) -> StyleTargets:
    """``styles`` are (image, weight) pairs; each style image's Gram matrix is normalized per
    position (÷ n_H n_W of its own layer) before blending, then scaled to G's size, so a
    style image of another size contributes as much as one of the content's size."""
    total = sum(weight for _, weight in styles)
    if not styles or total <= 0:
        raise UserError("Give at least one style image a weight above 0.")
    with torch.no_grad():
        content_activations = extractor(content)
        content_activation = content_activations[config.content_layer]
        generated_shapes = {name: a.shape for name, a in content_activations.items()}
        del content_activations  # only the content layer is kept: the style image's pass needs the memory
        grams: dict[str, torch.Tensor] = {}
        for image, weight in styles:
            for name, activation in extractor(image).items():
                if config.style_weights.get(name, 0) <= 0:
                    continue
                height, width = generated_shapes[name][-2:]
                grams[name] = grams.get(name, 0) + (weight / total) * gram_per_position(activation) * height * width
    return StyleTargets(content_activation, grams)


def costs(
    extractor: VGGFeatures, generated: torch.Tensor, targets: StyleTargets, config: StyleConfig
) -> dict[str, torch.Tensor]:
    """J and its parts for the current G; "style conv1_1" … are the unweighted J_style[l]."""
    parts: dict[str, torch.Tensor] = {}
    style = generated.new_zeros(())
    for name, activation in extractor.tapped(generated):
        if name == config.content_layer:
            parts["content"] = content_cost(targets.content, activation, config.normalized_content)
        if name in targets.grams:
            layer_cost = style_cost_from_grams(targets.grams[name], gram_matrix(activation), activation.shape)
            parts[f"style {name}"] = layer_cost
            style = style + config.style_weights[name] * layer_cost
    parts["style"] = style
    with torch.set_grad_enabled(config.tv_weight > 0 and torch.is_grad_enabled()):  # shown even when unweighted
        parts["tv"] = total_variation(generated)
    parts["total"] = (
        config.content_weight * parts["content"] + config.style_weight * style + config.tv_weight * parts["tv"]
    )
    return parts


def image_costs(
    features: nn.Sequential, content: np.ndarray, style: np.ndarray, generated: np.ndarray, side: int = 256
) -> dict[str, float]:
    """J_content(C, G) and J_style(S, G) of a finished G ((H, W, 3) uint8 each), with the
    default settings (``StyleConfig``) and all three at ``side`` px, G scaled to C's shape:
    results made in different ways (fast style, Gatys' optimization) measured on one scale."""
    config = StyleConfig(image_size=side)
    device = next(features.parameters()).device
    extractor = VGGFeatures(features, config.layers).to(device)
    content_tensor = to_tensor(content, side).to(device)
    generated_tensor = F.interpolate(
        to_tensor(generated, side), size=content_tensor.shape[-2:], mode="bilinear", align_corners=False
    ).to(device)
    with torch.inference_mode():
        targets = style_targets(extractor, content_tensor, [(to_tensor(style, side).to(device), 1.0)], config)
        parts = costs(extractor, generated_tensor, targets, config)
    return {"content": float(parts["content"]), "style": float(parts["style"])}


LARGEST_SIDE = {"cpu": 512, "cuda": 1024, "mps": 768}  # bounds the memory and the time one run takes


def largest_side(device: torch.device) -> int:
    """The largest image size offered on ``device``'s kind: beyond it a run's activations
    (``transfer_memory``) and time grow past what one shared server should give one user."""
    return LARGEST_SIDE.get(device.type, 512)


def transfer_memory(
    config: StyleConfig, content_shape: tuple[int, int], style_shapes: Sequence[tuple[int, int]]
) -> MemoryEstimate:
    """Bytes a run takes at its peak, from tensor sizes on the meta device, for a content
    image and style images of these (height, width) before resizing. The two phases come one
    after the other, so the peak is the larger: each style image's targets, a forward pass
    that holds its largest layer output a few times over (four floats per value), then the
    optimization of G, which keeps every layer output of the truncated VGG19 at G's size for
    the backward pass with its gradient (two floats per value). VGG19's weights are shared by
    every run and not counted. Checked against measured peaks in the tests."""
    from torchvision.models import vgg19

    with torch.device("meta"):
        features = VGGFeatures(vgg19_features(vgg19()), config.layers).features

    def resized(shape: tuple[int, int], side: int) -> tuple[int, int, int]:
        scale = side / max(shape)
        return 3, max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))

    style_side = max(16, round(config.image_size * config.style_scale))
    generated = sum(activation_values(features, resized(content_shape, config.image_size)))
    targets = max(max(activation_values(features, resized(shape, style_side))) for shape in style_shapes)
    phases = {"the image size": 4 * 2 * generated, "the style scale": 4 * 4 * targets}
    larger = max(phases, key=phases.__getitem__)
    return MemoryEstimate({larger: phases[larger]})


def initial_image(content: torch.Tensor, style: torch.Tensor, config: StyleConfig) -> torch.Tensor:
    """G at step 0: the content, uniform noise (seeded), or the style resized to the content."""
    if config.init == "content":
        return content.clone()
    if config.init == "style":
        return F.interpolate(style, size=content.shape[-2:], mode="bilinear", antialias=True, align_corners=False)
    generator = torch.Generator().manual_seed(config.seed)
    return torch.rand(content.shape, generator=generator).to(content)


def transfer(
    extractor: VGGFeatures, content: torch.Tensor, styles: Sequence[tuple[torch.Tensor, float]], config: StyleConfig
) -> Iterator[StyleProgress]:
    """Minimize J(G) by gradient descent on G's pixels, yielding after every step. The last
    progress's preview is the best G seen (lowest J), so stopping early keeps the best.

    ``content`` and the style images are (1, 3, H, W) in [0, 1] on the extractor's device.
    """
    targets = style_targets(extractor, content, styles, config)
    generated = initial_image(content, styles[0][0], config).requires_grad_(True)
    step = _optimizer_step(extractor, generated, targets, config)
    best_total, best = float("inf"), generated.detach().clone()
    started = time.perf_counter()
    for index in range(1, config.iterations + 1):
        parts = step()
        losses = dict(zip(parts, torch.stack([value.detach().float() for value in parts.values()]).tolist()))
        if losses["total"] < best_total:
            best_total, best = losses["total"], generated.detach().clone()
        last = index == config.iterations
        preview = None
        if last or index == 1 or index % config.preview_every == 0:  # the first step shows at once
            preview = best_preview(best if last else generated.detach(), content, config)
        yield StyleProgress(index, config.iterations, losses, time.perf_counter() - started, preview, best)


StepFunction = Callable[[], dict[str, torch.Tensor]]


def _optimizer_step(
    extractor: VGGFeatures, generated: torch.Tensor, targets: StyleTargets, config: StyleConfig
) -> StepFunction:
    """One optimizer step on G (J, its gradient, the update, pixels clamped to [0, 1]),
    returning J's parts before the update. Adam on CUDA replays the step as a CUDA graph."""
    if config.optimizer == "lbfgs":
        optimizer: torch.optim.Optimizer = torch.optim.LBFGS([generated], lr=1.0, max_iter=1, history_size=20)
    else:
        optimizer = torch.optim.Adam([generated], lr=config.learning_rate, capturable=generated.is_cuda)

    def step() -> dict[str, torch.Tensor]:
        latest: dict[str, torch.Tensor] = {}

        def closure() -> torch.Tensor:
            optimizer.zero_grad(set_to_none=True)
            latest.update(costs(extractor, generated, targets, config))
            latest["total"].backward()
            return latest["total"]

        optimizer.step(closure)
        with torch.no_grad():
            generated.clamp_(0, 1)
        return latest

    if config.optimizer == "adam" and generated.is_cuda:
        return _graphed(step, generated, optimizer)
    return step


def _graphed(step: StepFunction, generated: torch.Tensor, optimizer: torch.optim.Optimizer) -> StepFunction:
    """``step`` captured once as a CUDA graph and replayed: one launch per step instead of
    a few hundred, which is what bounds a 512² step on a fast GPU. The warm-up steps that
    capturing needs are undone (G and Adam's state restored), so step 1 is the first update.
    The returned tensors are overwritten by the next replay."""
    start = generated.detach().clone()
    side_stream = torch.cuda.Stream(generated.device)
    side_stream.wait_stream(torch.cuda.current_stream(generated.device))
    with device_lock(generated.device):
        with torch.cuda.stream(side_stream):
            for _ in range(3):  # allocator, cuDNN and Adam's state settle before capture
                step()
        torch.cuda.current_stream(generated.device).wait_stream(side_stream)
        graph = torch.cuda.CUDAGraph()
        optimizer.zero_grad(set_to_none=True)  # backward then creates .grad in the graph's own memory
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            outputs = step()
    with torch.no_grad():
        generated.copy_(start)
        for state in optimizer.state[generated].values():
            state.zero_()

    def replay() -> dict[str, torch.Tensor]:
        graph.replay()
        return outputs

    return replay


def best_preview(image: torch.Tensor, content: torch.Tensor, config: StyleConfig) -> np.ndarray:
    """G as the user sees it: with the content's colours when ``preserve_colors``."""
    return to_image(preserve_colors(image, content) if config.preserve_colors else image)


@dataclass
class StyleJob:
    """A style transfer as a job (``core.runtime.jobs``): content and style pictures as
    uploaded ((H, W, 3) uint8, each style with its weight), VGG19's features, the settings.
    The pictures are resized when the job runs; each step carries the best G so far, which
    is what Stop keeps (``result``)."""

    config: StyleConfig
    content: np.ndarray
    styles: Sequence[tuple[np.ndarray, float]]
    features: nn.Sequential
    _content_tensor: torch.Tensor | None = field(default=None, init=False, repr=False)

    @property
    def title(self) -> str:
        return f"Style transfer at {self.config.image_size} px with style scale {self.config.style_scale:g}"

    def estimate(self) -> MemoryEstimate:
        return transfer_memory(self.config, self.content.shape[:2], [image.shape[:2] for image, _ in self.styles])

    def run(self, device: torch.device, cancel: CancelToken) -> Iterator[Step[StyleProgress]]:
        config = self.config
        content = self._content_tensor = to_tensor(self.content, config.image_size).to(device)
        style_side = max(16, round(config.image_size * config.style_scale))
        styles = [(to_tensor(image, style_side).to(device), weight) for image, weight in self.styles if weight > 0]
        extractor = VGGFeatures(self.features, config.layers).to(device)
        for progress in transfer(extractor, content, styles, config):
            text = f"step {progress.step} of {progress.total_steps}, J = {progress.losses['total']:.4g}"
            yield Step(progress.step, progress.total_steps, text, progress)
            if cancel.cancelled:
                return

    def result(self, last: StyleProgress) -> np.ndarray:
        """The best G of a run whose last step was ``last``, as the user sees it."""
        return best_preview(last.best, self._content_tensor, self.config)


# -- what deep ConvNets learn ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceptiveField:
    """Where one activation of a layer looks in the input: ``size`` pixels square, its
    top-left at ``stride`` · (i, j) − ``padding``."""

    size: int
    stride: int
    padding: int

    def box(self, row: int, column: int) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) in input pixels, before clipping to the image."""
        top, left = row * self.stride - self.padding, column * self.stride - self.padding
        return top, left, top + self.size, left + self.size


def receptive_field(features: nn.Sequential, layer: str) -> ReceptiveField:
    """The receptive field of ``layer`` (a name from ``layer_names``), grown layer by layer:
    r ← r + (k − 1)·j, p ← p + pad·j, j ← j·s."""
    size, stride, padding = 1, 1, 0
    for module in features[: layer_names(features)[layer] + 1]:
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            kernel = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
            step = module.stride if isinstance(module.stride, int) else module.stride[0]
            pad = module.padding if isinstance(module.padding, int) else module.padding[0]
            size, padding, stride = size + (kernel - 1) * stride, padding + pad * stride, stride * step
    return ReceptiveField(size, stride, padding)


@dataclass(frozen=True)
class Patch:
    """One of the patches that most activate a unit: which image, where, and how much."""

    image_index: int
    box: tuple[int, int, int, int]  # (top, left, bottom, right), clipped to the image
    activation: float


def layer_activations(extractor: VGGFeatures, images: Sequence[torch.Tensor], layer: str) -> list[torch.Tensor]:
    """The activations (C, h, w) of ``layer`` for each (1, 3, H, W) image, computed once so
    that every unit of the layer can be searched without running the network again."""
    with device_lock(images[0].device), torch.no_grad():
        return [extractor(image)[layer][0] for image in images]


def patch_image(images: Sequence[torch.Tensor], patch: Patch) -> np.ndarray:
    """The pixels of ``patch`` cut from its image ((1, 3, H, W) in [0, 1]), as (h, w, 3) uint8."""
    top, left, bottom, right = patch.box
    return to_image(images[patch.image_index][..., top:bottom, left:right])


def feature_montage(activation: torch.Tensor, channels: int = 16) -> np.ndarray:
    """The first ``channels`` feature maps of a (C, h, w) activation side by side in a grid
    four wide, each map scaled on its own to [0, 255] (uint8)."""
    maps = activation[:channels].float()
    low = maps.amin(dim=(1, 2), keepdim=True)
    high = maps.amax(dim=(1, 2), keepdim=True)
    scaled = ((maps - low) / (high - low).clamp_min(1e-8) * 255).byte().cpu().numpy()
    rows = [np.concatenate(list(scaled[start : start + 4]), axis=1) for start in range(0, len(scaled), 4)]
    return np.concatenate(rows, axis=0)


def top_patches(
    activations: Sequence[torch.Tensor],
    sizes: Sequence[tuple[int, int]],
    field_: ReceptiveField,
    unit: int,
    count: int = 9,
) -> list[Patch]:
    """The ``count`` image patches (receptive fields ``field_``) where channel ``unit`` is
    largest over all images; ``sizes`` are the images' (H, W). A patch overlapping a
    stronger one of the same image by more than half its area (IoU > 0.5) is skipped, so
    the nine show nine places rather than one bright spot."""
    candidates: list[Patch] = []
    for index, (activation, (height, width)) in enumerate(zip(activations, sizes)):
        plane = activation[unit]  # (h, w)
        values, positions = plane.flatten().topk(min(count * 16, plane.numel()))
        for value, position in zip(values.tolist(), positions.tolist()):
            top, left, bottom, right = field_.box(*divmod(position, plane.shape[1]))
            candidates.append(Patch(index, (max(top, 0), max(left, 0), min(bottom, height), min(right, width)), value))
    chosen: list[Patch] = []
    for patch in sorted(candidates, key=lambda patch: -patch.activation):
        if all(other.image_index != patch.image_index or iou(other.box, patch.box) <= 0.5 for other in chosen):
            chosen.append(patch)
            if len(chosen) == count:
                break
    return chosen
