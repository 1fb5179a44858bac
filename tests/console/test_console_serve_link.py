"""What ``baas serve`` prints for the console, and ``HEAD`` on the console's files."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from baas.cli.serve import browser_url
from tests.harness import Console
from tests.servers import baas_cmd, free_port, stop_server


def test_a_wildcard_listen_address_prints_a_usable_link() -> None:
    url, note = browser_url("0.0.0.0", 8090)
    assert url == "http://127.0.0.1:8090" and "0.0.0.0" not in url
    assert f"http://{socket.gethostname()}:8090" in note and "all addresses" in note
    url, note = browser_url("[::]", 8091)
    assert url == "http://[::1]:8091" and socket.gethostname() in note


@pytest.mark.parametrize("host", ["127.0.0.1", "example.internal", "[::1]", "192.168.1.5"])
def test_a_concrete_listen_address_is_the_link(host: str) -> None:
    assert browser_url(host, 8090) == (f"http://{host}:8090", "")


@pytest.mark.parametrize("path", ["/_/", "/_/js/app.js", "/_/style.css"])
async def test_head_answers_like_get_without_a_body(fresh: Console, path: str) -> None:
    got, head = await fresh.client.get(path), await fresh.client.head(path)
    assert got.status_code == head.status_code == 200
    assert head.content == b"" and got.content
    for name in ("content-type", "content-security-policy", "x-frame-options"):
        assert head.headers[name] == got.headers[name]


async def test_head_on_a_missing_file_is_404(fresh: Console) -> None:
    assert (await fresh.client.head("/_/nope.js")).status_code == 404


def test_serve_on_all_addresses_prints_a_link_a_browser_can_open(tmp_path: Path) -> None:
    """A real ``baas serve --http 0.0.0.0:PORT``: the installer link it prints names 127.0.0.1."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            baas_cmd("serve", "--http", f"0.0.0.0:{port}", "--dir", str(tmp_path / "data"), "--workers", "1"),
            env={**os.environ, "BAAS_FAST_HASH": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120  # a slow start on a busy machine; waits for the line, not a clock
        while "installer link" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        text = log.read_text()
        line = next(ln for ln in text.splitlines() if "installer link" in ln)
    finally:
        stop_server(proc)
    assert re.search(rf"http://127\.0\.0\.1:{port}/_/#/install/\S+", line), line
    assert "0.0.0.0" not in line and f"http://{socket.gethostname()}:{port}" in line


async def test_the_page_preloads_every_module_it_imports(fresh: Console) -> None:
    """index.html's answer names every module for preloading (no waterfall of imports), and each one is served."""
    from baas.api.console import static_root

    link = (await fresh.client.get("/_/")).headers["link"]
    urls = re.findall(r"<([^>]+)>; rel=modulepreload", link)
    on_disk = sorted("/_/" + p.relative_to(static_root()).as_posix() for p in (static_root() / "js").rglob("*.js"))
    assert sorted(urls) == on_disk and "/_/js/app.js" in urls
    for url in urls:
        r = await fresh.client.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "text/javascript; charset=utf-8", url
