"""Start and stop the servers under test, and sample their memory.

Both servers share one CLI shape: ``EXE superuser upsert EMAIL PASS --dir D`` then
``EXE serve --http 127.0.0.1:PORT --dir D``. Each runs in its own session so that
all of its worker processes can be found (for RSS) and stopped together.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

SUPERUSER_EMAIL = "bench@example.com"
SUPERUSER_PASSWORD = "bench-password-123"


class ServerUnavailable(RuntimeError):
    """The server's executable is missing or does not run."""


class ServerFailed(RuntimeError):
    """The server ran but did not start or set up correctly."""


@dataclass
class ServerSpec:
    """How to run one server: a short name, its executable and extra `serve` args."""

    name: str
    exe: str
    extra_args: list[str] = field(default_factory=list)
    # Stored settings PATCHed once the server is up (``baas_nolog``: the request log off).
    settings: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # added to the environment of its processes

    def check(self) -> None:
        """Raise `ServerUnavailable` unless ``EXE --help`` runs."""
        path = shutil.which(self.exe)
        if path is None:
            raise ServerUnavailable(f"executable {self.exe!r} is not on PATH")
        try:
            proc = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired as exc:
            raise ServerUnavailable(f"`{self.exe} --help` timed out") from exc
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise ServerUnavailable(f"`{self.exe} --help` exited {proc.returncode}:\n  " + "\n  ".join(tail))

    def version(self) -> str:
        """The first line of ``EXE --version``, or "?"."""
        try:
            proc = subprocess.run([self.exe, "--version"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return "?"
        out = (proc.stdout or proc.stderr).strip()
        if proc.returncode == 0 and out:
            return out.splitlines()[0]
        if self.name.startswith("baas"):
            # `baas` has no --version flag (yet): fall back to the installed package's.
            try:
                from importlib.metadata import PackageNotFoundError, version

                return f"baas {version('baas')}"
            except (ImportError, PackageNotFoundError):
                pass
        return "?"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One running server process in its own data dir."""

    def __init__(self, spec: ServerSpec, workdir: Path) -> None:
        self.spec = spec
        # One parent dir per server: PocketBase's automigrate writes pb_migrations/ next
        # to the data dir, and a shared parent would replay one server's schema in another.
        self.home = workdir / spec.name
        self.data_dir = self.home / "data"
        self.log_path = self.home / "server.log"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: object = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, timeout: float = 60.0) -> None:
        """Upsert the superuser, start `serve` and wait for ``/api/health``."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        upsert = [
            self.spec.exe,
            "superuser",
            "upsert",
            SUPERUSER_EMAIL,
            SUPERUSER_PASSWORD,
            "--dir",
            str(self.data_dir),
        ]
        proc = subprocess.run(upsert, capture_output=True, text=True, timeout=120, cwd=self.home)
        if proc.returncode != 0:
            raise ServerFailed(
                f"{self.name}: {' '.join(upsert[:3])} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
            )
        self.port = free_port()
        cmd = [
            self.spec.exe,
            "serve",
            "--http",
            f"127.0.0.1:{self.port}",
            "--dir",
            str(self.data_dir),
            *self.spec.extra_args,
        ]
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._log = log
        self.proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.home,
            start_new_session=True,
            env={**os.environ, **self.spec.env} if self.spec.env else None,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerFailed(f"{self.name}: `{' '.join(cmd)}` exited {self.proc.returncode}:\n" + self.log_tail())
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    self._apply_settings()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ServerFailed(f"{self.name}: /api/health not ready in {timeout}s:\n" + self.log_tail())

    def _apply_settings(self) -> None:
        if not self.spec.settings:
            return
        with httpx.Client(base_url=self.url, timeout=30) as client:
            auth = client.post(
                "/api/collections/_superusers/auth-with-password",
                json={"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD},
            )
            auth.raise_for_status()
            r = client.patch("/api/settings", json=self.spec.settings, headers={"Authorization": auth.json()["token"]})
            if r.status_code != 200:
                raise ServerFailed(f"{self.name}: PATCH /api/settings answered {r.status_code}: {r.text}")

    def stop(self) -> None:
        """SIGTERM the server's process group, then SIGKILL after 10 s."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def session_rss_kib(sid: int) -> int:
    """Sum of VmRSS (KiB) of every process in session `sid` (a server and its workers)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
            # Fields after the ")" of comm: state ppid pgrp session ...
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[3]) != sid:
                continue
            with open(f"/proc/{entry.name}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError, IndexError):
            continue
    return total


class RssSampler:
    """Samples each server's process-tree RSS in a background thread; keeps the peak."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.servers: list[Server] = []
        self.peak_kib: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def add(self, server: Server) -> None:
        self.servers.append(server)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sample(self) -> None:
        """Take one sample now."""
        for server in list(self.servers):
            pid = server.pid
            if pid is None or server.proc is None or server.proc.poll() is not None:
                continue
            rss = session_rss_kib(pid)
            if rss > self.peak_kib.get(server.name, 0):
                self.peak_kib[server.name] = rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()
