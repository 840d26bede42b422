"""`python -m benchmarks [NAME ...]`: run the named benchmarks, or all of them."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("startup", "conv_page", "detection", "segmentation", "faces", "style")


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names:
        importlib.import_module(f"benchmarks.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
