"""core.runtime.weights: the registry matches the libraries, status never touches the network,
downloads fail fast and cleanly, and each entry loads through its library's real path
from the exact cache file (an untrained network's state written there: plumbing, not accuracy)."""

from __future__ import annotations

import dataclasses
import http.server
import inspect
import pickle
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from core.runtime import weights
from core.runtime.examples import example_image
from core.runtime.weights import REGISTRY, ModelUnavailable, download, get_weights, load_pretrained
from tests.models import (
    save_untrained_facenet,
    save_untrained_torchvision,
    save_untrained_yolo,
    save_untrained_yolo_onnx,
)

TORCHVISION = [name for name, entry in REGISTRY.items() if entry.library == "torchvision"]
# The classifiers all load through one call (get_model with their enum); the load test writes
# a small one and the two whose builders treat their auxiliary heads specially, not 2 GB of states.
LOADED_TORCHVISION = [name for name in TORCHVISION if name not in weights.CLASSIFIERS] + [
    "mobilenet_v3_small",
    "googlenet",
    "inception_v3",
]
ULTRALYTICS = [name for name, entry in REGISTRY.items() if entry.library == "ultralytics"]
FACENET = [name for name, entry in REGISTRY.items() if entry.library == "facenet-pytorch" and not entry.bundled]


def test_the_planned_weights_are_registered():
    assert set(REGISTRY) == {
        *(f"yolo{family}{size}{task}" for family in ("11", "26") for size in "nsmlx" for task in ("", "-seg", "-pose")),
        "vgg19",
        "fasterrcnn_resnet50_fpn",
        "deeplabv3_mobilenet_v3_large",
        "facenet_vggface2",
        "facenet_casia",
        "mtcnn",
        "fast_style",
        "unet_shapes",
        "lenet5_digits",
        "digits_0to4",
        *weights.CLASSIFIERS,
    }
    for entry in REGISTRY.values():
        assert entry.title and entry.license and entry.trained_on and entry.topics and entry.size_mb > 0


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_entries_match_the_library_enum(name):
    from torchvision.models import get_model_builder, get_weight

    entry = get_weights(name)
    enum = get_weight(entry.pretrained_tag)
    assert entry.url == enum.url
    assert entry.size_mb == pytest.approx(enum.meta["_file_size"], abs=0.1)
    get_model_builder(entry.builder)  # raises if the builder name is wrong


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_cache_path_is_torch_hub(name, caches):
    entry = get_weights(name)
    assert entry.cache_path() == Path(torch.hub.get_dir()) / "checkpoints" / entry.file_name


@pytest.mark.parametrize("name", FACENET)
def test_facenet_entries_match_what_facenet_downloads(name, caches, monkeypatch):
    import facenet_pytorch.models.inception_resnet_v1 as facenet

    requested = {}

    def record(url: str, path: str) -> None:
        requested.update(url=url, path=Path(path))
        raise ConnectionAbortedError("recorded")

    monkeypatch.setattr(facenet, "download_url_to_file", record)
    entry = get_weights(name)
    with pytest.raises(ConnectionAbortedError):
        facenet.InceptionResnetV1(pretrained=entry.pretrained_tag)
    assert requested == {"url": entry.url, "path": entry.cache_path()}


def test_ultralytics_urls_are_its_release_assets():
    from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES, attempt_download_asset

    release = inspect.signature(attempt_download_asset).parameters["release"].default
    for name in ULTRALYTICS:
        entry = get_weights(name)
        assert entry.file_name in GITHUB_ASSETS_NAMES
        assert entry.url == f"https://github.com/ultralytics/assets/releases/download/{release}/{entry.file_name}"


@pytest.mark.parametrize("name", ULTRALYTICS)
def test_ultralytics_sizes_match_two_bytes_per_parameter(name):
    from ultralytics import YOLO

    entry = get_weights(name)
    parameters = sum(p.numel() for p in YOLO(entry.file_name.replace(".pt", ".yaml")).model.parameters())
    assert entry.size_mb == pytest.approx(2 * parameters / 1e6, rel=0.08)


def test_status_reads_only_the_disk(caches, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a status check opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    rows = {row["Name"]: row for row in weights.status_rows()}
    assert rows["yolo11n"]["Status"] == "not cached"
    assert rows["mtcnn"]["Status"] == rows["fast_style"]["Status"] == "bundled"
    assert rows["vgg19"]["Path"] == str(get_weights("vgg19").cache_path())
    path = get_weights("yolo11n").cache_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"weights")
    assert {row["Name"]: row for row in weights.status_rows()}["yolo11n"]["Status"] == "cached"


# -- downloads against a loopback server -------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""
    stall_s = 0.0
    status = 200

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.stall_s:
            time.sleep(self.stall_s)
            return
        if self.status != 200:
            self.send_error(self.status)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()
    httpd.server_close()


