"""docs/sdk.md's Python app, run as written against a live ``baas serve --schema`` with the doc's
own baas.yaml: sign-up, a post with an image, the live feed, the feed read back."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.harness import png
from tests.sdk_python.kit import SU
from tests.servers import running_server

DOC = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"


def block(lang: str) -> str:
    python_part = DOC.read_text().split("## Python", 1)[1].split("## TypeScript", 1)[0]
    found = re.search(rf"```{lang}\n(.*?)```", python_part, re.S)
    assert found, f"no {lang} block in docs/sdk.md's Python section"
    return found.group(1)


async def test_the_documented_python_app_runs(tmp_path: Path) -> None:
    (tmp_path / "baas.yaml").write_text(block("yaml"))
    app = tmp_path / "app"
    app.mkdir()
    (app / "photo.png").write_bytes(png((200, 150)))
    (app / "feed.py").write_text(block("python"))
    async with running_server(tmp_path, "--schema", str(tmp_path / "baas.yaml"), superuser=SU) as srv:
        run = subprocess.run(
            [sys.executable, "feed.py"],
            cwd=app,
            env={**os.environ, "BAAS_URL": srv.url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stdout + run.stderr + srv.log_text()
        lines = run.stdout.splitlines()
        assert lines[0].startswith(f"live: create 'Hello from Ann' {srv.url}/api/files/"), lines
        thumb = httpx.get(lines[0].rsplit(" ", 1)[1])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
        assert lines[1:] == ["feed: Ann: Hello from Ann"]
