"""The Inception module (course week 2, "Networks in Networks and 1x1 Convolutions",
"Inception Network Motivation", "Inception Network"; Szegedy et al. 2014, "Going deeper
with convolutions"): 1×1, 3×3 and 5×5 convolutions and a 3×3 max pool side by side, each
"same" so their outputs stack along the channels, with 1×1 convolutions as bottlenecks
before the 3×3 and 5×5 ones and after the pool. The multiplications of every branch are
counted by formula and confirmed by FlopCounterMode on the built module.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from core.architectures.registry import ModuleRow, module_rows
from core.foundations.conv import whole_number
from core.runtime.errors import UserError


@dataclass(frozen=True)
class InceptionSpec:
    """An Inception module on an n×n×C input: the filters of the 1×1 branch, of the 3×3 and
    5×5 branches with their 1×1 reduce sizes (0: no bottleneck), and of the pool projection
    (0: the pool's output is used as it is); ``pool`` False leaves the pool branch out."""

    n: int
    channels: int
    ones: int
    reduce3: int
    threes: int
    reduce5: int
    fives: int
    pool_projection: int
    pool: bool = True

    def __post_init__(self) -> None:
        for name in ("n", "channels"):
            whole_number(f"The input's {name}", getattr(self, name), 1)
        for name in ("ones", "reduce3", "threes", "reduce5", "fives", "pool_projection"):
            whole_number(name.replace("_", " "), getattr(self, name), 0)
        if not (self.ones or self.threes or self.fives or self.pool):
            raise UserError("Give at least one branch some filters.")

    @property
    def output_channels(self) -> int:
        return self.ones + self.threes + self.fives + ((self.pool_projection or self.channels) if self.pool else 0)


@dataclass(frozen=True)
class Branch:
    """One branch: what it is, its output channels, and its multiplications: the 1×1
    bottleneck's (0 without one) and the main convolution's."""

    name: str
    channels: int
    bottleneck: int
    main: int

    @property
    def multiplications(self) -> int:
        return self.bottleneck + self.main


def conv_multiplications(n: int, f: int, in_channels: int, filters: int) -> int:
    """A "same" f×f convolution on n×n×C to n×n×filters: n² · filters · f² · C."""
    return n * n * filters * f * f * in_channels


def branches(spec: InceptionSpec) -> list[Branch]:
    """The four branches of ``spec`` with their multiplications by formula."""
    n, c = spec.n, spec.channels
    found = []
    if spec.ones:
        found.append(Branch("1×1", spec.ones, 0, conv_multiplications(n, 1, c, spec.ones)))
    for name, reduce, filters, f in (("3×3", spec.reduce3, spec.threes, 3), ("5×5", spec.reduce5, spec.fives, 5)):
        if filters:
            source = reduce or c
            bottleneck = conv_multiplications(n, 1, c, reduce) if reduce else 0
            found.append(Branch(name, filters, bottleneck, conv_multiplications(n, f, source, filters)))
    if spec.pool:
        projection = spec.pool_projection
        found.append(
            Branch(
                "max pool 3×3" + (" + 1×1" if projection else ""),
                projection or c,
                0,
                conv_multiplications(n, 1, c, projection) if projection else 0,
            )
        )
    return found


class InceptionModule(nn.Module):
    """The module ``spec`` describes, convolutions without bias (the multiplications the course counts)."""

    def __init__(self, spec: InceptionSpec) -> None:
        super().__init__()
        c = spec.channels
        self.paths = nn.ModuleList()
        if spec.ones:
            self.paths.append(nn.Conv2d(c, spec.ones, 1, bias=False))
        for reduce, filters, f in ((spec.reduce3, spec.threes, 3), (spec.reduce5, spec.fives, 5)):
            if filters:
                layers = [nn.Conv2d(c, reduce, 1, bias=False)] if reduce else []
                layers.append(nn.Conv2d(reduce or c, filters, f, padding=f // 2, bias=False))
                self.paths.append(nn.Sequential(*layers))
        if spec.pool:
            pool: list[nn.Module] = [nn.MaxPool2d(3, 1, 1)]
            if spec.pool_projection:
                pool.append(nn.Conv2d(c, spec.pool_projection, 1, bias=False))
            self.paths.append(nn.Sequential(*pool))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, n, n) -> (B, C′, n, n)
        return torch.cat([path(x) for path in self.paths], dim=1)


@functools.lru_cache(maxsize=128)
def measured(spec: InceptionSpec) -> tuple[tuple[int, ...], int]:
    """(output shape (n, n, C′), multiplications) of the built module, from a forward pass on
    the meta device and FlopCounterMode (FLOPs / 2); cached per process."""
    with torch.device("meta"):
        module = InceptionModule(spec)
        image = torch.zeros(1, spec.channels, spec.n, spec.n)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        output = module(image)
    return (output.shape[2], output.shape[3], output.shape[1]), counter.get_total_flops() // 2


# The course's example: a 5×5 "same" convolution with 32 filters on 28×28×192, with and without
# a 1×1 bottleneck of 16 channels (120,422,400 against 2,408,448 + 10,035,200 = 12,443,648).
COURSE_DIRECT = InceptionSpec(28, 192, 0, 0, 0, 0, 32, 0, pool=False)
COURSE_BOTTLENECK = InceptionSpec(28, 192, 0, 0, 0, 16, 32, 0, pool=False)
GOOGLENET_3A = InceptionSpec(28, 192, 64, 96, 128, 16, 32, 32)  # inception (3a) of the paper's Table 1
GOOGLENET_MODULES = (
    "inception3a",
    "inception3b",
    "inception4a",
    "inception4b",
    "inception4c",
    "inception4d",
    "inception4e",
    "inception5a",
    "inception5b",
)


@functools.lru_cache(maxsize=8)
def googlenet_modules(resolution: int = 224) -> tuple[ModuleRow, ...]:
    """GoogLeNet's nine Inception modules (torchvision's) with their output shapes, parameters and MACs."""
    from torchvision.models import googlenet

    with torch.device("meta"):
        model = googlenet(aux_logits=False, init_weights=False).eval()
    return tuple(module_rows(model, (3, resolution, resolution), GOOGLENET_MODULES))