def _point(monkeypatch, name: str, url: str) -> weights.PretrainedWeights:
    entry = dataclasses.replace(get_weights(name), url=url)
    monkeypatch.setitem(REGISTRY, name, entry)
    return entry


def test_download_writes_the_file_and_reports_progress(caches, server, monkeypatch):
    base, handler = server
    handler.body = bytes(range(256)) * 10_000
    entry = _point(monkeypatch, "yolo11n", f"{base}/yolo11n.pt")
    seen = []
    path = download("yolo11n", progress=lambda done, total: seen.append((done, total)))
    assert path == entry.cache_path() and path.read_bytes() == handler.body
    assert seen[-1] == (len(handler.body), len(handler.body))
    assert list(path.parent.glob("*.part")) == []


def test_download_rejects_a_file_whose_hash_does_not_match(caches, server, monkeypatch):
    base, handler = server
    handler.body = b"not the real vgg19"
    entry = _point(monkeypatch, "vgg19", f"{base}/vgg19-dcbb9e9d.pth")
    with pytest.raises(ModelUnavailable, match="damaged"):
        download("vgg19")
    assert not entry.cache_path().exists()
    assert list(entry.cache_path().parent.glob("*")) == []


def test_a_server_that_never_answers_fails_within_the_timeout(caches, server, monkeypatch):
    base, handler = server
    handler.stall_s = 5.0
    _point(monkeypatch, "yolo11s", f"{base}/yolo11s.pt")
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match="cannot reach 127.0.0.1"):
        download("yolo11s", timeout=1.0)
    assert time.monotonic() - started < 4.0
    assert weights.DOWNLOAD_TIMEOUT_S <= 10


