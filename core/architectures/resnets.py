"""Residual networks (course week 2, "ResNets", "Why ResNets Work?"; He et al. 2015, "Deep
residual learning for image recognition"): the residual block a[l+2] = g(z[l+2] + a[l])
with an identity or a 1×1 projection shortcut, ResNet-34's stages, and the degradation
experiment: plain and residual networks of two depths, the same widths, batch norm in
all, trained side by side on scikit-learn's bundled handwritten digits. In theory a deeper
network can do at least as well as a shallower one; in practice the deeper plain network
ends with a higher training error, and the deeper residual one does not.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.architectures.digits import digits
from core.architectures.registry import ModuleRow, module_rows
from core.runtime.budget import MemoryEstimate, activation_values
from core.runtime.errors import UserError
from core.runtime.jobs import CancelToken, Step

# -- the block ------------------------------------------------------------------------------------------------


class ResidualBlock(nn.Module):
    """Two 3×3 convolutions with batch norm; the shortcut adds a[l] before the second ReLU:
    a[l+2] = g(z[l+2] + a[l]), or g(z[l+2] + W_s a[l]) with W_s a 1×1 convolution (and batch
    norm) when the stride or the channels change the shape."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, a: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        z = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(a)))))  # z[l+2]
        return F.relu(z + self.shortcut(a))  # a[l+2]


@dataclass(frozen=True)
class BlockCost:
    """One residual block on an n×n×C input: the shapes a[l] → a[l+2], the parameters of the
    main path and of the shortcut (0 for the identity)."""

    input_shape: tuple[int, int, int]
    output_shape: tuple[int, int, int]
    main_params: int
    shortcut_params: int

    @property
    def identity(self) -> bool:
        return self.shortcut_params == 0


@functools.lru_cache(maxsize=128)
def residual_block_cost(n: int, in_channels: int, out_channels: int, stride: int = 1) -> BlockCost:
    """Counted from the built block (on the meta device)."""
    if min(n, in_channels, out_channels) < 1 or stride not in (1, 2):
        raise UserError("A block needs a side, input and output channels of at least 1, and a stride of 1 or 2.")
    with torch.device("meta"):
        block = ResidualBlock(in_channels, out_channels, stride).eval()  # batch norm of one value per channel
        output = block(torch.zeros(1, in_channels, n, n))
    shortcut = sum(p.numel() for p in block.shortcut.parameters())
    main = sum(p.numel() for p in block.parameters()) - shortcut
    return BlockCost((n, n, in_channels), (output.shape[2], output.shape[3], out_channels), main, shortcut)


