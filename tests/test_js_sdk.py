"""The unmodified official PocketBase JS SDK drives a real ``baas serve`` process.

``tests/js/sdk_flow.mjs`` does the work (auth, collections, records CRUD with filter/sort/expand/
fields, modifiers, batch, error shapes) and asserts every answer; this test starts the server on
a free port (on a fresh PostgreSQL database when ``BAAS_TEST_POSTGRES_URL`` is set), runs the
script and checks it exits 0. Under ``CI=true`` a missing node or ``tests/js/node_modules`` fails
the test instead of skipping it (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_URL, _create_pg_database, _drop_pg_database

JS_DIR = Path(__file__).parent / "js"
EMAIL, PASSWORD = "sdk@example.com", "sdk-password-123"


def _require_node() -> str:
    node = shutil.which("node")
    missing = ("node is not installed" if node is None else
               None if (JS_DIR / "node_modules" / "pocketbase").is_dir() else
               "tests/js/node_modules is missing (run `cd tests/js && npm install`)")
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"JS SDK test cannot run under CI: {missing}")
        pytest.skip(f"JS SDK test skipped: {missing}")
    return node


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _baas(*args: str) -> list[str]:
    exe = shutil.which("baas")
    return [exe, *args] if exe else [sys.executable, "-m", "baas.cli.main", *args]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"baas serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"baas serve did not become healthy in 30s:\n{log.read_text()}")


async def test_official_js_sdk_flow(tmp_path):
    node = _require_node()
    db_url = await _create_pg_database() if PG_URL else ""
    env = {**os.environ, "BAAS_FAST_HASH": "1"}
    data_dir = tmp_path / "data"
    db_args = ["--db", db_url] if db_url else []
    log = tmp_path / "serve.log"
    proc = None
    try:
        subprocess.run(_baas("superuser", "upsert", EMAIL, PASSWORD, "--dir", str(data_dir), *db_args),
                       env=env, check=True, capture_output=True, timeout=60)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with log.open("wb") as out:
            proc = subprocess.Popen(_baas("serve", "--http", f"127.0.0.1:{port}", "--dir", str(data_dir), *db_args),
                                    env=env, stdout=out, stderr=subprocess.STDOUT)
        _wait_healthy(url, proc, log)
        run = subprocess.run([node, str(JS_DIR / "sdk_flow.mjs"), url, EMAIL, PASSWORD], cwd=JS_DIR,
                             env=env, capture_output=True, text=True, timeout=120)
        if run.returncode != 0:
            pytest.fail(f"sdk_flow.mjs exited {run.returncode}\n--- stdout\n{run.stdout}"
                        f"\n--- stderr\n{run.stderr}\n--- server log\n{log.read_text()}", pytrace=False)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if db_url:
            await _drop_pg_database(db_url)
