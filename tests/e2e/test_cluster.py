"""Two app replicas behind HAProxy, their jobs and the faces page's models on one Ray cluster
(``scripts.cluster``, as ``make cluster`` runs it, with one declared GPU): two Chromium sessions land on different
replicas; each starts a GPU job (U-Net training); one runs, the other shows its place in
the cluster's queue; Stop in one leaves the other alone, which then runs. And a face
enrolled in one session, written by its replica to the shared PostgreSQL database, never
appears in the other session, on the other replica."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import yaml

from scripts.cluster import AFFINITY_COOKIE, Ports, cluster_processes, starter
from tests.cluster.conftest import reduced_serve_config
from tests.e2e.conftest import assert_no_exception, fill_number, open_page, open_tab, screenshot, settled
from tests.e2e.harness import app_env, die_with_parent, free_port
from tests.e2e.test_faces_page import assert_never_seen, enroll_the_example
from tests.models import save_untrained_facenet
from tests.postgres import fresh_database

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]
PAGE = "app_pages/segmentation.py"
FACES = "app_pages/faces.py"


@dataclass(frozen=True)
class Cluster:
    url: str  # HAProxy's
    face_db: str  # the replicas' PostgreSQL database of galleries


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[Cluster]:
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        pytest.fail("HAProxy is not installed (.ci/run installs Debian's haproxy)")
    workdir = tmp_path_factory.mktemp("cluster")
    save_untrained_facenet("facenet_vggface2", directory=workdir / "torch")  # plumbing: who is who is not asked
    ports = Ports(free_port(), free_port(), (free_port(), free_port()))
    with fresh_database(postgres_url) as face_db:
        env = {**app_env(workdir), "CNNLAB_FACE_DB": face_db}
        env.pop("CNNLAB_FACE_DB_SHARED", None)
        serve_config = workdir / "serve.yaml"  # the faces page's models: MTCNN and the encoder's stand-in
        serve_config.write_text(yaml.safe_dump(reduced_serve_config(["mtcnn", "facenet_vggface2"])))
        start = starter(workdir, preexec_fn=die_with_parent)
        with cluster_processes(ports, start, workdir, declared_gpus=1, env=env, serve_config=serve_config):
            yield Cluster(f"http://127.0.0.1:{ports.proxy}", face_db)


def replica_of(context) -> str | None:
    """The replica HAProxy pinned this browser context to, from its affinity cookie."""
    return next((cookie["value"] for cookie in context.cookies() if cookie["name"] == AFFINITY_COOKIE), None)


def session_on_a_replica(browser, url: str, page: str, not_on: str | None = None):
    """A new browser session with ``page`` open, on a replica other than ``not_on`` (a new
    session goes to the next replica in turn, but the turn also moves with any other first
    request, so it may take two)."""
    for _ in range(4):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        open_page(tab, url, page)
        if replica_of(context) not in (None, not_on):
            return context, tab
        context.close()
    raise AssertionError(f"no new session reached a replica other than {not_on}")


def training_tab(browser, url: str, not_on: str | None = None):
    """``session_on_a_replica`` on the Train tab, with 100 epochs set."""
    context, tab = session_on_a_replica(browser, url, PAGE, not_on)
    panel = open_tab(tab, "Train")
    fill_number(tab, panel, "Epochs", "100")
    return context, tab, panel


def test_two_replicas_share_one_gpu_queue_and_stop_apart(browser, cluster):
    cluster_url = cluster.url
    first_context, first, first_panel = training_tab(browser, cluster_url)
    second_context, second, second_panel = training_tab(browser, cluster_url, not_on=replica_of(first_context))
    try:
        assert {replica_of(first_context), replica_of(second_context)} == {"replica1", "replica2"}
        first_panel.get_by_role("button", name="Train", exact=True).click()
        first.get_by_text(re.compile(r"epoch 1 of 100, step \d+")).first.wait_for(timeout=120_000)
        second_panel.get_by_role("button", name="Train", exact=True).click()
        waiting = second.get_by_text("Waiting: 1 job ahead on the cluster's GPUs.")
        waiting.wait_for(timeout=30_000)
        screenshot(second, "cluster_second_replica_waiting")
        first.get_by_role("tabpanel").get_by_role("button", name="Stop").click()
        first.get_by_text("Stopped at epoch").wait_for(timeout=30_000)
        second.get_by_text(re.compile(r"epoch 1 of 100, step \d+")).first.wait_for(timeout=120_000)
        assert second.get_by_text("Stopped at epoch").count() == 0  # the other session's Stop left it running
        settled(first)
        assert_no_exception(first)
        screenshot(first, "cluster_first_replica_stopped")
        second.get_by_role("tabpanel").get_by_role("button", name="Stop").click()
        second.get_by_text("Stopped at epoch").wait_for(timeout=30_000)
        assert_no_exception(second)
    finally:
        first_context.close()
        second_context.close()


def test_a_face_enrolled_on_one_replica_is_in_postgresql_and_never_in_another_session(browser, cluster):
    first, mine = session_on_a_replica(browser, cluster.url, FACES)
    second, theirs = session_on_a_replica(browser, cluster.url, FACES, not_on=replica_of(first))
    try:
        enroll_the_example(mine, cluster.url, "Enrolled On One Replica")
        assert_never_seen(theirs, cluster.url, "Enrolled On One Replica")
        screenshot(theirs, "cluster_gallery_other_replica")
        with psycopg.connect(cluster.face_db) as connection:  # the replica wrote it to the shared database
            names = [name for (name,) in connection.execute("SELECT name FROM faces")]
        assert names == ["Enrolled On One Replica"]
    finally:
        first.close()
        second.close()
