"""The Dockerfile, built and run for real (issue 15).

The image is built from this checkout with no package index: no registry or index is reachable
from a build here, so the base image is Debian bookworm made by ``debootstrap`` and ``docker import``
(once per machine, kept as ``baas-test-base:bookworm``), and the wheels are built on the host
(``pip wheel``) into ``.wheelhouse`` for the image's ``pip install --no-index``.

These tests need Docker (root, a running ``dockerd``) and debootstrap: they fail, never skip, when
something is missing. They are left out of a plain ``pytest`` run (tests/conftest.py); ``.ci/run``
installs what they need and runs them with ``pytest -m container``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.harness import PG_URL
from tests.servers import free_port

pytestmark = pytest.mark.container

ROOT = Path(__file__).resolve().parents[2]
BASE = "baas-test-base:bookworm"
MIRROR = "http://deb.debian.org/debian"
SU = ("root@example.com", "root-password-1")
ADMIN_PG = PG_URL or "postgresql://postgres@127.0.0.1:5432/test"  # what .ci/run sets


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},  # the legacy builder: no buildx here
    )
    if check and r.returncode != 0:
        pytest.fail(f"docker {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def _require_docker() -> None:
    if shutil.which("docker") is None:
        pytest.fail("docker is not installed: apt-get install -y docker.io (then start dockerd as root)")
    if subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode != 0:
        pytest.fail("docker cannot reach its daemon: start it as root (`dockerd &`; .ci/run does)")


def _base_image() -> str:
    """Debian bookworm with Python 3.11 and its venv module, as a local image (made once)."""
    if docker("image", "inspect", BASE, check=False).returncode == 0:
        return BASE
    if shutil.which("debootstrap") is None:
        pytest.fail("debootstrap is not installed: apt-get install -y debootstrap")
    root = Path(f"/tmp/baas-debootstrap-{uuid.uuid4().hex[:8]}")
    try:
        subprocess.run(
            ["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates", "bookworm"]
            + [str(root), MIRROR],
            check=True,
            capture_output=True,
            timeout=900,
        )
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(["docker", "import", "-", BASE], stdin=tar.stdout, capture_output=True, timeout=600)
        tar.wait()
        assert imported.returncode == 0, imported.stderr
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return BASE


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    """This checkout's Dockerfile, built on the local base image from wheels made here."""
    _require_docker()
    base = _base_image()
    wheels = ROOT / ".wheelhouse"
    for cmd in (
        [sys.executable, "-m", "pip", "wheel", "-q", str(ROOT), "-w", str(wheels)],
        # `pip install /src` builds baas itself: its build backend must be in the wheelhouse too.
        [sys.executable, "-m", "pip", "download", "-q", "setuptools>=68", "-d", str(wheels)],
    ):
        subprocess.run(cmd, check=True, capture_output=True, timeout=900)
    tag = f"baas-test:{uuid.uuid4().hex[:10]}"
    docker(
        "build",
        "-q",
        "-t",
        tag,
        "--build-arg",
        f"BASE={base}",
        "--build-arg",
        "PIP_OPTIONS=--no-index --find-links /src/.wheelhouse",
        str(ROOT),
        timeout=900,
    )
    try:
        yield tag
    finally:
        docker("rmi", "-f", tag, check=False)