def test_unreachable_host_says_how_to_get_the_file(caches, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    entry = _point(monkeypatch, "facenet_vggface2", f"http://127.0.0.1:{closed_port}/20180402-114759-vggface2.pt")
    with pytest.raises(ModelUnavailable) as raised:
        load_pretrained("facenet_vggface2")
    message = str(raised.value)
    assert message.startswith(f"{entry.title} was not downloaded: this server cannot reach 127.0.0.1")
    assert "Errno" not in message and str(entry.cache_path()) in message and entry.url in message


def test_a_missing_file_on_the_server_and_a_full_disk_are_told_apart(caches, server, monkeypatch):
    base, handler = server
    handler.status = 404
    entry = _point(monkeypatch, "yolo11n", f"{base}/yolo11n.pt")
    with pytest.raises(ModelUnavailable, match="127.0.0.1 answered 404"):
        download("yolo11n")
    handler.status = 200
    entry.cache_path().parent.rmdir()  # left empty by the failed download
    entry.cache_path().parent.write_text("a file where the cache folder should be")
    with pytest.raises(ModelUnavailable, match=f"could not be saved to {entry.cache_path().parent}"):
        download("yolo11n")


def test_unknown_names_list_the_registry():
    with pytest.raises(KeyError, match="yolo11n"):
        get_weights("resnet9000")


# -- the real loading paths ----------------------------------------------------------------


def _assert_same_parameters(loaded: torch.nn.Module, saved: dict[str, torch.Tensor]) -> None:
    state = loaded.state_dict()
    # GoogLeNet's builder loads its auxiliary classifiers with the file, then drops them
    assert set(state) <= set(saved) and all(key.startswith(("aux1.", "aux2.")) for key in set(saved) - set(state))
    for key in list(state)[:: max(1, len(state) // 12)]:
        torch.testing.assert_close(state[key], saved[key])


@pytest.mark.slow
@pytest.mark.parametrize("name", LOADED_TORCHVISION)
def test_torchvision_weights_load_from_the_hub_cache(name, caches):
    entry = get_weights(name)
    saved = save_untrained_torchvision(name)
    assert entry.is_cached()
    model = load_pretrained(name)
    assert not model.training
    _assert_same_parameters(model, saved)


@pytest.mark.parametrize("name", ["yolo11n", "yolo11n-seg"])
def test_yolo_weights_load_from_the_ultralytics_weights_dir(name, caches):
    from ultralytics import YOLO

    entry = get_weights(name)
    untrained = YOLO(entry.file_name.replace(".pt", ".yaml"))
    entry.cache_path().parent.mkdir(parents=True)
    untrained.save(entry.cache_path())
    # ultralytics checkpoints hold float16 weights: compare with that rounding.
    saved = {
        key: value.half().float() if value.is_floating_point() else value.clone()
        for key, value in untrained.model.state_dict().items()
    }
    model = load_pretrained(name)
    assert model.task == ("segment" if name.endswith("-seg") else "detect")
    assert len(model.names) == 80
    _assert_same_parameters(model.model, saved)


@pytest.mark.parametrize("name", FACENET)
def test_facenet_weights_load_from_torch_home(name, caches):
    saved = save_untrained_facenet(name)
    model = load_pretrained(name)
    assert not model.training
    _assert_same_parameters(model, saved)
    with torch.inference_mode():
        embedding = model(torch.rand(2, 3, 160, 160))
    assert embedding.shape == (2, 512)
    torch.testing.assert_close(embedding.norm(dim=1), torch.ones(2))


def test_bundled_mtcnn_finds_the_astronauts_face():
    from core.runtime.examples import example_image

    assert get_weights("mtcnn").is_cached()
    detector = load_pretrained("mtcnn")
    boxes, probabilities = detector.detect(example_image("astronaut"))
    assert boxes is not None and len(boxes) == 1 and probabilities[0] > 0.95
    nothing, _ = detector.detect(example_image("coffee"))
    assert nothing is None


# -- the command line ----------------------------------------------------------------------


def test_cli_status_prints_every_entry(caches, capsys):
    assert weights.main(["status"]) == 0
    printed = capsys.readouterr().out
    for name, entry in REGISTRY.items():
        assert name in printed and str(entry.cache_path()) in printed


def test_cli_download_failure_exits_non_zero_with_the_hint(caches, monkeypatch, capsys):
    _point(monkeypatch, "yolo11n", "http://127.0.0.1:9/yolo11n.pt")
    assert weights.main(["download", "yolo11n"]) == 1
    assert "make weights" in capsys.readouterr().err


def test_cli_rejects_unknown_names(capsys):
    with pytest.raises(SystemExit) as raised:
        weights.main(["download", "nope"])
    assert raised.value.code == 2


# -- the operator's own models ------------------------------------------------------------------


def test_the_operators_models_are_read_from_their_folder_and_load(caches, monkeypatch, tmp_path):
    folder = tmp_path / "models"
    assert weights.custom_models() == []  # unset: none
    monkeypatch.setenv(weights.MODELS_DIR_ENV, str(folder))
    assert weights.custom_models() == []  # not a folder yet: none
    save_untrained_yolo("yolo11n", class_logit=2.0, directory=folder)
    (folder / "yolo11n.pt").rename(folder / "mine.pt")
    (folder / "notes.txt").write_text("not a model")
    entry = get_weights("custom:mine.pt")
    assert [e.name for e in weights.custom_models()] == ["custom:mine.pt"]
    assert entry.library == "operator" and entry.is_cached() and entry.cache_path() == folder / "mine.pt"
    row = {row["Name"]: row for row in weights.status_rows()}["custom:mine.pt"]
    assert row["Status"] == "the operator's" and row["File"] == "mine.pt"
    model = load_pretrained("custom:mine.pt")
    found = model.predict(example_image("coffee"), verbose=False, max_det=2)[0]
    assert len(found.boxes) == 2  # the untrained head with raised biases: plumbing
    (folder / "mine.pt").unlink()
    with pytest.raises(KeyError, match="custom:mine.pt"):
        get_weights("custom:mine.pt")


def test_an_operators_onnx_model_loads_through_onnx_runtime_at_its_own_input_size(caches, monkeypatch, tmp_path):
    save_untrained_yolo_onnx(tmp_path, "counter.onnx", imgsz=320)
    monkeypatch.setenv(weights.MODELS_DIR_ENV, str(tmp_path))
    assert [e.name for e in weights.custom_models()] == ["custom:counter.onnx"]
    model = load_pretrained("custom:counter.onnx")
    found = model.predict(example_image("coffee"), imgsz=640, verbose=False, max_det=3)[0]  # a fixed-size export
    assert len(found.boxes) == 3 and found.orig_shape == example_image("coffee").shape[:2]
    assert found.boxes.xyxy.max() <= max(found.orig_shape)  # boxes mapped back to the photo's own pixels


def test_a_shared_model_travels_by_name_and_a_session_model_whole():
    model = load_pretrained("unet_shapes")
    shared = weights.SharedModel("unet_shapes", model)
    assert shared() is model  # where it was made: the process's own instance
    sent = pickle.dumps(shared)
    assert len(sent) < 300  # the name alone, not 1.9 million parameters
    arrived = pickle.loads(sent)
    assert arrived.name == "unet_shapes" and arrived() is not model and type(arrived()) is type(model)
    assert pickle.loads(sent)() is arrived()  # loaded once per process
    trained_here = weights.SharedModel(None, model)
    copied = pickle.loads(pickle.dumps(trained_here))()
    assert copied is not model
    assert all(torch.equal(a, b) for a, b in zip(copied.state_dict().values(), model.state_dict().values()))
