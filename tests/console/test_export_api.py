"""``GET /api/schema/export``: the same baas.yaml as ``baas schema export`` (both databases)."""

from __future__ import annotations

import asyncio
import os
import sys

import yaml

from tests.harness import Console

POSTS = {
    "name": "posts",
    "type": "base",
    "listRule": "",
    "viewRule": "title != ''",
    "fields": [
        {"name": "title", "type": "text", "required": True, "max": 80},
        {"name": "tags", "type": "select", "values": ["a", "b"], "maxSelect": 2},
        {"name": "author", "type": "relation", "collectionId": "users", "maxSelect": 1},
    ],
    "indexes": ["CREATE INDEX idx_title ON posts (title)"],
}


async def _cli_export(c: Console) -> str:
    """``baas schema export`` in its own process, against the same database."""
    s = c.engine.settings
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from baas.cli.main import app; app()",
        "schema",
        "export",
        "--dir",
        str(s.data_dir),
        "--db",
        s.db_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_export_is_the_cli_export(console: Console) -> None:
    su = await console.sign_in()
    assert (await console.call("POST", "/api/collections", su, json=POSTS)).status_code == 200
    r = await console.call("GET", "/api/schema/export", su)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/yaml")
    doc = yaml.safe_load(r.text)
    assert [c["name"] for c in doc["collections"]] == ["users", "posts"]
    assert doc == yaml.safe_load(await _cli_export(console))
    assert r.text == await _cli_export(console)


async def test_download_names_the_file(console: Console) -> None:
    su = await console.sign_in()
    r = await console.call("GET", "/api/schema/export?download=1", su)
    assert r.status_code == 200
    assert r.headers["content-disposition"] == 'attachment; filename="baas.yaml"'


async def test_only_superusers(console: Console) -> None:
    su = await console.sign_in()
    r = await console.call(
        "POST",
        "/api/collections/users/records",
        su,
        json={"email": "u@example.com", "password": "user-password-1", "passwordConfirm": "user-password-1"},
    )
    assert r.status_code == 200
    user = await console.sign_in("u@example.com", "user-password-1", collection="users")
    assert (await console.call("GET", "/api/schema/export")).status_code == 401
    r = await console.call("GET", "/api/schema/export", user)
    assert r.status_code == 403 and r.json()["status"] == 403
