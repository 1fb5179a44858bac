"""Real processes on one database for the event tests: ``baas serve`` (several, granian workers
too) and ``baas events tail``, each in its own process group so a test can SIGKILL the lot."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.servers import baas_cmd, free_port

SU = ("root@example.com", "root-password-1")
ENV = {**os.environ, "BAAS_FAST_HASH": "1"}


@dataclass
class Data:
    """One data dir and database shared by every process of a test."""

    dir: Path
    db_args: list[str]
    procs: list[subprocess.Popen] = field(default_factory=list)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            baas_cmd(*args, "--dir", str(self.dir), *self.db_args),
            env=ENV,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def spawn(self, name: str, *args: str) -> tuple[subprocess.Popen, Path, Path]:
        out, err = self.dir.parent / f"{name}.out", self.dir.parent / f"{name}.err"
        with out.open("wb") as o, err.open("wb") as e:
            proc = subprocess.Popen(
                baas_cmd(*args, "--dir", str(self.dir), *self.db_args),
                env=ENV,
                stdout=o,
                stderr=e,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc, out, err

    def serve(self, name: str, *args: str) -> tuple[subprocess.Popen, str]:
        port = free_port()
        proc, _, err = self.spawn(name, "serve", "--http", f"127.0.0.1:{port}", *args)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _healthy(url, proc, err), 60, f"{name} did not start")
        return proc, url

    def tail(self, name: str, *args: str) -> tuple[subprocess.Popen, Path]:
        """``baas events tail`` in the background, ready (subscribed or registered) on return."""
        proc, out, err = self.spawn(name, "events", "tail", *args)
        wait_until(lambda: _ready(proc, err), 60, f"{name} did not start")
        return proc, out

    def close(self) -> None:
        for proc in self.procs:
            kill(proc, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                kill(proc, signal.SIGKILL)
                proc.wait()


def kill(proc: subprocess.Popen, sig: int) -> None:
    """Signal the process and everything it started (granian's workers)."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _healthy(url: str, proc: subprocess.Popen, err: Path) -> bool:
    if proc.poll() is not None:
        raise AssertionError(f"server exited with {proc.returncode}:\n{err.read_text(errors='replace')}")
    try:
        return httpx.get(f"{url}/api/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _ready(proc: subprocess.Popen, err: Path) -> bool:
    text = err.read_text(errors="replace") if err.exists() else ""
    if proc.poll() is not None and "listening" not in text and "consumer" not in text:
        raise AssertionError(f"events tail exited with {proc.returncode}:\n{text}")
    return "listening after event" in text or "consumer " in text


def wait_until(pred: Callable[[], Any], timeout: float, message: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.05)


def lines(path: Path) -> list[dict[str, Any]]:
    """The JSON events a tail printed (complete lines only)."""
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]


def superuser_token(url: str) -> str:
    r = httpx.post(
        f"{url}/api/collections/_superusers/auth-with-password", json={"identity": SU[0], "password": SU[1]}, timeout=30
    )
    assert r.status_code == 200, r.text
    return r.json()["token"]


def create_feed(url: str, token: str) -> None:
    r = httpx.post(
        f"{url}/api/collections",
        headers={"Authorization": token},
        timeout=30,
        json={
            "name": "feed",
            "listRule": "",
            "viewRule": "",
            "createRule": "",
            "updateRule": "",
            "deleteRule": "",
            "fields": [{"name": "n", "type": "number"}],
        },
    )
    assert r.status_code == 200, r.text


def wait_collection(url: str) -> None:
    wait_until(
        lambda: httpx.get(f"{url}/api/collections/feed/records", timeout=5).status_code == 200,
        20,
        f"{url} never saw the feed collection",
    )
