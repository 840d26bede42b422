"""CNN Lab on one machine as a cluster would run it: a Ray head with the model server on it
(``serve.yaml``), app replicas that send their jobs and model calls to it, and HAProxy in
front of them with cookie-based session affinity.

    .venv/bin/python -m scripts.cluster start     # make cluster: http://127.0.0.1:8501
    .venv/bin/python -m scripts.cluster stop      # make cluster-stop

Streamlit keeps a session in one server process (its WebSocket, its uploads), so the proxy
pins each browser to the replica that served its first request, with a cookie it adds
(``CNNLAB_REPLICA``), and passes WebSockets through. Every replica joins the same Ray
cluster (``CNNLAB_RAY_ADDRESS``), so the jobs of all users wait in one queue per GPU. The
processes' ids are kept in ``.cluster/processes.json`` for ``stop``; their logs beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_DIR = ROOT / ".cluster"
AFFINITY_COOKIE = "CNNLAB_REPLICA"
SERVE_CONFIG = ROOT / "serve.yaml"
SERVE_WAIT_S = 300


def haproxy_config(port: int, replica_ports: Sequence[int]) -> str:
    """HAProxy in front of the replicas: round robin for a browser's first request, then the
    replica its cookie names; WebSocket tunnels held open for an hour of quiet."""
    servers = "\n".join(
        f"  server replica{number} 127.0.0.1:{replica} cookie replica{number} check"
        for number, replica in enumerate(replica_ports, start=1)
    )
    return f"""global
  maxconn 1024

defaults
  mode http
  timeout connect 5s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h

frontend cnnlab
  bind 127.0.0.1:{port}
  default_backend replicas

backend replicas
  balance roundrobin
  option httpchk GET /_stcore/health
  cookie {AFFINITY_COOKIE} insert indirect nocache httponly
{servers}
"""


@dataclass(frozen=True)
class Ports:
    """Where each part listens: the proxy, Ray's head (GCS), and the replicas."""

    proxy: int
    ray: int
    replicas: tuple[int, ...]


def ray_head_command(port: int, declared_gpus: int | None) -> list[str]:
    """``ray start --head`` in the foreground: the cluster ends with this process."""
    command = [str(Path(sys.executable).with_name("ray")), "start", "--head", f"--port={port}", "--block"]
    command += ["--include-dashboard=false", "--disable-usage-stats"]
    if declared_gpus is not None:  # a test's cluster: GPUs to schedule by, without one
        command += [f"--num-gpus={declared_gpus}", "--num-cpus=2"]
    return command


