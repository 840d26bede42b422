"""Pretrain the small CNN of the transfer-learning page's offline experiment on the digits
0–4 of scikit-learn's bundled set, and record how it transfers to 5–9.

    .venv/bin/python -m scripts.train_digit_backbone   # writes checkpoints/digits_0to4.pt and .json
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from core.transfer import regimes as transfer

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=ROOT / "checkpoints" / "digits_0to4.pt")
    arguments = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(arguments)
    torch.set_num_threads(2)
    started = time.perf_counter()
    model = transfer.pretrain_digit_backbone(args.epochs, seed=args.seed)
    seconds = time.perf_counter() - started
    results = [
        dataclasses.asdict(transfer.offline_experiment(model, shots, seed=seed))
        for shots in (1, 5, 20)
        for seed in range(3)
    ]
    transfer.save_digit_backbone(
        model,
        args.output,
        {
            "file": args.output.name,
            "command": " ".join(["python -m scripts.train_digit_backbone", shlex.join(arguments)]).strip(),
            "trained_on": list(transfer.SOURCE_DIGITS),
            "epochs": args.epochs,
            "seed": args.seed,
            "layers": transfer.DIGIT_LAYERS,
            "width": transfer.DIGIT_WIDTH,
            "parameters": sum(p.numel() for p in model.parameters()),
            "training_seconds": round(seconds, 1),
            "transfer_to_5_to_9": results,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    )
    print(args.output.with_suffix(".json").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
