"""Run the degradation experiment of the model comparisons page at its defaults and keep the
curves, so the page shows the figure at once (the live run then reproduces it).

    .venv/bin/python -m scripts.degradation_curves   # writes checkpoints/degradation_curves.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import shlex
import sys
from pathlib import Path

import torch

from core.architectures import resnets
from core.runtime.device import describe_device

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "checkpoints" / "degradation_curves.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    config = resnets.DegradationConfig()
    curves: dict[str, list[float]] = {}
    seconds = 0.0
    for progress in resnets.degradation_experiment(config, "cpu"):
        curves.setdefault(progress.network, []).append(round(progress.training_error, 5))
        seconds = progress.elapsed_s
    networks = config.networks()
    record = {
        "command": f"python -m scripts.degradation_curves {shlex.join(sys.argv[1:] if argv is None else argv)}".strip(),
        "config": dataclasses.asdict(config),
        "training_error": curves,
        "gradient_norms": {
            label: [round(norm, 5) for norm in resnets.gradient_norms(network)] for label, network in networks.items()
        },
        "seconds": round(seconds, 1),
        "device": describe_device(torch.device("cpu")),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    args.output.write_text(json.dumps(record, indent=1) + "\n")
    print({label: values[-1] for label, values in curves.items()}, f"{seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
