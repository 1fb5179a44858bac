"""The generated types checked for real: pyright (strict) on a Python app using ``baas_client``
and ``tsc --strict --noEmit`` on a TypeScript app using sdk/js. The good samples must pass; in the
wrong ones every mistake must get its diagnostic (rule and line) and no other line any."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from baas.typegen import generate
from tests.servers import _missing
from tests.typegen.kit import DATA, SAMPLES, SDK_JS_SRC, expectations, require_pyright, require_tsc

PYRIGHT_CONFIG = {"typeCheckingMode": "strict", "pythonVersion": "3.11"}


def _diagnostics_by_line(found: list[tuple[str, int, str]], name: str) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for file, line, rule in found:
        if file == name:
            out.setdefault(line, set()).add(rule)
    return out


def _assert_caught(found: list[tuple[str, int, str]], sample: Path, marker: str) -> None:
    expected = expectations(sample, marker)
    assert len(expected) >= 8  # the samples hold every kind of mistake the issue names
    got = _diagnostics_by_line(found, sample.name)
    for line, rule in sorted(expected.items()):
        assert rule in got.get(line, set()), f"{sample.name}:{line}: expected {rule}, got {got.get(line)}"
    unexpected = {line: rules for line, rules in got.items() if line not in expected}
    assert not unexpected, f"{sample.name}: diagnostics on lines with no mistake: {unexpected}"


def test_pyright_strict(tmp_path: Path) -> None:
    pyright = require_pyright()
    shutil.copy(DATA / "expected_python.py.txt", tmp_path / "baas_types.py")
    for name in ("good_app.py", "wrong_app.py"):
        shutil.copy(SAMPLES / name, tmp_path / name)
    # One collection: ``collection`` is a plain method then (no overloads), with a long name.
    one = [{"name": "a_really_quite_long_collection_name", "type": "base", "fields": [{"name": "t", "type": "text"}]}]
    (tmp_path / "one_types.py").write_text(generate(one, "python", "x"))
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(PYRIGHT_CONFIG))
    run = subprocess.run(
        [*pyright, "--outputjson", "good_app.py", "wrong_app.py", "baas_types.py", "one_types.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(run.stdout)
    found = [
        (Path(d["file"]).name, d["range"]["start"]["line"] + 1, d.get("rule", d["message"]))
        for d in report["generalDiagnostics"]
    ]
    assert report["summary"]["filesAnalyzed"] == 4
    clean = [f for f in found if f[0] != "wrong_app.py"]
    assert not clean, f"the generated module and the good app must pass pyright strict: {clean}"
    _assert_caught(found, SAMPLES / "wrong_app.py", "#")


def test_mypy_strict(tmp_path: Path) -> None:
    """mypy too (the generated overrides carry its ``type: ignore[override]``): the good app
    passes, and the wrong one fails on exactly the lines with a mistake."""
    mypy = shutil.which("mypy")
    _missing("mypy type check", None if mypy else "mypy is not installed")
    shutil.copy(DATA / "expected_python.py.txt", tmp_path / "baas_types.py")
    for name in ("good_app.py", "wrong_app.py"):
        shutil.copy(SAMPLES / name, tmp_path / name)
    one = [{"name": "a_really_quite_long_collection_name", "type": "base", "fields": [{"name": "t", "type": "text"}]}]
    (tmp_path / "one_types.py").write_text(generate(one, "python", "x"))
    files = ["good_app.py", "wrong_app.py", "baas_types.py", "one_types.py"]
    run = subprocess.run(
        [str(mypy), "--strict", "--no-incremental", "--config-file", "", "--python-executable", sys.executable, *files],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    errors = [(m.group(1), int(m.group(2))) for m in re.finditer(r"^(\S+\.py):(\d+): error:", run.stdout, re.M)]
    assert [e for e in errors if e[0] != "wrong_app.py"] == [], run.stdout
    assert {line for _, line in errors} == set(expectations(SAMPLES / "wrong_app.py", "#")), run.stdout


def test_tsc_strict(tmp_path: Path) -> None:
    tsc = require_tsc()
    shutil.copy(DATA / "expected_ts.ts.txt", tmp_path / "baas_types.ts")
    for name in ("good_app.ts", "wrong_app.ts"):
        shutil.copy(SAMPLES / name, tmp_path / name)
    config = {
        "compilerOptions": {
            "target": "ES2022",
            "module": "ES2022",
            "moduleResolution": "bundler",
            "lib": ["ES2022", "DOM", "DOM.Iterable"],
            "strict": True,
            "noEmit": True,
            "skipLibCheck": False,
            # The SDK's own sources: no build step, and its types are checked with ours.
            "paths": {"baas-client": [str(SDK_JS_SRC / "index.ts")]},
        },
        "files": ["good_app.ts", "wrong_app.ts", "baas_types.ts"],
    }
    (tmp_path / "tsconfig.json").write_text(json.dumps(config))
    run = subprocess.run(
        [tsc, "-p", "tsconfig.json", "--strict", "--noEmit", "--pretty", "false"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    found = [
        (Path(m.group(1)).name, int(m.group(2)), m.group(3))
        for m in re.finditer(r"^(.+?)\((\d+),\d+\): error (TS\d+):", run.stdout, re.M)
    ]
    assert run.returncode != 0 and found, run.stdout + run.stderr  # the wrong app must fail
    clean = [f for f in found if f[0] != "wrong_app.ts"]
    assert not clean, f"the generated module, the good app and the SDK must pass tsc --strict: {clean}"
    _assert_caught(found, SAMPLES / "wrong_app.ts", "//")
