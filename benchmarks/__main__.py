"""`python -m benchmarks [--device DEVICE] [NAME ...]`: run the named benchmarks, or all of them."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from core.runtime.device import DEVICE_ENV_VAR

BENCHMARKS = (
    "startup",
    "conv_page",
    "mobilenet_page",
    "comparisons_page",
    "latency",
    "transfer",
    "detection",
    "video",
    "sliding_windows",
    "segmentation",
    "faces",
    "style",
    "fast_style",
    "load",
    "cluster",
)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--device", help=f"cpu, cuda, cuda:N or mps: sets {DEVICE_ENV_VAR} for every benchmark")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    if args.device:
        os.environ[DEVICE_ENV_VAR] = args.device
    for name in args.names or BENCHMARKS:
        importlib.import_module(f"benchmarks.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
