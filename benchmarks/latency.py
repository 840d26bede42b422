"""Model latency and the zoo's statistics.

``core.runtime.latency.measure_latency`` (as ``core.architectures.registry.measure_model`` uses it) against
PyTorch's own ``torch.utils.benchmark.Timer(...).blocked_autorange()`` on ResNet-18, batch
1, 224², in the same process, three rounds alternating; the two should agree within ±15 %.
And the time to count the whole zoo on the meta device, first and cached.
Targets: within ±15 % of torch.utils.benchmark; the zoo's statistics in ≤ 3 s on this CPU.
"""

from __future__ import annotations

import time

import torch
from torch.utils import benchmark

from benchmarks.report import print_table
from core.architectures import registry as arch
from core.runtime.device import describe_device, pick_device
from core.runtime.latency import measure_latency

ROUNDS = 3


def main() -> None:
    device = pick_device()
    torch.manual_seed(0)
    model = arch.get_architecture("resnet18").builder().eval().to(device)
    image = torch.rand(1, 3, 224, 224, device=device)
    rows = []
    with torch.inference_mode():
        for round_index in range(1, ROUNDS + 1):
            ours = measure_latency(lambda: model(image), device, warmup=3, repeats=20).median_s
            timer = benchmark.Timer(
                "model(image)", globals={"model": model, "image": image}, num_threads=torch.get_num_threads()
            )
            theirs = timer.blocked_autorange(min_run_time=1.0).median
            rows.append(
                (
                    round_index,
                    f"{ours * 1e3:.2f}",
                    f"{theirs * 1e3:.2f}",
                    f"{ours / theirs - 1:+.1%}",
                    "yes" if abs(ours / theirs - 1) <= 0.15 else "NO",
                )
            )
    print_table(
        f"ResNet-18, batch 1, 224², {describe_device(device)}: core.runtime.latency against torch.utils.benchmark",
        ("round", "measure_latency ms", "blocked_autorange ms", "difference", "within ±15 %"),
        rows,
    )
    arch.architecture_stats.cache_clear()
    started = time.perf_counter()
    for entry in arch.list_architectures():
        arch.architecture_stats(entry.name)
    first = time.perf_counter() - started
    started = time.perf_counter()
    for entry in arch.list_architectures():
        arch.architecture_stats(entry.name)
    cached = time.perf_counter() - started
    print_table(
        f"The zoo's statistics ({len(arch.list_architectures())} networks, meta device)",
        ("pass", "seconds", "≤ 3 s"),
        [("first", f"{first:.2f}", "yes" if first <= 3 else "NO"), ("cached", f"{cached:.4f}", "yes")],
    )


if __name__ == "__main__":
    main()
