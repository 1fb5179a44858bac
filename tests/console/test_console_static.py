"""``/_/``: the console's files, with the security headers on every answer, and nothing else."""

from __future__ import annotations

import pytest

from baas.api.console import CSP
from tests.harness import Console

SERVED = [
    ("/_/", "text/html"),
    ("/_", "text/html"),
    ("/_/js/app.js", "text/javascript"),
    ("/_/js/pages/records.js", "text/javascript"),
    ("/_/style.css", "text/css"),
]


@pytest.mark.parametrize(("path", "kind"), SERVED, ids=[p for p, _ in SERVED])
async def test_console_files_carry_strict_headers(fresh: Console, path: str, kind: str) -> None:
    r = await fresh.client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == f"{kind}; charset=utf-8"
    assert r.headers["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in CSP and "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_no_inline_script_or_handler_in_the_page() -> None:
    from baas.api.console import static_root

    html = (static_root() / "index.html").read_text()
    assert "<script" in html and all('src="/_/' in tag for tag in html.split("<script")[1:])
    assert " on" not in html.lower().replace("content", "")  # no onload= / onclick= attributes


def test_console_modules_never_parse_html() -> None:
    from baas.api.console import static_root

    for path in static_root().rglob("*.js"):
        code = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("//"))
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in code, (path, sink)


@pytest.mark.parametrize(
    "path",
    [
        "/_/../pyproject.toml",
        "/_/%2e%2e/%2e%2e/pyproject.toml",
        "/_/..%2f..%2fbaas%2fapp.py",
        "/_/../__init__.py",
        "/_/nothing.js",
        "/_/js",
        "/_/README.md",
        "/_/js/app.js.map",
        "//_/etc/passwd",
    ],
)
async def test_only_console_files_are_served(fresh: Console, path: str) -> None:
    r = await fresh.client.get(path)
    assert r.status_code == 404, (path, r.status_code, r.text[:200])
    assert r.json()["status"] == 404