@dataclass
class Container:
    name: str
    url: str
    volumes: list[str] = field(default_factory=list)

    def state(self) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(docker("inspect", "--format", "{{json .State}}", self.name).stdout)
        return out

    def logs(self) -> str:
        r = docker("logs", self.name, check=False)
        return r.stdout + r.stderr

    def exec(self, *args: str) -> subprocess.CompletedProcess[str]:
        return docker("exec", self.name, *args)

    def wait_healthy(self) -> None:
        """Until Docker's own HEALTHCHECK says healthy (the container exiting fails at once)."""
        for _ in range(1200):
            state = self.state()
            if state["Status"] == "exited":
                pytest.fail(f"{self.name} exited {state['ExitCode']}:\n{self.logs()}")
            if state.get("Health", {}).get("Status") == "healthy":
                return
            time.sleep(0.1)
        pytest.fail(f"{self.name} never became healthy:\n{self.logs()}")

    def token(self) -> str:
        r = httpx.post(
            f"{self.url}/api/collections/_superusers/auth-with-password",
            json={"identity": SU[0], "password": SU[1]},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        token: str = r.json()["token"]
        return token


class Containers:
    """Containers and volumes of one test, removed at its end."""

    def __init__(self, image: str) -> None:
        self.image = image
        self.names: list[str] = []
        self.volumes: list[str] = []

    def volume(self) -> str:
        name = f"baas-test-{uuid.uuid4().hex[:10]}"
        docker("volume", "create", name)
        self.volumes.append(name)
        return name

    def run(
        self, volume: str, *, env: dict[str, str] | None = None, host_network: bool = False, wait: bool = True
    ) -> Container:
        name = f"baas-test-{uuid.uuid4().hex[:10]}"
        port = free_port()
        env = dict(env or {})
        if host_network:  # reaches the host's PostgreSQL on 127.0.0.1; listens on a port of its own
            net = ["--network", "host"]
            env["BAAS_HTTP"] = f"127.0.0.1:{port}"
        else:  # the image's own listen address, published
            net = ["-p", f"127.0.0.1:{port}:8090"]
        args = [f"--env={k}={v}" for k, v in env.items()]
        docker("run", "-d", "--name", name, "-v", f"{volume}:/data", "--health-interval=1s", *net, *args, self.image)
        self.names.append(name)
        c = Container(name, f"http://127.0.0.1:{port}", [volume])
        if wait:
            c.wait_healthy()
        return c

    def close(self) -> None:
        for name in self.names:
            docker("rm", "-f", name, check=False)
        for vol in self.volumes:
            docker("volume", "rm", "-f", vol, check=False)


@pytest.fixture
def containers(image: str) -> Iterator[Containers]:
    c = Containers(image)
    try:
        yield c
    finally:
        c.close()


def _make_notes(c: Container, token: str) -> None:
    r = httpx.post(
        f"{c.url}/api/collections",
        headers={"Authorization": token},
        json={
            "name": "notes",
            "listRule": "",
            "viewRule": "",
            "createRule": "",
            "updateRule": "",
            "deleteRule": "",
            "fields": [{"name": "title", "type": "text", "required": True}],
        },
        timeout=30,
    )
    assert r.status_code == 200, r.text


def _titles(c: Container) -> dict[str, str]:
    out: dict[str, str] = {}
    page = 1
    while True:
        r = httpx.get(f"{c.url}/api/collections/notes/records", params={"page": page, "perPage": 500}, timeout=30)
        assert r.status_code == 200, r.text
        out.update({item["id"]: item["title"] for item in r.json()["items"]})
        if page >= r.json()["totalPages"]:
            return out
        page += 1


def test_runs_healthy_as_non_root_serves_crud_and_keeps_its_data(containers: Containers) -> None:
    vol = containers.volume()
    c = containers.run(vol)
    assert c.exec("id", "-u").stdout.strip() != "0"
    status = c.exec("cat", "/proc/1/status").stdout  # the server itself (PID 1), not only `docker exec`
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    assert "0" not in uids, uids  # real, effective, saved and filesystem uid
    assert c.exec("baas", "superuser", "upsert", *SU).returncode == 0  # BAAS_DIR=/data from the image
    token = c.token()
    _make_notes(c, token)
    ids = []
    for title in ("first", "second", "third"):
        r = httpx.post(f"{c.url}/api/collections/notes/records", json={"title": title}, timeout=30)
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
    r = httpx.patch(f"{c.url}/api/collections/notes/records/{ids[0]}", json={"title": "edited"}, timeout=30)
    assert r.status_code == 200 and r.json()["title"] == "edited", r.text
    assert httpx.delete(f"{c.url}/api/collections/notes/records/{ids[2]}", timeout=30).status_code == 204
    assert _titles(c) == {ids[0]: "edited", ids[1]: "second"}

    docker("rm", "-f", c.name)  # the container goes; the volume stays
    again = containers.run(vol)
    assert _titles(again) == {ids[0]: "edited", ids[1]: "second"}
    again.token()  # the superuser and the install secret came back with the volume


def test_sigterm_under_write_load_loses_no_acknowledged_write(containers: Containers) -> None:
    vol = containers.volume()
    c = containers.run(vol)
    c.exec("baas", "superuser", "upsert", *SU)
    _make_notes(c, c.token())
    acked: list[tuple[str, str]] = []
    lock = threading.Lock()
    enough = threading.Event()

    def write(worker: int) -> None:
        with httpx.Client(base_url=c.url, timeout=30) as http:
            for i in range(100_000):
                title = f"w{worker}-{i}"
                try:
                    r = http.post("/api/collections/notes/records", json={"title": title})
                except httpx.HTTPError:
                    return  # the server stopped: this write was never acknowledged
                if r.status_code != 200:
                    return
                with lock:
                    acked.append((r.json()["id"], title))
                    if len(acked) >= 200:
                        enough.set()

    writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in writers:
        t.start()
    assert enough.wait(120), "the writers never got 200 writes acknowledged"
    docker("stop", "--time", "30", c.name, timeout=60)  # SIGTERM while the writers go on
    for t in writers:
        t.join(60)
    state = c.state()
    assert state["ExitCode"] == 0 and not state["OOMKilled"], (state, c.logs())  # stopped, not killed
    docker("start", c.name)
    c.wait_healthy()
    stored = _titles(c)
    missing = [(i, t) for i, t in acked if stored.get(i) != t]
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"


def _pg_database() -> tuple[str, str]:
    """A new database on the host's PostgreSQL: (its URL, its name)."""
    name = f"baas_container_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await asyncpg.connect(ADMIN_PG)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return ADMIN_PG.rsplit("/", 1)[0] + "/" + name, name


def _drop_pg_database(name: str) -> None:
    async def drop() -> None:
        conn = await asyncpg.connect(ADMIN_PG)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def test_two_containers_on_one_postgresql_database_share_data_and_tokens(containers: Containers) -> None:
    url, name = _pg_database()
    try:
        a = containers.run(containers.volume(), env={"BAAS_DB": url}, host_network=True)
        b = containers.run(containers.volume(), env={"BAAS_DB": url}, host_network=True)
        a.exec("baas", "superuser", "upsert", *SU)
        token = a.token()  # signed by node a …
        _make_notes(b, token)  # … accepted by node b: no BAAS_SECRET, one secret shared through the database
        for _ in range(100):  # a learns of the collection made through b within a second or so
            if httpx.get(f"{a.url}/api/collections/notes/records", timeout=30).status_code == 200:
                break
            time.sleep(0.1)
        r = httpx.post(f"{a.url}/api/collections/notes/records", json={"title": "on a"}, timeout=30)
        assert r.status_code == 200, r.text
        assert list(_titles(b).values()) == ["on a"]
        # A node that brings another secret refuses to start, saying why.
        c = containers.run(
            containers.volume(), env={"BAAS_DB": url, "BAAS_SECRET": "x" * 40}, host_network=True, wait=False
        )
        for _ in range(600):
            if c.state()["Status"] == "exited":
                break
            time.sleep(0.1)
        assert c.state()["ExitCode"] == 1 and "BAAS_SECRET differs" in c.logs(), c.logs()
    finally:
        containers.close()  # before the drop: the nodes hold connections
        containers.names.clear()
        containers.volumes.clear()
        _drop_pg_database(name)


def _deployment_block() -> str:
    """The shell block of docs/deployment.md that builds and runs the image."""
    text = (ROOT / "docs" / "deployment.md").read_text()
    found = re.search(r"```sh\n(# Build the image.*?docker build -t baas \..*?)```", text, re.S)
    assert found, "docs/deployment.md: the docker block is gone"
    return found.group(1)


def test_the_deployment_docs_commands(image: str) -> None:
    """docs/deployment.md's docker commands, as written, with only what this machine needs
    changed: the build's base image and wheels (no registry or index here), and names and port of
    this test's own (another container may hold `baas` or 8090)."""
    base = _base_image()
    suffix = uuid.uuid4().hex[:8]
    tag, name, volume, port = f"baas-docs-{suffix}", f"baas-docs-{suffix}", f"baas-docs-{suffix}", free_port()
    script = (
        _deployment_block()
        .replace(
            "docker build -t baas .",
            f"docker build -q -t {tag} --build-arg BASE={base} "
            "--build-arg PIP_OPTIONS='--no-index --find-links /src/.wheelhouse' .",
        )
        .replace("--name baas", f"--name {name} --health-interval=1s")
        .replace("-p 8090:8090", f"-p 127.0.0.1:{port}:8090")
        .replace("-v baas_data:/data baas", f"-v {volume}:/data {tag}")
        .replace("docker exec baas ", f"docker exec {name} ")
        .replace("}}' baas)", "}}' " + name + ")")
        .replace("http://localhost:8090/", f"http://127.0.0.1:{port}/")
    )
    # Every name was replaced: nothing runs on (or waits for) the doc's own.
    assert script.count(suffix) >= 7 and " baas)" not in script and "--name baas " not in script, script
    assert "localhost:8090" not in script, script
    try:
        run = subprocess.run(
            [
                "bash",
                "-ec",
                script,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "DOCKER_BUILDKIT": "0"},
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Superuser admin@example.com saved." in run.stdout, run.stdout
        # The schedule is on (the crons API lists the settings' job), the backup is listed, the
        # scrape answered with the request counters.
        assert '"id":"baas.backups"' in run.stdout.replace(" ", "") and '"0 3 * * *"' in run.stdout, run.stdout
        assert re.search(r"^first\.zip\s", run.stdout, re.M), run.stdout
        assert "baas_http_requests_total{" in run.stdout, run.stdout
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/collections/_superusers/auth-with-password",
            json={"identity": "admin@example.com", "password": "a-long-password"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
    finally:
        docker("rm", "-f", name, check=False)
        docker("volume", "rm", "-f", volume, check=False)
        docker("rmi", "-f", tag, check=False)
