"""core.runtime.budget: the job budget and its refusal, and each job's memory estimate against the
peak measured in a fresh process (the resident set's growth on Linux). The stated factor:
the estimate is never below the measured peak and at most 2.5 times it, for jobs large
enough that the estimate exceeds 300 MB (below that the process's fixed costs dominate)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from core.runtime.budget import DEFAULT_JOB_MEMORY_MB, MB, MemoryEstimate, TooLarge, activation_values, check_fits

ROOT = Path(__file__).resolve().parents[2]
FACTOR = 2.5
JOBS = {
    "U-Net training, 200 images of 128², batch 32": """
        from core import segmentation as seg
        config = seg.TrainingConfig(epochs=1, train_images=200, image_size=128, batch_size=32)
        estimate = seg.training_memory(config).total
        with PeakMemory(torch.device("cpu")) as peak:
            model = seg.new_model(config)
            for progress in seg.train(model, seg.TrainingData.make(config), config, torch.device("cpu")):
                if progress.step >= 5:
                    break
        """,
    "transfer, ResNet-18 fine-tuned on 40 photos, batch 16": """
        import numpy as np
        from torchvision.models import resnet18
        from core.transfer import regimes as transfer
        generator = np.random.default_rng(0)
        photos = [(generator.integers(0, 256, (256, 256, 3), dtype=np.uint8), i % 2) for i in range(40)]
        backbone = transfer.BACKBONES["resnet18"]
        settings = transfer.TrainingSettings(regimes=("all",), epochs=1, batch_size=16)
        estimate = transfer.training_memory(backbone, len(photos), settings.batch_size)
        with PeakMemory(torch.device("cpu")) as peak:
            for _ in transfer.train_regimes(backbone, resnet18(), photos[:32], photos[32:], 2, settings):
                pass
        """,
    "style transfer, 512 px with style scale 2": """
        import numpy as np
        from torchvision.models import vgg19
        from core.style import neural_style as style
        config = style.StyleConfig(iterations=3, image_size=512, style_scale=2.0)
        content, painting = np.zeros((300, 400, 3), np.uint8), np.zeros((400, 400, 3), np.uint8)
        extractor = style.VGGFeatures(style.vgg19_features(vgg19()), config.layers)
        estimate = style.transfer_memory(config, content.shape[:2], [painting.shape[:2]]).total
        with PeakMemory(torch.device("cpu")) as peak:
            for _ in style.transfer(extractor, style.to_tensor(content, 512), [(style.to_tensor(painting, 1024), 1.0)],
                                    config):
                pass
        """,
    "zoo latency, ResNet-50 at batch 32": """
        from core.architectures import registry as arch
        estimate = arch.inference_memory_estimate("resnet50", 32)
        peak = arch.measure_model("resnet50", "cpu", batch=32, repeats=2).peak_bytes
        """,
}


def measured(job: str) -> tuple[int, int]:
    """(estimate, measured peak) in bytes, from a fresh process."""
    code = "import torch\nfrom core.runtime.budget import PeakMemory\ntorch.set_num_threads(2)\n" + textwrap.dedent(job)
    code += "\nprint(estimate, peak if isinstance(peak, int) else peak.bytes)\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    estimate, peak = map(int, done.stdout.split()[-2:])
    return estimate, peak


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the resident set from /proc")
@pytest.mark.parametrize("job", list(JOBS))
def test_each_estimate_covers_the_measured_peak_within_the_stated_factor(job):
    estimate, peak = measured(JOBS[job])
    assert estimate > 300 * MB
    assert peak <= estimate <= FACTOR * peak, f"{job}: estimate {estimate / MB:.0f} MB, measured {peak / MB:.0f} MB"


def test_a_job_beyond_the_budget_is_refused_naming_the_setting(monkeypatch):
    monkeypatch.delenv("CNNLAB_JOB_MEMORY_MB", raising=False)
    check_fits(DEFAULT_JOB_MEMORY_MB * MB, "A job at the budget", "nothing")
    estimate = MemoryEstimate({"the batch size": 5_000 * MB, "the number of images": 2_000 * MB})
    with pytest.raises(TooLarge) as refused:
        check_fits(estimate.total, "This job", estimate.largest)
    assert str(refused.value) == (
        "This job would need about 7,000 MB of memory; one job may use 6,000 MB on this server "
        "(CNNLAB_JOB_MEMORY_MB). Lower the batch size."
    )
    monkeypatch.setenv("CNNLAB_JOB_MEMORY_MB", "8000")
    check_fits(estimate.total, "This job", estimate.largest)


def test_activation_values_count_every_layer_output_without_allocating():
    with torch.device("meta"):
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
    assert activation_values(model, (3, 16, 16)) == [8 * 16 * 16, 8 * 16 * 16, 8 * 8 * 8]
