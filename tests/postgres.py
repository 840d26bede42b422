"""A throw-away PostgreSQL server for the tests: Debian's binaries, a data folder in /tmp,
a Unix socket only (no TCP port), trust authentication for one role; started once per test
session and stopped at its end, also when a test fails. Without PostgreSQL installed the
tests that need it skip, except under ``CI=true``, where they fail."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PORT = 5432  # of the socket file's name only: nothing listens on TCP


def server_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda path: int(path.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as Debian's ``postgres`` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server() -> Iterator[str]:
    """A running server; yields the URL of its ``postgres`` database."""
    binaries = server_binaries()
    if binaries is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not installed (.ci/run installs Debian's postgresql)")
        pytest.skip("needs PostgreSQL (Debian's postgresql package)")
    folder = Path(tempfile.mkdtemp(prefix="cnnlab-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    run = dict(check=True, capture_output=True, text=True, timeout=60)
    subprocess.run(_as_server_user([str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "cnnlab"]), **run)
    options = f"-c listen_addresses='' -k {folder} -p {PORT}"
    log = folder / "server.log"  # the server's output: a pipe would keep pg_ctl's caller waiting
    start = [str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]
    subprocess.run(_as_server_user(start), **run)
    try:
        yield f"postgresql://cnnlab@/postgres?host={folder}&port={PORT}"
    finally:
        subprocess.run(
            _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server at ``server_url``, dropped afterwards; its URL."""
    import uuid

    import psycopg

    name = f"cnnlab_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield server_url.replace("/postgres?", f"/{name}?", 1)
    finally:
        with psycopg.connect(server_url, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