def replica_command(port: int, script: Path | None = None) -> list[str]:
    """``streamlit run`` of the app (or ``script``) on loopback at ``port``."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script or ROOT / "streamlit_app.py"),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
    ]


Start = Callable[[str, list[str], dict[str, str]], subprocess.Popen]


def wait_until(ready: Callable[[], bool], what: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.3)
    raise TimeoutError(f"{what} did not come up within {timeout_s:.0f} s")


def answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def ray_head_up(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def serve_deploy_command(ray_port: int, config: Path) -> list[str]:
    """Deploy the model server of ``config`` on the head at ``ray_port``, returning once it is up."""
    return [sys.executable, "-m", "core.cluster.serving", "deploy", "--address", f"127.0.0.1:{ray_port}"] + [
        "--config",
        str(config),
        "--wait",
        str(SERVE_WAIT_S),
    ]


@contextmanager
def cluster_processes(
    ports: Ports,
    start: Start,
    run_dir: Path,
    declared_gpus: int | None = None,
    env: dict[str, str] | None = None,
    serve_config: Path = SERVE_CONFIG,
) -> Iterator[dict[str, subprocess.Popen]]:
    """The Ray head with the model server of ``serve_config`` on it, the replicas and HAProxy,
    started with ``start(name, command, env)``; up and answering when the block begins, all
    stopped when it ends."""
    run_dir.mkdir(parents=True, exist_ok=True)
    config = run_dir / "haproxy.cfg"
    config.write_text(haproxy_config(ports.proxy, ports.replicas))
    # Ray's token authentication, its token in ~/.ray/auth_token, for the head and every replica
    base = {**os.environ, **(env or {}), "CNNLAB_RAY_ADDRESS": f"127.0.0.1:{ports.ray}", "RAY_AUTH_MODE": "token"}
    processes: dict[str, subprocess.Popen] = {}
    try:
        processes["ray"] = start("ray", ray_head_command(ports.ray, declared_gpus), base)
        wait_until(lambda: ray_head_up(ports.ray), "Ray's head")
        processes["serve"] = start("serve", serve_deploy_command(ports.ray, serve_config), base)
        for number, port in enumerate(ports.replicas, start=1):
            processes[f"replica{number}"] = start(f"replica{number}", replica_command(port), base)
        processes["haproxy"] = start("haproxy", ["/usr/sbin/haproxy", "-db", "-f", str(config)], base)
        for port in ports.replicas:
            wait_until(lambda port=port: answers(f"http://127.0.0.1:{port}/_stcore/health"), f"the replica on {port}")
        wait_until(lambda: answers(f"http://127.0.0.1:{ports.proxy}/_stcore/health"), "HAProxy")
        if processes["serve"].wait(timeout=SERVE_WAIT_S + 30) != 0:
            raise RuntimeError(f"The model server did not deploy: see {run_dir / 'serve.log'}")
        del processes["serve"]  # deployed: that command has ended
        yield processes
    finally:  # the proxy and the replicas first, Ray's head (and with it its workers) last
        stop_processes(list(reversed(processes.values())))


def stop_processes(processes: Sequence[subprocess.Popen]) -> None:
    """SIGTERM to each process's group, in the order given, then SIGKILL to any still there
    after 20 s."""
    for process in processes:
        _signal_group(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _signal_group(pid: int, sign: signal.Signals) -> None:
    try:
        os.killpg(pid, sign)
    except ProcessLookupError:
        pass


def starter(run_dir: Path, preexec_fn: Callable[[], None] | None = None) -> Start:
    """Starts each part in a session (and process group) of its own, logging to
    ``run_dir/<name>.log``; ``preexec_fn`` runs in it first (a test's: die with the test)."""

    def start(name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (run_dir / f"{name}.log").open("w")
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec_fn,
        )

    return start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--port", type=int, default=8501, help="where HAProxy serves the app")
    parser.add_argument("--replicas", type=int, default=2)
    options = parser.parse_args(argv)
    record = RUN_DIR / "processes.json"
    if options.action == "stop":
        if not record.exists():
            print("No cluster is running from this checkout.")
            return 0
        pids = json.loads(record.read_text())
        for pid in sorted(pids.values(), key=lambda pid: pid == pids.get("ray")):
            _signal_group(pid, signal.SIGTERM)
        try:  # Ray's head drains its workers for up to 30 s
            wait_until(lambda: not any(_alive(pid) for pid in pids.values()), "the end of every part", 40)
        except TimeoutError:
            for pid in pids.values():
                _signal_group(pid, signal.SIGKILL)
        record.unlink()
        print(f"Stopped {', '.join(pids)}.")
        return 0
    if record.exists():
        print(f"A cluster is already running ({record}); stop it with `make cluster-stop`.", file=sys.stderr)
        return 1
    ports = Ports(options.port, 6379, tuple(options.port + number for number in range(1, options.replicas + 1)))
    with cluster_processes(ports, starter(RUN_DIR), RUN_DIR) as processes:
        record.write_text(json.dumps({name: process.pid for name, process in processes.items()}))
        print(f"CNN Lab on http://127.0.0.1:{ports.proxy} ({options.replicas} replicas, Ray at 127.0.0.1:{ports.ray}).")
        print("Stop it with `make cluster-stop`.")
        processes.clear()  # started for good: they keep running after this command
    return 0


if __name__ == "__main__":
    sys.exit(main())
