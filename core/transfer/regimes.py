"""Transfer learning (course week 2, "Transfer Learning"): a network trained on a large set
reused for a few photos of your own classes, in the course's three regimes side by side,
with training from scratch for reference:

- (a) ``head``: freeze every layer and train only a new softmax layer. The frozen part's
  features are computed once and kept (the course's "save them to disk" trick, in memory),
  so an epoch is a few matrix products;
- (b) ``partial``: freeze the first k blocks and train the rest with the new softmax;
- (c) ``all``: fine-tune every layer from the pretrained weights;
- (d) ``scratch``: the same network from random weights.

A ``TransferNet`` is a backbone's blocks, pooled and flattened, and a new linear head.
Backbones: torchvision's MobileNetV3-Large and ResNet-18 (ImageNet), and, offline, a
small CNN that CNN Lab pretrains on the digits 0–4 and transfers to 5–9.
"""

from __future__ import annotations

import copy
import io
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.runtime.budget import MemoryEstimate
from core.runtime.errors import UserError
from core.runtime.images import fit_within, load_image
from core.runtime.jobs import CancelToken, Step
from core.transfer.augment import AugmentSettings
from core.transfer.augment import augmenter as augmenter_for

REGIMES = ("head", "partial", "all", "scratch")
REGIME_TITLES = {
    "head": "(a) new softmax only, cached features",
    "partial": "(b) first k blocks frozen",
    "all": "(c) fine-tune everything",
    "scratch": "(d) from scratch",
}
MIN_PHOTOS, MAX_PHOTOS, MAX_CLASSES = 5, 50, 5
MAX_TOTAL_PHOTOS = 500
MAX_FILE_BYTES = 20 * 2**20  # one photo in an imported zip, unpacked: the upload limit
STORED_SIDE = 256  # photos are kept with their longer side at most this (torchvision's "resize 256" before a 224 crop)


