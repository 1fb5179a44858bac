"""The official PocketBase JS SDK against a real ``baas serve``: uploads (File, Blob, FormData,
batch), list, getURL, thumbs, protected files with files.getToken(), replace, ``pub+``/``pub-``,
delete — then storage holds exactly the files of the one record the script leaves."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.harness import png
from tests.servers import require_node, running_server

EMAIL, PASSWORD = "su@example.com", "su-password-123"
SCRIPT = Path(__file__).parent / "sdk_files.mjs"
OWNS = "owner = @request.auth.id"


async def test_js_sdk_uploads_fetches_replaces_and_deletes_files(tmp_path) -> None:
    node = require_node()
    image = tmp_path / "image.png"
    image.write_bytes(png((400, 300)))
    async with running_server(tmp_path, superuser=(EMAIL, PASSWORD)) as srv:
        async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:
            su = (
                await http.post(
                    "/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD}
                )
            ).json()["token"]
            h = {"Authorization": su}
            r = await http.post(
                "/api/collections",
                headers=h,
                json={
                    "name": "docs",
                    "type": "base",
                    "listRule": OWNS,
                    "viewRule": OWNS,
                    "createRule": "@request.auth.id != '' && @request.body.owner = @request.auth.id",
                    "updateRule": OWNS,
                    "deleteRule": OWNS,
                    "fields": [
                        {"name": "owner", "type": "text"},
                        {"name": "doc", "type": "file", "protected": True},
                        {"name": "pub", "type": "file", "maxSelect": 3},
                    ],
                },
            )
            assert r.status_code == 200, r.text
            coll_id = r.json()["id"]
            r = await http.patch("/api/settings", headers=h, json={"batch": {"enabled": True}})
            assert r.status_code == 200, r.text
            r = await http.post(
                "/api/collections/users/records",
                headers=h,
                json={"email": "u@example.com", "password": "user-password-1", "passwordConfirm": "user-password-1"},
            )
            assert r.status_code == 200, r.text

        run = subprocess.run(
            [node, str(SCRIPT), srv.url, "u@example.com", "user-password-1", "docs", str(image)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if run.returncode != 0:
            pytest.fail(f"sdk_files.mjs exited {run.returncode}\n{run.stdout}\n{run.stderr}\n{srv.log_text()}")
        for step in (
            "create with File and Blob",
            "create with FormData",
            "thumb",
            "protected file with files.getToken()",
            "replace a file",
            "add with pub+ and remove with pub-",
            "too many files refused",
            "batch with files",
            "delete",
        ):
            assert f"ok   {step}" in run.stdout, run.stdout
        left_id, names = run.stdout.strip().splitlines()[-1].split()[1:]
        stored = sorted(
            str(p.relative_to(srv.data_dir / "storage"))
            for p in (srv.data_dir / "storage").rglob("*")
            if p.is_file() and ".tmp" not in p.parts
        )
        assert stored == sorted(f"{coll_id}/{left_id}/{n}" for n in names.split(","))
