"""The TypeScript SDK (sdk/js) against a live ``baas serve`` (PostgreSQL when
``BAAS_TEST_POSTGRES_URL`` is set): its node test suite, the README's app, and the package as
``npm install ./sdk/js`` installs it. One server for the module; the node tests of a run share
one node process."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.harness import png
from tests.sdk_js.kit import SDK_DIR, SU, require_sdk, run_node, server_env, write_project
from tests.servers import Server, running_server

REPO = SDK_DIR.parents[1]


def readme_blocks(lang: str) -> list[str]:
    """The ``lang`` code blocks of sdk/js/README.md's "A complete small app" section."""
    text = (SDK_DIR / "README.md").read_text()
    section = text.split("## A complete small app", 1)[1]
    return re.findall(rf"```{lang}\n(.*?)```", section, re.S)


@pytest.fixture(scope="module")
async def srv(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    require_sdk()
    tmp = tmp_path_factory.mktemp("sdk_js")
    schema = write_project(tmp / "project")
    # the README app's schema, plus the project's functions package
    schema.write_text(readme_blocks("yaml")[0] + "functions: functions\n")
    async with running_server(tmp, "--schema", str(schema), superuser=SU) as server:
        yield server


def test_sdk_suite(srv: Server) -> None:
    """sdk/js/test (offline, api, baas-only files) in one node process against this server."""
    run_node("test/run-baas.mjs", env=server_env(srv.url, "baas", srv.data_dir), log=srv.log_text())


def test_installed_package_and_readme_app(srv: Server, tmp_path: Path) -> None:
    """``npm install ./sdk/js`` from the repo root into a new project, then the README's app, as it
    is written there, runs against the server with that install: sign-up, a post with an image,
    the live feed."""
    npm = shutil.which("npm")
    assert npm, "npm is installed with node"
    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text(json.dumps({"name": "sdk-app", "private": True, "type": "module"}))
    install = subprocess.run(
        [npm, "install", "--prefix", str(app), "--install-links", "--no-audit", "--no-fund", "--offline", "./sdk/js"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    installed = app / "node_modules" / "baas-client"
    assert not installed.is_symlink(), "a copy, as from a registry"
    assert (installed / "dist" / "index.d.ts").is_file()
    assert not (installed / "node_modules").exists(), "no runtime dependencies"

    (app / "app.mjs").write_text(readme_blocks("js")[0])
    (app / "photo.png").write_bytes(png((64, 48)))
    out = run_node("app.mjs", "photo.png", cwd=app, env={"BAAS_URL": srv.url}, log=srv.log_text(), timeout=120)
    lines = out.strip().splitlines()
    assert lines[-1] == "ok", out
    feed_line = (
        r'Ann posted "Hello from the SDK" http://127\.0\.0\.1:\d+/api/files/\w+/\w+/photo\w*\.png\?thumb=100x100$'
    )
    assert re.match(feed_line, lines[0]), out
    thumb = httpx.get(lines[0].split()[-1], timeout=60)
    assert thumb.status_code == 200
    assert Image.open(io.BytesIO(thumb.content)).size == (100, 100)
