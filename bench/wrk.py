"""Run `wrk` with one of the Lua scripts in bench/lua and parse its result."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"
INSTALL_HINT = "install it with: apt-get update && apt-get install -y wrk"


class WrkMissing(RuntimeError):
    """wrk is not installed and could not be installed."""


def ensure_wrk(install: bool = True) -> str:
    """Path to `wrk`; installs the Debian package when missing, running as root and allowed."""
    path = shutil.which("wrk")
    if path:
        return path
    if install and os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk not found; installing the Debian package `wrk` ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, check=False)
        path = shutil.which("wrk")
        if path:
            return path
    raise WrkMissing(f"wrk is not installed; {INSTALL_HINT}")


def wrk_version(exe: str = "wrk") -> str:
    """The version line wrk prints (it has no --version flag that exits 0)."""
    try:
        proc = subprocess.run([exe, "-v"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    out = (proc.stdout + proc.stderr).strip().splitlines()
    return out[0].split(" Copyright")[0] if out else "?"


@dataclass
class WrkResult:
    """One wrk run. Latencies in milliseconds."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        """Non-2xx/3xx responses plus socket errors (connect, read, write, timeout)."""
        return self.non_2xx + self.socket_errors


class WrkFailed(RuntimeError):
    """wrk exited non-zero or printed no summary."""


def run_wrk(
    url: str,
    script: str,
    args: dict[str, str],
    *,
    duration: float,
    threads: int = 2,
    connections: int = 32,
    timeout: float = 30.0,
    exe: str = "wrk",
) -> WrkResult:
    """Run ``wrk -tT -cC -dD --latency -s SCRIPT URL -- key=value ...`` from bench/lua."""
    cmd = [
        exe,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        f"{timeout:g}s",
        "--latency",
        "-s",
        script,
        url,
        "--",
        *(f"{k}={v}" for k, v in args.items()),
    ]
    proc = subprocess.run(cmd, cwd=LUA_DIR, capture_output=True, text=True, timeout=duration + 60)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise WrkFailed(f"wrk exited {proc.returncode} for {script} {url}:\n{proc.stdout}\n{proc.stderr}")
    d = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = d["duration_us"] / 1e6
    return WrkResult(
        requests=d["requests"],
        seconds=seconds,
        rps=d["requests"] / seconds if seconds else 0.0,
        p50_ms=d["p50_us"] / 1000,
        p90_ms=d["p90_us"] / 1000,
        p99_ms=d["p99_us"] / 1000,
        max_ms=d["max_us"] / 1000,
        non_2xx=d["status"],
        socket_errors=d["connect"] + d["read"] + d["write"] + d["timeout"],
    )
