"""Training a U-Net on the synthetic shapes (``core.segmentation.shapes``) as a generator that reports
progress, so a page can show live curves and stop it: Adam with a one-cycle learning rate,
cross-entropy plus soft Dice loss (Milletari et al. 2016, "V-Net"), validation on images of
another seed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from core.runtime.budget import MemoryEstimate, activation_values
from core.runtime.jobs import CancelToken, Step
from core.segmentation import shapes
from core.segmentation.metrics import SegmentationScores, confusion_matrix, scores_from_confusion
from core.segmentation.unet import UNet, predict_labels

# -- training --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingConfig:
    """What a training run uses; the defaults are the in-app quick training."""

    epochs: int = 12
    learning_rate: float = 5e-3
    batch_size: int = 16
    image_size: int = 48
    train_images: int = 600
    validation_images: int = 64
    base_channels: int = 16
    depth: int = 3
    data_seed: int = 0
    init_seed: int = 0


@dataclass(frozen=True)
class Progress:
    """One report from ``train``: after a step, or after an epoch with validation scores."""

    epoch: int  # 1-based
    step: int  # optimizer steps so far
    total_steps: int
    loss: float  # mean loss of the last step
    elapsed_s: float
    validation: SegmentationScores | None = None
    samples: np.ndarray | None = None  # after an epoch, in a job: ``validation_samples``


@dataclass
class TrainingData:
    """Training and validation sets made from ``core.segmentation.shapes`` with a seed, kept as bytes (4
    per pixel: RGB and the label); each batch becomes float32 only when it is used."""

    images: torch.Tensor  # (N, 3, S, S) uint8
    labels: torch.Tensor  # (N, S, S) uint8
    validation_images: torch.Tensor
    validation_labels: torch.Tensor

    @classmethod
    def make(cls, config: TrainingConfig) -> TrainingData:
        # validation uses another seed: images the network never trains on
        return cls(
            *_shapes_set(config.data_seed, config.train_images, config.image_size),
            *_shapes_set(config.data_seed + 10_000, config.validation_images, config.image_size),
        )


def _shapes_set(seed: int, count: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each sample drawn straight into its place: no second copy of the set at any time."""
    from core.segmentation.shapes import make_sample

    images = torch.empty(count, 3, size, size, dtype=torch.uint8)
    labels = torch.empty(count, size, size, dtype=torch.uint8)
    image_array, label_array = images.numpy(), labels.numpy()  # views of the same memory
    for index in range(count):
        image, label, _ = make_sample(seed, index, size)
        image_array[index] = image.transpose(2, 0, 1)
        label_array[index] = label
    return images, labels


