"""Train the U-Net the Segmentation page ships with, on the project's synthetic shapes.

    .venv/bin/python -m scripts.train_unet            # writes checkpoints/unet_shapes.pt and .json

The manifest beside the checkpoint records the command, seeds, configuration, training
time, and the scores on freshly generated images the network never saw.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import platform
import shlex
import sys
from pathlib import Path

import torch

from core import segmentation as seg
from core.runtime.device import describe_device, pick_device
from core.segmentation.shapes import CLASSES

ROOT = Path(__file__).resolve().parent.parent
FRESH_SEED = 20_000  # the data seed of the test images: none of them is trained or validated on
FRESH_IMAGES = 500


def main(argv: list[str] | None = None) -> int:
    defaults = seg.TrainingConfig(epochs=30, image_size=64, train_images=3000, validation_images=200, depth=4)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for field in dataclasses.fields(seg.TrainingConfig):
        default = getattr(defaults, field.name)
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(default), default=default)
    parser.add_argument("--output", type=Path, default=ROOT / "checkpoints" / "unet_shapes.pt")
    args = parser.parse_args(argv)
    config = seg.TrainingConfig(
        **{field.name: getattr(args, field.name) for field in dataclasses.fields(seg.TrainingConfig)}
    )

    device = pick_device()
    data = seg.TrainingData.make(config)
    model = seg.new_model(config, num_classes=len(CLASSES))
    for progress in seg.train(model, data, config, device, report_every=50):
        if progress.validation:
            print(
                f"epoch {progress.epoch:3d}  {progress.elapsed_s:7.1f} s  loss {progress.loss:.3f}  "
                f"validation mIoU {progress.validation.mean_iou:.3f}",
                flush=True,
            )
    training_s = progress.elapsed_s

    args.output.parent.mkdir(parents=True, exist_ok=True)
    seg.save_checkpoint(model, args.output)
    shipped = seg.load_checkpoint(args.output, device)  # score what is shipped (float16 weights)
    fresh = seg.TrainingData.make(dataclasses.replace(config, data_seed=FRESH_SEED, train_images=FRESH_IMAGES))
    scores = seg.evaluate(shipped, fresh.images, fresh.labels, device)
    manifest = {
        "file": args.output.name,
        "sha256": hashlib.sha256(args.output.read_bytes()).hexdigest(),
        "size_bytes": args.output.stat().st_size,
        "command": " ".join(
            ["python -m scripts.train_unet", shlex.join(sys.argv[1:] if argv is None else argv)]
        ).strip(),
        "config": dataclasses.asdict(config),
        "classes": list(CLASSES),
        "parameters": sum(p.numel() for p in shipped.parameters()),
        "training_seconds": round(training_s, 1),
        "device": describe_device(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "fresh_test": {
            "data_seed": FRESH_SEED,
            "images": FRESH_IMAGES,
            "mean_iou": round(scores.mean_iou, 4),
            "pixel_accuracy": round(scores.pixel_accuracy, 4),
            "iou": {name: round(float(value), 4) for name, value in zip(CLASSES, scores.iou)},
            "dice": {name: round(float(value), 4) for name, value in zip(CLASSES, scores.dice)},
        },
    }
    args.output.with_suffix(".json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps(manifest["fresh_test"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
