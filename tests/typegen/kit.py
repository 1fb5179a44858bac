"""Shared by the typegen tests: the sample schema, running ``baas gen types`` in-process, and the
type checkers (pyright from PyPI, tsc from tests/typegen/ts; missing ones skip, or fail under CI)."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from typer.testing import CliRunner

from baas.cli.main import app
from tests.servers import _missing

HERE = Path(__file__).parent
DATA = HERE / "data"
SCHEMA = DATA / "schema.yaml"  # every field type, an auth and a view collection
SAMPLES = HERE / "samples"
TS_DIR = HERE / "ts"
SDK_JS_SRC = HERE.parent.parent / "sdk" / "js" / "src"


def gen(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``baas gen types ARGS`` in this process: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(app, ["gen", "types", *args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def require_ruff() -> str:
    exe = shutil.which("ruff")
    _missing("generated-code lint", None if exe else "ruff is not installed")
    return exe  # type: ignore[return-value]  # _missing skipped or failed when it is None


def require_pyright() -> list[str]:
    """The pyright command (PyPI ``pyright``; its first run fetches the node package)."""
    exe = shutil.which("pyright")
    _missing("pyright type check", None if exe else "pyright is not installed (pip install pyright)")
    return [exe, "--pythonpath", sys.executable]  # type: ignore[list-item]


def require_tsc() -> str:
    """tsc from tests/typegen/ts (``npm ci --prefix tests/typegen/ts``) and the TS SDK's sources."""
    tsc = TS_DIR / "node_modules" / ".bin" / "tsc"
    reason = None
    if shutil.which("node") is None:
        reason = "node is not installed"
    elif not tsc.exists():
        reason = "tests/typegen/ts/node_modules is missing (run `npm ci --prefix tests/typegen/ts`)"
    elif not (SDK_JS_SRC / "index.ts").is_file():
        reason = "the TypeScript SDK (sdk/js/src) is missing"
    _missing("tsc type check", reason)
    return str(tsc)


def expectations(path: Path, marker: str) -> dict[int, str]:
    """Line -> the diagnostic a sample expects there, from ``<marker> expect: RULE`` comments."""
    pattern = re.compile(rf"\S.*{re.escape(marker)} expect: (TS\d+|report\w+)$")  # code, then the comment
    out: dict[int, str] = {}
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        m = pattern.search(line)
        if m:
            out[n] = m.group(1)
    return out
