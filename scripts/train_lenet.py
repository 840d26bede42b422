"""Train the LeNet-5 the model comparisons page classifies digits with, on scikit-learn's
bundled handwritten digits (8×8, scaled to 32×32), holding a seeded fifth out.

    .venv/bin/python -m scripts.train_lenet         # writes checkpoints/lenet5_digits.pt and .json
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from core.architectures import classify
from core.architectures.digits import SPLIT_SEED, digit_split

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=ROOT / "checkpoints" / "lenet5_digits.pt")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    started = time.perf_counter()
    model = classify.train_lenet(args.epochs, args.learning_rate, args.seed)
    seconds = time.perf_counter() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    train, held_out = digit_split()
    classify.save_lenet(
        model,
        args.output,
        {
            "file": args.output.name,
            "command": f"python -m scripts.train_lenet {shlex.join(sys.argv[1:] if argv is None else argv)}".strip(),
            "epochs": args.epochs,
            "learning_rate": args.learning_rate,
            "seed": args.seed,
            "split": {"seed": SPLIT_SEED, "train": len(train), "held_out": len(held_out)},
            "parameters": sum(p.numel() for p in model.parameters()),
            "training_seconds": round(seconds, 1),
            "held_out_accuracy": round(classify.held_out_accuracy(model), 4),  # the weights written, float32
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    )
    print(args.output.with_suffix(".json").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
