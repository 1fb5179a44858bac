"""The official PocketBase JS SDK (getURL, thumbs, files.getToken) against a real ``baas serve``.

Uploads arrive with the record write path; until then the test stores the blobs in the server's
storage directory and names them in the record through a second engine on the same database."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from baas.core import Engine
from baas.db.tables import q
from baas.files.local import LocalStorage
from baas.files.storage import file_key, iter_bytes
from baas.settings import Settings
from tests.files.conftest import png
from tests.servers import require_node, running_server

EMAIL, PASSWORD = "su@example.com", "su-password-123"
SCRIPT = Path(__file__).parent / "sdk_files.mjs"


async def test_js_sdk_fetches_files_thumbs_and_protected_files(tmp_path) -> None:
    node = require_node()
    async with running_server(tmp_path, superuser=(EMAIL, PASSWORD)) as srv:
        async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:
            su = (await http.post("/api/collections/_superusers/auth-with-password",
                                  json={"identity": EMAIL, "password": PASSWORD})).json()["token"]
            h = {"Authorization": su}
            r = await http.post("/api/collections", headers=h, json={
                "name": "docs", "type": "base", "viewRule": "owner = @request.auth.id", "fields": [
                    {"name": "owner", "type": "text"}, {"name": "doc", "type": "file", "protected": True},
                    {"name": "pub", "type": "file", "maxSelect": 3}]})
            assert r.status_code == 200, r.text
            coll_id = r.json()["id"]
            r = await http.post("/api/collections/users/records", headers=h, json={
                "email": "u@example.com", "password": "user-password-1", "passwordConfirm": "user-password-1"})
            assert r.status_code == 200, r.text
            user_id = r.json()["id"]
            r = await http.post("/api/collections/docs/records", headers=h, json={"owner": user_id})
            assert r.status_code == 200, r.text
            rec_id = r.json()["id"]

        storage = LocalStorage(srv.data_dir / "storage")
        await storage.put(file_key(coll_id, rec_id, "photo_abc.png"), iter_bytes(png((400, 300))))
        await storage.put(file_key(coll_id, rec_id, "secret_abc.png"), iter_bytes(png((60, 60))))
        db_url = srv.db_args[1] if srv.db_args else ""
        eng = Engine(Settings(data_dir=str(srv.data_dir), db_url=db_url))
        await eng.start()
        try:
            async def name_files(conn) -> None:
                await conn.execute(f"UPDATE {q('docs')} SET {q('pub')} = ?, {q('doc')} = ? WHERE {q('id')} = ?",
                                   ['["photo_abc.png"]', "secret_abc.png", rec_id])

            await eng.db.write(name_files)
        finally:
            await eng.stop()

        run = subprocess.run([node, str(SCRIPT), srv.url, "u@example.com", "user-password-1", "docs", rec_id],
                             capture_output=True, text=True, timeout=120)
        if run.returncode != 0:
            pytest.fail(f"sdk_files.mjs exited {run.returncode}\n{run.stdout}\n{run.stderr}\n{srv.log_text()}")
        assert "ok   protected file with files.getToken()" in run.stdout
