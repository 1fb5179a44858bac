"""A skipped test says why in the summary (the JS SDK tests skip without node or node_modules)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_js_sdk_skip_shows_its_reason(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    # every PATH entry that holds a node goes (merged-/usr systems have /bin and /usr/bin both)
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and not os.path.exists(os.path.join(p, "node"))
    )
    assert shutil.which("node", path=env["PATH"]) is None
    r = subprocess.run(
        # one process (-n 0): the skip and its reason are the same, without starting xdist workers
        [sys.executable, "-m", "pytest", "tests/test_js_sdk.py", "-n", "0", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "1 skipped" in r.stdout, r.stdout + r.stderr
    # without node the reason is "node is not installed"; without node_modules it names those
    assert re.search(
        r"SKIPPED .*JS SDK test skipped: (node is not installed|tests/js/node_modules is missing)", r.stdout
    ), r.stdout
