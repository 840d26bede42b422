"""Face recognition: 1:K search over a large gallery, and the whole pipeline per photo.

Search: 100,000 random unit-length 512-d encodings, one query, the 3 nearest
(``core.faces.recognition.nearest``: one matrix product and a top-k), median of 50; the baseline in the
same process is the textbook NumPy way, ``np.linalg.norm(gallery - query)`` and a full
``argsort``. Target: ≤ 20 ms on the CPU, ≤ 2 ms on a GPU.
Pipeline: MTCNN, crops and encodings of every face of a 1920×1080 photo holding 1 or 5
faces (the astronaut example, pasted), median of 5. The baseline is facenet-pytorch's own
two calls, ``MTCNN(keep_all=True)(image)`` then ``InceptionResnetV1(crops)``. The encoder is
untrained (no weights can be downloaded here); it costs the same as the trained one.
Labs: the census of every triplet (A, P, N) of a gallery of 100 or 200 photos, 4 per
person, as the Labs tab computes it on each rerun (``core.faces.recognition.triplet_census``, median
of 5); the baseline is one ``triplet_terms`` call per triplet, timed once.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from PIL import Image

from benchmarks.report import print_table
from core.faces import recognition as faces
from core.runtime.device import describe_device, pick_device
from core.runtime.examples import example_image
from core.runtime.latency import measure_latency

GALLERY_SIZE = 100_000
WIDTH, HEIGHT = 1920, 1080


def search_rows(device: torch.device) -> list[tuple]:
    generator = torch.Generator().manual_seed(0)
    gallery = torch.nn.functional.normalize(torch.randn(GALLERY_SIZE, faces.EMBEDDING_SIZE, generator=generator), dim=1)
    query = torch.nn.functional.normalize(torch.randn(1, faces.EMBEDDING_SIZE, generator=generator), dim=1)
    gallery_np, query_np = gallery.numpy(), query.numpy()

    def textbook() -> np.ndarray:
        return np.argsort(np.linalg.norm(gallery_np - query_np, axis=1))[:3]

    ours_cpu = measure_latency(lambda: faces.nearest(query, gallery, 3), repeats=50).median_s
    baseline = measure_latency(textbook, repeats=50).median_s
    assert faces.nearest(query, gallery, 3)[1][0].tolist() == textbook().tolist()
    rows = [
        (
            "cpu",
            f"{ours_cpu * 1e3:.2f}",
            f"{baseline * 1e3:.1f}",
            f"{baseline / ours_cpu:.1f}",
            "yes" if ours_cpu <= 0.020 else "NO (target 20 ms)",
        )
    ]
    if device.type == "cuda":
        on_gpu, query_gpu = gallery.to(device), query.to(device)
        ours_gpu = measure_latency(lambda: faces.nearest(query_gpu, on_gpu, 3), device, warmup=5, repeats=50).median_s
        rows.append(
            (
                describe_device(device),
                f"{ours_gpu * 1e3:.3f}",
                f"{baseline * 1e3:.1f}",
                f"{baseline / ours_gpu:.0f}",
                "yes" if ours_gpu <= 0.002 else "NO (target 2 ms)",
            )
        )
    return rows


def photo_with_faces(count: int) -> np.ndarray:
    """A 1920×1080 RGB photo: the astronaut pasted ``count`` times side by side."""
    canvas = Image.new("RGB", (WIDTH, HEIGHT), (90, 90, 100))
    side = min(HEIGHT, WIDTH // count)
    astronaut = Image.fromarray(example_image("astronaut")).resize((side, side))
    for index in range(count):
        canvas.paste(astronaut, (index * (WIDTH // count) + (WIDTH // count - side) // 2, (HEIGHT - side) // 2))
    return np.asarray(canvas)


def pipeline_rows(device: torch.device) -> list[tuple]:
    from facenet_pytorch import MTCNN, InceptionResnetV1

    detector = faces.new_detector(device)
    library_detector = MTCNN(keep_all=True, device=device).eval()
    encoder = InceptionResnetV1().eval().to(device)
    rows = []
    for count in (1, 5):
        image = photo_with_faces(count)

        def ours() -> torch.Tensor:
            found = faces.detect_faces(image, detector)
            return faces.embed_faces(faces.align_faces(image, found), encoder, device)

        def library() -> torch.Tensor:
            with torch.inference_mode():
                crops = library_detector(image)
                return encoder(crops.to(device)).cpu()

        found = len(faces.detect_faces(image, detector))
        ours_s = measure_latency(ours, device, warmup=1, repeats=5).median_s
        library_s = measure_latency(library, device, warmup=1, repeats=5).median_s
        rows.append(
            (
                f"{count} pasted, {found} found",
                f"{ours_s * 1e3:.0f}",
                f"{library_s * 1e3:.0f}",
                f"{library_s / ours_s:.2f}",
            )
        )
    return rows


def labs_rows() -> list[tuple]:
    rows = []
    for photos in (100, 200):
        generator = torch.Generator().manual_seed(photos)
        people = torch.nn.functional.normalize(
            torch.randn(photos // 4, faces.EMBEDDING_SIZE, generator=generator), dim=1
        )
        noisy = people.repeat_interleave(4, dim=0) + 0.05 * torch.randn(
            photos, faces.EMBEDDING_SIZE, generator=generator
        )
        encodings = torch.nn.functional.normalize(noisy, dim=1)
        names = [f"person {row // 4}" for row in range(photos)]

        def one_call_per_triplet() -> list[faces.TripletTerms]:
            return [
                faces.triplet_terms(encodings[a], encodings[p], encodings[n])
                for a in range(photos)
                for p in range(photos)
                for n in range(photos)
                if a != p and names[a] == names[p] and names[n] != names[a]
            ]

        ours_s = measure_latency(lambda: faces.triplet_census(encodings, names), warmup=1, repeats=5).median_s
        started = time.perf_counter()
        every = one_call_per_triplet()
        baseline_s = time.perf_counter() - started
        census = faces.triplet_census(encodings, names)
        assert census.count == len(every) and census.hard == sum(terms.kind == "hard" for terms in every)
        rows.append(
            (
                photos,
                f"{census.count:,}",
                f"{ours_s * 1e3:.0f}",
                f"{baseline_s * 1e3:,.0f}",
                f"{baseline_s / ours_s:.0f}",
            )
        )
    return rows


def main() -> None:
    device = pick_device()
    print_table(
        f"1:K search, {GALLERY_SIZE:,} encodings of 512, top 3 (median of 50; baseline: NumPy norm + argsort, CPU)",
        ("device", "ours ms", "baseline ms", "× faster", "target met"),
        search_rows(device),
    )
    print_table(
        f"MTCNN + crops + encodings of every face, {WIDTH}×{HEIGHT}, {describe_device(device)} (median of 5; "
        "baseline: facenet-pytorch's MTCNN(image) then InceptionResnetV1)",
        ("faces", "ours ms", "library ms", "library / ours"),
        pipeline_rows(device),
    )
    print_table(
        "Triplet census of a gallery, 4 photos per person, CPU (median of 5; baseline: one triplet_terms per triplet)",
        ("photos", "triplets", "ours ms", "baseline ms", "× faster"),
        labs_rows(),
    )


if __name__ == "__main__":
    main()
