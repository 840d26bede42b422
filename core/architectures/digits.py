"""The handwritten digits every offline experiment here learns from: scikit-learn's bundled
set of 1,797 8×8 digits (no download), with one seeded split into training and held-out
digits. LeNet-5 (``classify``), the degradation experiment (``resnets``) and the offline
transfer experiment (``core.transfer.regimes``) all read them from here."""

from __future__ import annotations

import functools

import torch

HELD_OUT_SHARE = 0.2
SPLIT_SEED = 0


@functools.cache
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The digits, (1797, 1, 8, 8) in [0, 1], and their labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return torch.tensor(data.images, dtype=torch.float32)[:, None] / 16.0, torch.tensor(data.target)


@functools.cache
def digit_split() -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the training and the held-out digits: a seeded split, a fifth held out."""
    count = len(digits()[1])
    order = torch.randperm(count, generator=torch.Generator().manual_seed(SPLIT_SEED))
    held_out = int(HELD_OUT_SHARE * count)
    return order[held_out:], order[:held_out]