class TransferNet(nn.Module):
    """blocks → global average pool (for feature maps) → flatten → head."""

    def __init__(self, blocks: Sequence[nn.Module], features: int, num_classes: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(features, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:  # (B, …) -> (B, features)
        for block in self.blocks:
            x = block(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1) if x.dim() == 4 else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def freeze(self, frozen_blocks: int) -> None:
        """No gradient for the first ``frozen_blocks`` blocks; they also stay in eval mode
        (batch norm keeps the statistics it learned on the large set)."""
        for index, block in enumerate(self.blocks):
            block.requires_grad_(index >= frozen_blocks)

    def train(self, mode: bool = True) -> TransferNet:
        super().train(mode)
        for block in self.blocks:
            if not any(parameter.requires_grad for parameter in block.parameters()):
                block.eval()
        return self


@dataclass(frozen=True)
class Backbone:
    """A pretrained network cut into blocks: how to make it (with or without its weights),
    its feature size, its input side and normalization."""

    name: str
    title: str
    weights_name: str | None  # core.runtime.weights entry of the pretrained weights
    side: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    features: int
    block_count: int
    split: Callable[[nn.Module], list[nn.Module]] = field(repr=False)

    def blocks(self, model: nn.Module) -> list[nn.Module]:
        return self.split(model)


def _mobilenet_blocks(model: nn.Module) -> list[nn.Module]:
    return list(model.features)  # the stem, 15 inverted residuals and the last 1×1 convolution to 960 channels


def _resnet_blocks(model: nn.Module) -> list[nn.Module]:
    stem = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool)
    return [stem, model.layer1, model.layer2, model.layer3, model.layer4]


IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
BACKBONES = {
    "mobilenet_v3_large": Backbone(
        "mobilenet_v3_large",
        "MobileNetV3-Large",
        "mobilenet_v3_large",
        224,
        IMAGENET_MEAN,
        IMAGENET_STD,
        960,
        17,
        _mobilenet_blocks,
    ),
    "resnet18": Backbone("resnet18", "ResNet-18", "resnet18", 224, IMAGENET_MEAN, IMAGENET_STD, 512, 5, _resnet_blocks),
}


def transfer_net(backbone: Backbone, pretrained: nn.Module | None, num_classes: int, seed: int = 0) -> TransferNet:
    """A new network for ``num_classes``: a copy of ``pretrained``'s blocks (the shared model
    is never changed), or the same architecture with random weights when None, and a new head."""
    from torchvision.models import get_model

    torch.manual_seed(seed)
    source = copy.deepcopy(pretrained) if pretrained is not None else get_model(backbone.name, weights=None)
    return TransferNet(backbone.blocks(source), backbone.features, num_classes)


# -- the user's photos ---------------------------------------------------------------------------------------


@dataclass
class PhotoSet:
    """The user's classes: names in order and, per class, its photos ((H, W, 3) uint8)."""

    photos: dict[str, list[np.ndarray]] = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        return list(self.photos)

    @property
    def total(self) -> int:
        return sum(len(images) for images in self.photos.values())

    def add_class(self, name: str) -> str:
        cleaned = " ".join(name.split())
        if not cleaned:
            raise UserError("Give the class a name.")
        if cleaned.lower() in (existing.lower() for existing in self.photos):
            raise UserError(f"There is already a class named {cleaned!r}; pick another name.")
        if len(self.photos) >= MAX_CLASSES:
            raise UserError(f"At most {MAX_CLASSES} classes.")
        self.photos[cleaned] = []
        return cleaned

    def add_photos(self, name: str, images: Sequence[np.ndarray]) -> int:
        """Add ``images`` to class ``name`` up to the caps, each shrunk to ``STORED_SIDE`` (so a
        session's set stays under 100 MB whatever the photos' size); returns how many were added."""
        room = min(MAX_PHOTOS - len(self.photos[name]), MAX_TOTAL_PHOTOS - self.total)
        if room <= 0:
            raise UserError(f"A class holds at most {MAX_PHOTOS} photos and all classes {MAX_TOTAL_PHOTOS}.")
        self.photos[name].extend(fit_within(image, STORED_SIDE) for image in images[:room])
        return min(room, len(images))

    def remove_photos(self, name: str, indices: Sequence[int]) -> int:
        """Remove the photos at ``indices`` (0-based) from class ``name``; returns how many went."""
        doomed = {index for index in indices if 0 <= index < len(self.photos[name])}
        self.photos[name] = [image for index, image in enumerate(self.photos[name]) if index not in doomed]
        return len(doomed)

    def check_trainable(self) -> None:
        """Refuse a set that cannot be split and trained, saying which class is short."""
        if len(self.photos) < 2:
            raise UserError("Make at least two classes.")
        for name, images in self.photos.items():
            if len(images) < MIN_PHOTOS:
                raise UserError(
                    f"Class {name!r} has {len(images)} photo{'s' if len(images) != 1 else ''}; "
                    f"give every class at least {MIN_PHOTOS}."
                )

    def export(self) -> bytes:
        """A zip: one folder per class (its name) of PNG files."""
        import zipfile

        from PIL import Image

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for index, (name, images) in enumerate(self.photos.items()):
                for number, image in enumerate(images):
                    picture = io.BytesIO()
                    Image.fromarray(image).save(picture, "PNG")
                    archive.writestr(f"{index}_{name}/{number:03d}.png", picture.getvalue())
        return buffer.getvalue()

    @classmethod
    def from_export(cls, data: bytes) -> tuple[PhotoSet, list[str]]:
        """The set in an exported zip, and the files skipped (not images) with why."""
        import zipfile

        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            raise UserError("This file is not a zip of class folders (export one with “Export the set”).") from None
        found, skipped = cls(), []
        with archive:
            for member in sorted(archive.infolist(), key=lambda info: info.filename):
                folder, _, file_name = member.filename.partition("/")
                if not file_name:
                    continue
                name = folder.partition("_")[2] or folder
                try:
                    if member.file_size > MAX_FILE_BYTES:  # read nothing that unpacks beyond an upload's size
                        raise UserError(f"it unpacks to more than {MAX_FILE_BYTES // 2**20} MB")
                    if name not in found.photos:
                        found.add_class(name)
                    found.add_photos(name, [load_image(archive.read(member))])
                except UserError as error:
                    skipped.append(f"{member.filename}: {error}")
        if not found.photos:
            raise UserError("This zip holds no class folders of photos.")
        return found, skipped


def split(
    photos: PhotoSet, share: float = 0.2, seed: int = 0
) -> tuple[list[tuple[np.ndarray, int]], list[tuple[np.ndarray, int]]]:
    """A held-out share of every class (at least one photo each), seeded: (training, validation)."""
    photos.check_trainable()
    generator = np.random.default_rng(seed)
    training, validation = [], []
    for label, images in enumerate(photos.photos.values()):
        order = generator.permutation(len(images))
        held = max(1, round(share * len(images)))
        validation += [(images[i], label) for i in order[:held]]
        training += [(images[i], label) for i in order[held:]]
    return training, validation


def to_batch(images: Sequence[np.ndarray], backbone: Backbone) -> torch.Tensor:
    """(N, 3, side, side) normalized: each photo resized to the backbone's side (no crop, so
    nothing of a small object is lost)."""
    tensors = [torch.tensor(image).permute(2, 0, 1).float()[None] / 255 for image in images]
    resized = torch.cat(
        [
            F.interpolate(t, size=(backbone.side, backbone.side), mode="bilinear", antialias=True, align_corners=False)
            for t in tensors
        ]
    )
    mean, std = torch.tensor(backbone.mean).view(1, -1, 1, 1), torch.tensor(backbone.std).view(1, -1, 1, 1)
    return (resized - mean) / std


# -- training the regimes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingSettings:
    regimes: tuple[str, ...] = REGIMES
    frozen_blocks: int = 3  # k, regime (b)
    epochs: int = 8
    learning_rate: float = 1e-3
    batch_size: int = 16
    seed: int = 0


@dataclass(frozen=True)
class RegimeProgress:
    """One epoch of one regime: accuracy on the training and validation photos, the
    epoch's seconds, and, after the last epoch, the confusion matrix on validation."""

    regime: str
    epoch: int
    train_accuracy: float
    validation_accuracy: float
    epoch_seconds: float
    confusion: np.ndarray | None = None


def training_memory(backbone: Backbone, photos: int, batch_size: int) -> int:
    """Bytes training takes at its peak, from the network's own counts: the photos as float32
    tensors at the backbone's side, five copies of the weights (the copy being trained, its
    gradients, Adam's two moments, and the pretrained model it came from) and four floats per
    element of every layer's output for a batch (the outputs the backward pass keeps, their
    gradients and the workspaces of both passes). Checked against measured peaks in the tests."""
    from core.architectures.registry import architecture_stats

    stats = architecture_stats(backbone.name)
    return 4 * (photos * 3 * backbone.side**2 + 5 * stats.params + 4 * batch_size * stats.activations)


def _accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return float((logits.argmax(1) == labels).float().mean())


def train_regimes(
    backbone: Backbone,
    pretrained: nn.Module | None,
    training: Sequence[tuple[np.ndarray, int]],
    validation: Sequence[tuple[np.ndarray, int]],
    num_classes: int,
    settings: TrainingSettings,
    device: torch.device | str = "cpu",
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[tuple[RegimeProgress, TransferNet]]:
    """Each chosen regime, one after the other, epoch by epoch; yields (progress, network).
    ``augment`` (if given) transforms each training photo tensor (3, side, side, in [0, 1])
    anew every epoch; regime (a) trains on the cached features of the plain photos.
    ``should_stop`` is asked between batches: once it says yes, the generator ends and the
    network keeps the batches it has learned from."""
    if pretrained is None and set(settings.regimes) - {"scratch"}:
        raise UserError("Regimes (a)–(c) start from pretrained weights, which are missing; only (d) can run.")
    device = torch.device(device)
    train_x, train_y = to_batch([image for image, _ in training], backbone), torch.tensor([y for _, y in training])
    val_x, val_y = to_batch([image for image, _ in validation], backbone), torch.tensor([y for _, y in validation])
    for regime in settings.regimes:
        if should_stop():
            return
        network = transfer_net(backbone, None if regime == "scratch" else pretrained, num_classes, settings.seed)
        if regime == "partial" and not 0 <= settings.frozen_blocks <= len(network.blocks):
            raise UserError(f"k must lie between 0 and {len(network.blocks)}, the backbone's blocks.")
        network.freeze({"head": len(network.blocks), "partial": settings.frozen_blocks}.get(regime, 0))
        network.to(device)
        yield from _train_one(
            regime, network, (train_x, train_y), (val_x, val_y), settings, device, augment, backbone, should_stop
        )


def _train_one(regime, network, train, validation, settings, device, augment, backbone, should_stop):
    (train_x, train_y), (val_x, val_y) = train, validation
    trainable = [parameter for parameter in network.parameters() if parameter.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=settings.learning_rate * (10 if regime == "head" else 1))
    order, size = torch.Generator().manual_seed(settings.seed), settings.batch_size
    cached = None
    if regime == "head":  # the frozen network runs once; the head trains on its outputs
        network.eval()
        with torch.no_grad():
            cached = (_features(network, train_x, device, size), _features(network, val_x, device, size))
    for epoch in range(1, settings.epochs + 1):
        started = time.perf_counter()
        network.train()
        for batch in torch.randperm(len(train_y), generator=order).split(size):
            if should_stop():
                return
            labels = train_y[batch].to(device)
            if cached is not None:
                logits = network.head(cached[0][batch])
            else:
                inputs = train_x[batch]
                if augment is not None:
                    inputs = _augmented(inputs, augment, backbone)
                logits = network(inputs.to(device))
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - started
        network.eval()
        with torch.no_grad():
            if cached is not None:
                train_logits, val_logits = network.head(cached[0]), network.head(cached[1])
            else:
                train_logits, val_logits = (
                    _logits(network, train_x, device, size),
                    _logits(network, val_x, device, size),
                )
        confusion = None
        if epoch == settings.epochs:
            predicted = val_logits.argmax(1).cpu()
            classes = int(network.head.out_features)
            confusion = np.zeros((classes, classes), dtype=int)
            np.add.at(confusion, (val_y.numpy(), predicted.numpy()), 1)
        progress = RegimeProgress(
            regime,
            epoch,
            _accuracy(train_logits.cpu(), train_y),
            _accuracy(val_logits.cpu(), val_y),
            seconds,
            confusion,
        )
        yield progress, network


def _logits(network: nn.Module, inputs: torch.Tensor, device: torch.device, batch: int) -> torch.Tensor:
    return torch.cat([network(inputs[start : start + batch].to(device)) for start in range(0, len(inputs), batch)])


def _features(network: TransferNet, inputs: torch.Tensor, device: torch.device, batch: int) -> torch.Tensor:
    """The frozen network's features, a batch at a time (its peak stays one batch's)."""
    return torch.cat(
        [network.features(inputs[start : start + batch].to(device)) for start in range(0, len(inputs), batch)]
    )


def _augmented(inputs: torch.Tensor, augment, backbone: Backbone) -> torch.Tensor:
    mean, std = torch.tensor(backbone.mean).view(1, -1, 1, 1), torch.tensor(backbone.std).view(1, -1, 1, 1)
    pixels = ((inputs * std + mean).clamp(0, 1) * 255).round().to(torch.uint8)
    out = torch.stack([augment(image) for image in pixels]).float() / 255
    return (out - mean) / std


@dataclass(frozen=True)
class RegimeRun:
    """One regime of a training as it stands: its epochs so far, its network, and what
    classifying and exporting with it need."""

    regime: str
    history: tuple[RegimeProgress, ...]
    network: TransferNet
    classes: tuple[str, ...]
    backbone: Backbone
    augmented: bool
    planned_epochs: int
    held_out: int

    @property
    def last(self) -> RegimeProgress:
        return self.history[-1]

    @property
    def stopped(self) -> bool:
        return self.last.epoch < self.planned_epochs

    @property
    def median_epoch_seconds(self) -> float:
        return float(np.median([progress.epoch_seconds for progress in self.history]))


@dataclass
class RegimesJob:
    """Training the chosen regimes one after the other as a job (``core.runtime.jobs``),
    on the photos as they were when it was made. ``pretrained`` loads the ImageNet backbone
    when the job runs (None: from scratch only). With ``augmentation`` every regime but (a)
    sees freshly augmented photos each epoch. Stop ends it between two batches; the
    networks keep what they learned (``runs``)."""

    backbone: Backbone
    pretrained: Callable[[], nn.Module] | None
    classes: tuple[str, ...]
    training: Sequence[tuple[np.ndarray, int]]
    validation: Sequence[tuple[np.ndarray, int]]
    settings: TrainingSettings
    augmentation: AugmentSettings | None = None
    networks: dict[str, TransferNet] = field(default_factory=dict, init=False)

    @property
    def title(self) -> str:
        return f"Training on {len(self.training) + len(self.validation)} photos"

    def estimate(self) -> MemoryEstimate:
        photos = len(self.training) + len(self.validation)
        peak = training_memory(self.backbone, photos, self.settings.batch_size)
        return MemoryEstimate({"the number of photos": peak})

    def run(self, device: torch.device, cancel: CancelToken) -> Iterator[Step[RegimeProgress]]:
        settings = self.settings
        trained = train_regimes(
            self.backbone,
            None if self.pretrained is None else self.pretrained(),
            self.training,
            self.validation,
            len(self.classes),
            settings,
            device,
            self._augmenter(),
            should_stop=lambda: cancel.cancelled,
        )
        total = len(settings.regimes) * settings.epochs
        for done, (progress, network) in enumerate(trained, start=1):
            self.networks[progress.regime] = network
            title, accuracy = REGIME_TITLES[progress.regime], progress.validation_accuracy
            text = f"{title}: epoch {progress.epoch} of {settings.epochs}, validation accuracy {accuracy:.0%}"
            yield Step(done, total, text, progress)

    def _augmenter(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        if self.augmentation is None:
            return None
        pipeline = augmenter_for(self.augmentation, self.backbone.side)
        generator = np.random.default_rng(self.settings.seed)
        return lambda pixels: pipeline(pixels, generator)

    def runs(self, history: Sequence[RegimeProgress]) -> dict[str, RegimeRun]:
        """Each regime that has finished an epoch in ``history``, in training order."""
        return {regime: self._run_of(regime, history) for regime in dict.fromkeys(p.regime for p in history)}

    def _run_of(self, regime: str, history: Sequence[RegimeProgress]) -> RegimeRun:
        return RegimeRun(
            regime=regime,
            history=tuple(progress for progress in history if progress.regime == regime),
            network=self.networks[regime],
            classes=self.classes,
            backbone=self.backbone,
            augmented=self.augmentation is not None and regime != "head",
            planned_epochs=self.settings.epochs,
            held_out=len(self.validation),
        )


def classify_photo(
    network: TransferNet,
    image: np.ndarray,
    classes: Sequence[str],
    backbone: Backbone,
    device: torch.device | str = "cpu",
) -> list[tuple[str, float]]:
    """The trained network's probabilities for a new photo, most likely first."""
    network.eval()
    with torch.inference_mode():
        probabilities = network(to_batch([image], backbone).to(device)).softmax(1)[0].cpu()
    return sorted(zip(classes, probabilities.tolist()), key=lambda pair: -pair[1])


@dataclass(frozen=True)
class HeldOutVerdict:
    """Whether a trained model's held-out accuracy shows it learned anything: ``correct`` of
    ``total`` held-out photos right, against ``chance`` = 1/classes for a model that guesses,
    judged by the one-sided binomial test (``p_value`` < 0.05 means better than guessing)."""

    correct: int
    total: int
    chance: float
    p_value: float

    @property
    def better_than_chance(self) -> bool:
        return self.p_value < 0.05


def held_out_verdict(accuracy: float, total: int, classes: int) -> HeldOutVerdict:
    """The verdict for ``accuracy`` on ``total`` held-out photos of ``classes`` classes."""
    from scipy.stats import binomtest

    correct = round(accuracy * total)
    p_value = binomtest(correct, total, 1 / classes, alternative="greater").pvalue if total else 1.0
    return HeldOutVerdict(correct, total, 1 / classes, float(p_value))


def export_model(network: TransferNet, classes: Sequence[str], backbone: Backbone, regime: str) -> bytes:
    """The trained model as one file ``torch.load(..., weights_only=True)`` reads back: the
    state dict, the class names and the preprocessing."""
    buffer = io.BytesIO()
    torch.save(
        {
            "state_dict": {key: value.cpu() for key, value in network.state_dict().items()},
            "classes": list(classes),
            "backbone": backbone.name,
            "regime": regime,
            "transforms": {
                "resize": [backbone.side, backbone.side],
                "mean": list(backbone.mean),
                "std": list(backbone.std),
            },
        },
        buffer,
    )
    return buffer.getvalue()


# -- offline: a small CNN pretrained on the digits 0–4, transferred to 5–9 ----------------------------------------

SOURCE_DIGITS, TARGET_DIGITS = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)
DIGIT_LAYERS, DIGIT_WIDTH = 3, 64  # three 3×3 convolutions of 64 channels with batch norm, global average pool


def digit_backbone(seed: int = 0) -> nn.Sequential:
    """The small CNN of the offline experiment, from random weights: ``core.architectures.resnets``'s plain
    network on 8×8 digits, 5 outputs."""
    from core.architectures.resnets import plain_network

    torch.manual_seed(seed)
    return plain_network(DIGIT_LAYERS, DIGIT_WIDTH, classes=len(SOURCE_DIGITS))


def _digit_blocks(model: nn.Sequential) -> list[nn.Module]:
    return [model[3 * index : 3 * index + 3] for index in range(DIGIT_LAYERS)]  # conv, batch norm, ReLU


def pretrain_digit_backbone(epochs: int = 30, learning_rate: float = 2e-3, seed: int = 0) -> nn.Sequential:
    """The small CNN trained on every digit 0–4 (it never sees a 5–9)."""
    from core.architectures.digits import digits

    images, labels = digits()
    chosen = torch.isin(labels, torch.tensor(SOURCE_DIGITS))
    inputs, targets = images[chosen], labels[chosen]
    model = digit_backbone(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    order = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(targets), generator=order).split(64):
            loss = F.cross_entropy(model(inputs[batch]), targets[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return model.eval()


@dataclass(frozen=True)
class OfflineResult:
    """Regime (a) on the digits 5–9 from ``shots`` examples each: accuracy on every other 5–9
    with the pretrained backbone's features and with the same backbone's untrained features."""

    shots: int
    tested: int
    pretrained_accuracy: float
    untrained_accuracy: float


def offline_experiment(pretrained: nn.Sequential, shots: int = 5, seed: int = 0, epochs: int = 300) -> OfflineResult:
    """Freeze the backbone's three blocks, cache their 64 pooled features of the digits 5–9,
    and train only a new softmax on ``shots`` examples per digit (seeded); the same with the
    same architecture from random weights."""
    from core.architectures.digits import digits

    if not 1 <= shots <= 100:
        raise UserError(f"Use 1 to 100 examples per digit, not {shots}.")
    images, labels = digits()
    generator = torch.Generator().manual_seed(seed)
    train_index, test_index = [], []
    for new_label, digit in enumerate(TARGET_DIGITS):
        members = torch.nonzero(labels == digit).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        train_index += [(int(i), new_label) for i in members[:shots]]
        test_index += [(int(i), new_label) for i in members[shots:]]
    train_labels = torch.tensor([label for _, label in train_index])
    test_labels = torch.tensor([label for _, label in test_index])
    accuracies = []
    for backbone in (pretrained, digit_backbone(seed).eval()):
        network = TransferNet(_digit_blocks(copy.deepcopy(backbone)), DIGIT_WIDTH, len(TARGET_DIGITS)).eval()
        network.freeze(len(network.blocks))
        with torch.no_grad():
            train_features = network.features(images[[i for i, _ in train_index]])
            test_features = network.features(images[[i for i, _ in test_index]])
        torch.manual_seed(seed)
        head = nn.Linear(DIGIT_WIDTH, len(TARGET_DIGITS))
        optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)
        for _ in range(epochs):
            loss = F.cross_entropy(head(train_features), train_labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            accuracies.append(_accuracy(head(test_features), test_labels))
    return OfflineResult(shots, len(test_index), *accuracies)


def save_digit_backbone(model: nn.Sequential, path, manifest: dict) -> None:
    import hashlib
    import json

    torch.save(model.state_dict(), path)
    manifest = {**manifest, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "size_bytes": path.stat().st_size}
    path.with_suffix(".json").write_text(json.dumps(manifest, indent=2) + "\n")


def load_digit_backbone(path) -> nn.Sequential:
    model = digit_backbone()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()
