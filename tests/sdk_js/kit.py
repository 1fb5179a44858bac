"""Helpers of the TypeScript SDK tests: run the node test scripts of sdk/js/test against a server,
and write the small baas project (a callable function) the baas run serves."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.servers import _missing

SDK_DIR = Path(__file__).resolve().parents[2] / "sdk" / "js"
SU = ("sdk-js@example.com", "sdk-js-password-1")


def require_sdk() -> str:
    """node, and sdk/js/node_modules (typescript, for the build check); skip or, under CI, fail."""
    node = shutil.which("node")
    _missing(
        "TypeScript SDK test",
        "node is not installed"
        if node is None
        else None
        if (SDK_DIR / "node_modules" / "typescript").is_dir()
        else "sdk/js/node_modules is missing (run `cd sdk/js && npm install`)",
    )
    return node  # type: ignore[return-value]  # _missing skipped or failed when it is None


def run_node(
    *args: str, env: dict[str, str] | None = None, cwd: Path = SDK_DIR, log: str = "", timeout: int = 240
) -> str:
    """Run ``node <args>``; fail the test with its output (and ``log``, the server's) unless it exits 0."""
    node = require_sdk()
    try:
        run = subprocess.run(
            [node, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"node {' '.join(args)} hung for {timeout}s\n--- stdout\n{_text(exc.stdout)}\n--- stderr\n{_text(exc.stderr)}"
            + (f"\n--- server log\n{log[-20000:]}" if log else ""),
            pytrace=False,
        )
    if run.returncode != 0:
        pytest.fail(
            f"node {' '.join(args)} exited {run.returncode}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"
            + (f"\n--- server log\n{log[-20000:]}" if log else ""),
            pytrace=False,
        )
    return run.stdout


def _text(out: str | bytes | None) -> str:
    return out.decode(errors="replace") if isinstance(out, bytes) else out or ""


def server_env(url: str, kind: str, data_dir: Path | None = None, su: tuple[str, str] = SU) -> dict[str, str]:
    """What sdk/js/test/kit.mjs reads."""
    return {
        "BAAS_URL": url,
        "BAAS_KIND": kind,
        "BAAS_SU_EMAIL": su[0],
        "BAAS_SU_PASSWORD": su[1],
        "BAAS_DATA_DIR": str(data_dir or ""),
    }


def write_project(root: Path) -> Path:
    """A baas.yaml with a ``functions`` package holding ``whoami`` (signed-in callers only)."""
    (root / "functions").mkdir(parents=True, exist_ok=True)
    (root / "functions" / "__init__.py").write_text(
        textwrap.dedent(
            """\
            from baas.functions import function


            @function(rule="@request.auth.id != ''")
            async def whoami(ctx):
                return {"caller": ctx.auth["id"], "n": ctx.body.get("n")}
            """
        )
    )
    (root / "baas.yaml").write_text("functions: functions\n")
    return root / "baas.yaml"