def as_input(images: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """A batch of uint8 images (B, 3, H, W) as the network's float32 input in [0, 1]."""
    return images.to(device).float().div_(255)


@functools.lru_cache(maxsize=64)  # the page asks on every rerun; counting takes about 20 ms
def training_memory(config: TrainingConfig, num_classes: int = 4) -> MemoryEstimate:
    """Bytes training takes at its peak, from tensor sizes: the set (4 bytes a pixel), four
    copies of the weights (the weights, their gradients, Adam's two moments) and, for a batch,
    three floats per value the network's layers output (the outputs the backward pass keeps,
    their gradients, and the loss's per-pixel tensors). Checked against measured peaks in the
    tests."""
    with torch.device("meta"):
        model = new_model(config, num_classes)
    params = sum(parameter.numel() for parameter in model.parameters())
    values = sum(activation_values(model, (3, config.image_size, config.image_size)))
    pixels = (config.train_images + config.validation_images) * config.image_size**2
    return MemoryEstimate(
        {
            "the number of training images": 4 * pixels,
            "the network's width": 4 * 4 * params,
            "the batch size or the image size": 4 * 3 * config.batch_size * values,
        }
    )


def new_model(config: TrainingConfig, num_classes: int = 4) -> UNet:
    torch.manual_seed(config.init_seed)
    return UNet(3, num_classes, config.base_channels, config.depth)


def evaluate(
    model: UNet, images: torch.Tensor, labels: torch.Tensor, device: torch.device, batch_size: int = 32
) -> SegmentationScores:
    """Scores of ``model`` over a whole labelled set (uint8 images and labels, as ``TrainingData``)."""
    num_classes = model.config["num_classes"]
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            predicted = model(as_input(images[start : start + batch_size], device)).argmax(1).cpu()
            confusion += confusion_matrix(predicted, labels[start : start + batch_size].long(), num_classes)
    model.train(was_training)
    return scores_from_confusion(confusion)


def segmentation_loss(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy plus soft Dice loss (1 − mean Dice over classes, Milletari et al. 2016,
    "V-Net"): the Dice term weighs every class alike, so small shapes are not drowned by
    the background. ``scores`` (B, C, H, W), ``labels`` (B, H, W)."""
    probabilities = scores.softmax(1)
    one_hot = F.one_hot(labels, scores.shape[1]).permute(0, 3, 1, 2).float()  # (B, C, H, W)
    overlap = (probabilities * one_hot).sum((0, 2, 3))
    dice = (2 * overlap + 1) / (probabilities.sum((0, 2, 3)) + one_hot.sum((0, 2, 3)) + 1)
    return F.cross_entropy(scores, labels) + 1 - dice.mean()


def train(
    model: UNet, data: TrainingData, config: TrainingConfig, device: torch.device, report_every: int = 5
) -> Iterator[Progress]:
    """Train ``model`` in place with Adam and a cosine learning-rate schedule, yielding
    progress every ``report_every`` steps and validation scores after each epoch. The
    caller may stop iterating at any time; the model keeps what it has learned so far."""
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    steps_per_epoch = -(-len(data.images) // config.batch_size)
    total = steps_per_epoch * config.epochs
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.learning_rate, total_steps=total)
    order = torch.Generator().manual_seed(config.data_seed)
    started, step = time.perf_counter(), 0
    for epoch in range(1, config.epochs + 1):
        for batch in torch.randperm(len(data.images), generator=order).split(config.batch_size):
            loss = segmentation_loss(model(as_input(data.images[batch], device)), data.labels[batch].to(device).long())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            if step % report_every == 0:
                yield Progress(epoch, step, total, loss.item(), time.perf_counter() - started)
        validation = evaluate(model, data.validation_images, data.validation_labels, device)
        yield Progress(epoch, step, total, loss.item(), time.perf_counter() - started, validation)
    model.eval()


def validation_samples(model: UNet, data: TrainingData, device: torch.device, count: int = 4) -> np.ndarray:
    """The first ``count`` validation images, their true labels and the model's labels, one
    row each, as one (count·S, 3·S, 3) picture."""
    rows = []
    for index in range(count):
        image = data.validation_images[index].permute(1, 2, 0).numpy()  # (S, S, 3)
        predicted = predict_labels(model, image, device)
        truth = shapes.colorize(data.validation_labels[index].numpy())
        rows.append(np.concatenate([image, truth, shapes.colorize(predicted)], axis=1))
    return np.concatenate(rows, axis=0)


@dataclass
class TrainingJob:
    """Training a new U-Net as a job (``core.runtime.jobs``): the model is trained in place,
    so after Stop it keeps what it has learned; every epoch's step carries validation
    samples."""

    config: TrainingConfig
    model: UNet | None = field(default=None, init=False)  # made when the job runs, not per page rerun

    @property
    def title(self) -> str:
        config = self.config
        return f"Training on {config.train_images:,} images of {config.image_size}² in batches of {config.batch_size}"

    def estimate(self) -> MemoryEstimate:
        return training_memory(self.config)

    def run(self, device: torch.device, cancel: CancelToken) -> Iterator[Step[Progress]]:
        self.model = new_model(self.config)
        data = TrainingData.make(self.config)
        for progress in train(self.model, data, self.config, device):
            if progress.validation is not None:
                progress = replace(progress, samples=validation_samples(self.model, data, device))
            text = f"epoch {progress.epoch} of {self.config.epochs}, step {progress.step} of {progress.total_steps}"
            yield Step(progress.step, progress.total_steps, text, progress)
            if cancel.cancelled:
                return

    def outcome(self) -> dict[str, torch.Tensor]:
        """The trained weights, on the CPU: what a cluster worker sends back."""
        return {name: tensor.detach().cpu() for name, tensor in self.model.state_dict().items()}

    def take_outcome(self, state: dict[str, torch.Tensor]) -> None:
        """The model trained on a worker, from its ``outcome``, on this process's device."""
        from core.runtime.device import pick_device

        model = UNet(3, len(shapes.CLASSES), self.config.base_channels, self.config.depth)
        model.load_state_dict(state)
        self.model = model.to(pick_device()).eval()
