"""Generate ``_sync_client.py`` from ``_async_client.py`` (one source for both clients).

Run ``python sdk/python/tools/unasync.py``; ``--check`` exits 1 when the generated file is stale."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "src" / "baas_client"
SOURCE, TARGET = PKG / "_async_client.py", PKG / "_sync_client.py"

RULES: list[tuple[str, str]] = [
    (
        r'^"""The async client\. `_sync_client\.py` is generated from this file \(``python tools/unasync\.py``\):\n'
        r"edit here, then regenerate\.\"\"\"",
        '"""The sync client, generated from `_async_client.py` by ``tools/unasync.py``: do not edit."""',
    ),
    (r"\bimport asyncio\n", "import threading\n"),
    (r"asyncio\.Lock\(\)", "threading.Lock()"),
    (r"\basync def ", "def "),
    (r"\basync with ", "with "),
    (r"\basync for ", "for "),
    (r"\bawait ", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\baclose\b", "close"),
    (r"\b_async_realtime\b", "_sync_realtime"),
    (r"\bAsync(?=[A-Z])", ""),
    (r"\basync client\b", "sync client"),
]


def generate() -> str:
    text = SOURCE.read_text()
    for pattern, repl in RULES:
        text = re.sub(pattern, repl, text, flags=re.M)
    ruff = shutil.which("ruff")
    if ruff:  # lines that lost an `await` may fit on one line now: format as the repo does
        cwd = PKG.parents[3]  # the repository root (its ruff settings)
        fix = [ruff, "check", "--fix", "--unsafe-fixes", "--select", "I,UP028", "--stdin-filename", str(TARGET), "-"]
        text = subprocess.run(fix, input=text, capture_output=True, text=True, check=False, cwd=cwd).stdout
        fmt = [ruff, "format", "--stdin-filename", str(TARGET), "-"]
        text = subprocess.run(fmt, input=text, capture_output=True, text=True, check=True, cwd=cwd).stdout
    return text


def main() -> int:
    text = generate()
    if "--check" in sys.argv:
        return 0 if TARGET.exists() and TARGET.read_text() == text else 1
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
