"""``/api/backups`` (baas/api/backups.py): PocketBase's backups API on the backend under test, and
through the official PocketBase JS SDK on a real server (tests/js/backups.mjs)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from baas.backups import MANIFEST
from tests.harness import Api
from tests.servers import require_node, run_js, running_server

WHO = [(None, 401), ("alice", 403)]
ROUTES = [
    ("GET", "/api/backups", None),
    ("POST", "/api/backups", {"name": "x.zip"}),
    ("DELETE", "/api/backups/x.zip", None),
    ("POST", "/api/backups/x.zip/restore", None),
]


@pytest.mark.parametrize(("who", "status"), WHO, ids=["guest", "user"])
@pytest.mark.parametrize(("method", "url", "body"), ROUTES, ids=[f"{m} {u}" for m, u, _ in ROUTES])
async def test_only_superusers(api: Api, who: str | None, status: int, method: str, url: str, body: Any) -> None:
    r = await api.call(method, url, who, json=body) if body else await api.call(method, url, who)
    assert r.status_code == status, r.text
    assert not (Path(api.engine.settings.data_dir) / "backups" / "x.zip").exists()


async def test_create_list_download_upload_delete(api: Api) -> None:
    assert (await api.call("POST", "/api/backups", "su", json={"name": "first.zip"})).status_code == 204
    listed = (await api.call("GET", "/api/backups", "su")).json()
    assert [b["key"] for b in listed] == ["first.zip"] and listed[0]["size"] > 0

    user_token = (await api.call("POST", "/api/files/token", "alice")).json()["token"]
    su_token = (await api.call("POST", "/api/files/token", "su")).json()["token"]
    for token in ("", "junk", user_token):
        assert (await api.client.get("/api/backups/first.zip", params={"token": token})).status_code == 403
    r = await api.client.get("/api/backups/first.zip", params={"token": su_token})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert MANIFEST in zipfile.ZipFile(io.BytesIO(r.content)).namelist()

    up = await api.call("POST", "/api/backups/upload", "su", files={"file": ("copy.zip", r.content, "application/zip")})
    assert up.status_code == 204, up.text
    assert sorted(b["key"] for b in (await api.call("GET", "/api/backups", "su")).json()) == ["copy.zip", "first.zip"]

    assert (await api.call("DELETE", "/api/backups/copy.zip", "su")).status_code == 204
    assert (await api.call("DELETE", "/api/backups/copy.zip", "su")).status_code == 404
    assert (await api.client.get("/api/backups/copy.zip", params={"token": su_token})).status_code == 404


BAD_UPLOADS = [
    ("not a zip", {"file": ("junk.zip", b"not a zip at all", "application/zip")}, "file"),
    ("a zip without a manifest", {"file": ("plain.zip", b"", "application/zip")}, "file"),
    ("a bad name", {"file": ("../up.zip", b"PK", "application/zip")}, "file"),
    ("no file", {"other": ("a.zip", b"PK", "application/zip")}, "other"),
]


@pytest.mark.parametrize(("what", "files", "field"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
async def test_bad_uploads_are_refused_and_leave_nothing(api: Api, what: str, files: Any, field: str) -> None:
    if what == "a zip without a manifest":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("hello.txt", "hi")
        files = {"file": ("plain.zip", buf.getvalue(), "application/zip")}
    r = await api.call("POST", "/api/backups/upload", "su", files=files)
    assert r.status_code == 400, r.text
    assert field in r.json()["data"], r.text
    folder = Path(api.engine.settings.data_dir) / "backups"
    assert not folder.exists() or list(folder.iterdir()) == []


BAD_CREATES = [
    ("a bad name", {"name": "../x.zip"}),
    ("not a zip name", {"name": "x.tar"}),
    ("a name that is not a string", {"name": 5}),
]


@pytest.mark.parametrize(("what", "body"), BAD_CREATES, ids=[b[0] for b in BAD_CREATES])
async def test_bad_creates_are_refused(api: Api, what: str, body: Any) -> None:
    r = await api.call("POST", "/api/backups", "su", json=body)
    assert r.status_code == 400 and "name" in r.json()["data"], r.text
    assert (await api.call("GET", "/api/backups", "su")).json() == []


async def test_a_name_is_never_overwritten_and_restore_says_how(api: Api) -> None:
    assert (await api.call("POST", "/api/backups", "su", json={"name": "same.zip"})).status_code == 204
    again = await api.call("POST", "/api/backups", "su", json={"name": "same.zip"})
    assert again.status_code == 400 and "already exists" in again.text
    r = await api.call("POST", "/api/backups/same.zip/restore", "su")
    assert r.status_code == 400 and "baas backup restore" in r.json()["message"]
    assert (await api.call("POST", "/api/backups/missing.zip/restore", "su")).status_code == 404


async def test_js_sdk_backups(tmp_path: Path) -> None:
    require_node()
    async with running_server(tmp_path, superuser=("bk-su@example.com", "bk-password-123")) as srv:
        run_js("backups.mjs", srv.url, "bk-su@example.com", "bk-password-123", srv=srv)
