"""Data augmentation (course week 2, "Data Augmentation"): mirroring, random cropping,
rotation, shearing, local warping, and colour shifting, composed from torchvision's
``transforms.v2``; plus the PCA colour augmentation of AlexNet (Krizhevsky et al. 2012),
written out as a teaching step: the principal components of the image's RGB values, and a
shift along each by α·λ with α drawn from N(0, σ²).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.runtime.errors import UserError


@dataclass(frozen=True)
class PCAShift:
    """One PCA colour shift: the eigenvectors p_i (columns) and eigenvalues λ_i of the RGB
    covariance, the draws α_i, and the shift Σ α_i √λ_i p_i added to every pixel (in [0, 1]
    units). AlexNet's paper writes λ_i; the implementations that reproduce it (fb.resnet.torch's
    ``Lighting``, whose ImageNet "eigval" 0.2175 = 55.46/255 is a standard deviation) scale by
    √λ_i, the spread of the pixels along p_i, so σ = 0.1 moves colours by a tenth of that spread.
    With λ_i itself the shift would be below one grey level on a 0–1 scale."""

    eigenvectors: np.ndarray  # (3, 3)
    eigenvalues: np.ndarray  # (3,)
    alphas: np.ndarray  # (3,)

    @property
    def spreads(self) -> np.ndarray:  # (3,) √λ_i
        return np.sqrt(self.eigenvalues)

    @property
    def shift(self) -> np.ndarray:  # (3,)
        return self.eigenvectors @ (self.alphas * self.spreads)


def pca_shift(image: np.ndarray, sigma: float = 0.1, generator: np.random.Generator | None = None) -> PCAShift:
    """The shift AlexNet adds to ``image`` ((H, W, 3) uint8): eigen-decompose the 3×3
    covariance of its pixels' RGB values (scaled to [0, 1]), largest eigenvalue first; draw
    α_i ~ N(0, σ²). A one-pixel image has no spread: its covariance is zero, and so is its shift."""
    if sigma < 0:
        raise UserError(f"σ must be at least 0, not {sigma}.")
    pixels = np.asarray(image, dtype=np.float64).reshape(-1, 3) / 255.0
    covariance = np.cov(pixels, rowvar=False) if len(pixels) > 1 else np.zeros((3, 3))
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    order = eigenvalues.argsort()[::-1]  # the principal component first
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    generator = generator or np.random.default_rng()
    return PCAShift(eigenvectors, np.clip(eigenvalues, 0, None), generator.normal(0.0, sigma, 3))


def apply_shift(image: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``image`` (uint8) with ``shift`` (in [0, 1] units, per channel) added to every pixel, clipped."""
    shifted = np.asarray(image, dtype=np.float64) / 255.0 + shift
    return (np.clip(shifted, 0.0, 1.0) * 255).round().astype(np.uint8)


@dataclass(frozen=True)
class AugmentSettings:
    """Every augmentation's strength; 0 (or False) switches it off."""

    mirror: bool = True
    crop_scale: float = 0.6  # random crops keep at least this share of the area
    rotation: float = 15.0  # degrees, either way
    shear: float = 10.0  # degrees
    warp: float = 0.0  # ElasticTransform's alpha (local warping)
    rgb_offset: float = 20.0  # the course's colour shift: each channel ± up to this many levels
    jitter: float = 0.2  # ColorJitter's brightness, contrast and saturation
    pca_sigma: float = 0.1  # AlexNet's σ

    def __post_init__(self) -> None:
        if not 0.05 <= self.crop_scale <= 1:
            raise UserError("Random crops must keep between 5 % and 100 % of the area.")
        if not (0 <= self.rotation <= 180 and 0 <= self.shear <= 60 and 0 <= self.warp <= 500):
            raise UserError("Rotate by 0–180°, shear by 0–60° and warp with an alpha of 0–500.")
        if not (0 <= self.rgb_offset <= 128 and 0 <= self.jitter <= 1 and 0 <= self.pca_sigma <= 1):
            raise UserError("Shift colours by 0–128 levels, jitter by 0–1 and use a PCA σ of 0–1.")


def augmenter(settings: AugmentSettings, size: int):
    """A function (3, H, W) uint8 tensor, torch.Generator -> (3, size, size) uint8 tensor that
    applies ``settings`` in the course's order: geometry first, then colour."""
    from torchvision.transforms import v2

    geometry = [v2.RandomResizedCrop(size, scale=(settings.crop_scale, 1.0), antialias=True)]
    if settings.mirror:
        geometry.append(v2.RandomHorizontalFlip())
    if settings.rotation or settings.shear:
        geometry.append(v2.RandomAffine(degrees=settings.rotation, shear=settings.shear or None))
    if settings.warp:
        geometry.append(v2.ElasticTransform(alpha=settings.warp))
    colour = v2.ColorJitter(settings.jitter, settings.jitter, settings.jitter) if settings.jitter else None
    pipeline = v2.Compose(geometry)

    def augment(pixels: torch.Tensor, generator: np.random.Generator) -> torch.Tensor:
        out = pipeline(pixels)  # torchvision draws from torch's global generator
        if colour is not None:
            out = colour(out)
        image = out.permute(1, 2, 0).numpy()
        shift = generator.uniform(-settings.rgb_offset, settings.rgb_offset, 3) / 255.0
        if settings.pca_sigma:
            shift = shift + pca_shift(image, settings.pca_sigma, generator).shift
        return torch.from_numpy(apply_shift(image, shift)).permute(2, 0, 1)

    return augment


def gallery(
    image: np.ndarray, settings: AugmentSettings, seed: int = 0, count: int = 16, size: int = 160
) -> list[np.ndarray]:
    """``count`` augmented copies of ``image`` (H, W, 3 uint8), reproducible from ``seed``
    (torch's global random state is forked for the draws and restored after)."""
    augment = augmenter(settings, size)
    pixels = torch.tensor(np.asarray(image)).permute(2, 0, 1)  # a copy: example photos are read-only
    generator = np.random.default_rng(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return [augment(pixels, generator).permute(1, 2, 0).numpy() for _ in range(count)]