@functools.lru_cache(maxsize=8)
def resnet34_stages(resolution: int = 224) -> tuple[ModuleRow, ...]:
    """ResNet-34 (torchvision's) stage by stage: the 7×7 stem, max pool, four stages of 3, 4,
    6 and 3 blocks, average pool and the classifier."""
    from torchvision.models import resnet34

    with torch.device("meta"):
        model = resnet34().eval()
    names = ["conv1", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"]
    return tuple(module_rows(model, (3, resolution, resolution), names))


# -- plain and residual networks for the experiment --------------------------------------------------------------


def plain_network(layers: int, width: int = 16, classes: int = 10) -> nn.Sequential:
    """``layers`` 3×3 convolutions (each with batch norm and ReLU) on a 1-channel image,
    global average pooling and one FC layer."""
    convs: list[nn.Module] = []
    for index in range(layers):
        convs += [
            nn.Conv2d(1 if index == 0 else width, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
        ]
    return nn.Sequential(*convs, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, classes))


def residual_network(layers: int, width: int = 16, classes: int = 10) -> nn.Sequential:
    """The same as ``plain_network`` with its convolutions after the first paired into
    residual blocks: ``layers`` convolutions in all (``layers`` odd)."""
    stem = [nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    blocks = [ResidualBlock(width, width) for _ in range((layers - 1) // 2)]
    return nn.Sequential(*stem, *blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, classes))


@dataclass(frozen=True)
class DegradationConfig:
    """The experiment's settings; the defaults show the effect within a minute on two cores."""

    shallow: int = 8
    deep: int = 32
    width: int = 16
    epochs: int = 12
    batch_size: int = 64
    learning_rate: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        if not 2 <= self.shallow < self.deep <= 64:
            raise UserError("Choose a shallow depth of at least 2 and a deep one above it, at most 64 layers.")
        if not (1 <= self.epochs <= 100 and 1 <= self.batch_size <= 1797 and 1 <= self.width <= 64):
            raise UserError("Use 1 to 100 epochs, a batch of 1 to 1,797 digits and a width of 1 to 64 channels.")

    def networks(self) -> dict[str, nn.Module]:
        """The four networks, each initialized from the seed: plain and residual, shallow and deep
        (a residual network has one convolution more when the count is even, to pair the rest)."""
        odd = {depth: depth + 1 - depth % 2 for depth in (self.shallow, self.deep)}
        built = {}
        for label, make, depth in (
            (f"plain {self.shallow}", plain_network, self.shallow),
            (f"plain {self.deep}", plain_network, self.deep),
            (f"ResNet {odd[self.shallow]}", residual_network, odd[self.shallow]),
            (f"ResNet {odd[self.deep]}", residual_network, odd[self.deep]),
        ):
            torch.manual_seed(self.seed)
            built[label] = make(depth, self.width)
        return built


@dataclass(frozen=True)
class DegradationProgress:
    """After one epoch of one network: its training error on all 1,797 digits (batch norm in
    evaluation mode) and the seconds since the experiment began."""

    network: str
    epoch: int
    training_error: float
    elapsed_s: float


def degradation_experiment(
    config: DegradationConfig, device: torch.device | str = "cpu", should_stop: Callable[[], bool] = lambda: False
) -> Iterator[DegradationProgress]:
    """Train the four networks side by side, one epoch of each in turn, with SGD (momentum
    0.9) and a one-cycle learning rate; yield after every epoch of every network, so the
    curves grow together. ``should_stop`` is asked between batches; once it says yes, the
    generator ends."""
    images, labels = (tensor.to(device) for tensor in digits())
    networks = {label: network.to(device) for label, network in config.networks().items()}
    steps = -(-len(images) // config.batch_size) * config.epochs
    optimizers = {
        label: torch.optim.SGD(network.parameters(), lr=config.learning_rate, momentum=0.9)
        for label, network in networks.items()
    }
    schedules = {
        label: torch.optim.lr_scheduler.OneCycleLR(optimizer, config.learning_rate, total_steps=steps)
        for label, optimizer in optimizers.items()
    }
    orders = {label: torch.Generator().manual_seed(config.seed) for label in networks}
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        for label, network in networks.items():
            network.train()
            for batch in torch.randperm(len(images), generator=orders[label]).split(config.batch_size):
                if should_stop():
                    return
                loss = F.cross_entropy(network(images[batch]), labels[batch])
                optimizers[label].zero_grad(set_to_none=True)
                loss.backward()
                optimizers[label].step()
                schedules[label].step()
            network.eval()
            with torch.no_grad():
                error = 1.0 - (network(images).argmax(1) == labels).float().mean().item()
            yield DegradationProgress(label, epoch, error, time.perf_counter() - started)


@functools.cache
def degradation_memory(config: DegradationConfig) -> MemoryEstimate:
    """Per network: its weights, gradients and momentum, and three floats per activation of a
    batch (outputs kept for the backward pass, their gradients, workspaces); the digits.
    Counted on the meta device, once per settings: the page asks on every rerun."""
    with torch.device("meta"):
        networks = config.networks()
    per_network = []
    for network in networks.values():
        params = sum(parameter.numel() for parameter in network.parameters())
        activations = sum(activation_values(network, (1, 8, 8)))
        per_network.append(4 * (3 * params + 3 * config.batch_size * activations))
    return MemoryEstimate({"the networks' depth and width": sum(per_network), "the digits": 4 * 1797 * 65})


@dataclass(frozen=True)
class DegradationJob:
    """The degradation experiment as a job (``core.runtime.jobs``); each step is one epoch
    of one network."""

    config: DegradationConfig = DegradationConfig()

    @property
    def title(self) -> str:
        return "Training the four networks on the digits"

    def estimate(self) -> MemoryEstimate:
        return degradation_memory(self.config)

    def run(self, device: torch.device, cancel: CancelToken) -> Iterator[Step[DegradationProgress]]:
        total = 4 * self.config.epochs
        experiment = degradation_experiment(self.config, device, should_stop=lambda: cancel.cancelled)
        for done, progress in enumerate(experiment, start=1):
            yield Step(done, total, f"{progress.network}, epoch {progress.epoch} of {self.config.epochs}", progress)


def gradient_spread(norms: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """For each network, how many times its largest layer gradient norm exceeds its smallest."""
    return {label: max(values) / min(values) for label, values in norms.items()}


def gradient_norms(network: nn.Module, batch: int = 256, seed: int = 0) -> list[float]:
    """‖∂L/∂W‖ of each 3×3 convolution, input side first, for one batch of digits at
    initialization. In a deep plain network the norms differ by orders of magnitude from one
    end to the other (with batch norm they grow toward the input); the shortcuts keep them
    within a small factor."""
    images, labels = digits()
    chosen = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:batch]
    network.train()
    network.zero_grad(set_to_none=True)
    F.cross_entropy(network(images[chosen]), labels[chosen]).backward()
    norms = [
        float(module.weight.grad.norm())
        for module in network.modules()
        if isinstance(module, nn.Conv2d) and module.kernel_size == (3, 3)
    ]
    network.zero_grad(set_to_none=True)
    return norms
