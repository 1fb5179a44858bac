"""Fixtures of the file storage tests.

``storage``: every contract test runs on the local disk and on S3. S3 is moto's S3 server
(``moto_server``), started once per session on a free 127.0.0.1 port and stopped at the end;
each test gets a fresh bucket. ``ctx``: an in-process app with file-field collections, a
superuser and two users (on PostgreSQL when ``BAAS_TEST_POSTGRES_URL`` is set)."""

from __future__ import annotations

import io
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from PIL import Image

from baas import files
from baas.app import create_app
from baas.auth.superusers import upsert_superuser
from baas.core import Engine
from baas.db.tables import q
from baas.files.local import LocalStorage
from baas.files.storage import Storage, file_key, iter_bytes
from baas.schema.loader import load_schema_text
from baas.settings import Settings
from tests.conftest import PG_URL, _create_pg_database, _drop_pg_database
from tests.servers import free_port


def _free_port() -> int:
    return free_port()  # tests/servers.py: ports that parallel workers cannot collide on


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a moto S3 server for this session."""
    exe = shutil.which("moto_server")
    cmd = [exe] if exe else [sys.executable, "-m", "moto.server"]
    port = _free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    proc = subprocess.Popen([*cmd, "-H", "127.0.0.1", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"moto_server exited with {proc.returncode}")
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    pytest.fail("moto_server did not start within 30 s")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def s3_settings(endpoint: str, bucket: str) -> dict:
    """PocketBase's ``s3`` settings section for a moto bucket."""
    return {"enabled": True, "bucket": bucket, "region": "us-east-1", "endpoint": endpoint,
            "accessKey": "test", "secret": "test-secret", "forcePathStyle": True}


def make_bucket(endpoint: str) -> str:
    from minio import Minio

    bucket = "t-" + secrets.token_hex(6)
    Minio(endpoint.split("://", 1)[1], access_key="test", secret_key="test-secret", secure=False,
          region="us-east-1").make_bucket(bucket)
    return bucket


@pytest.fixture(params=["local", "s3"])
async def storage(request, tmp_path) -> AsyncIterator[Storage]:
    if request.param == "local":
        st: Storage = LocalStorage(tmp_path / "storage")
    else:
        from baas.files.s3 import S3Storage

        endpoint = request.getfixturevalue("moto_endpoint")
        st = S3Storage.from_settings(s3_settings(endpoint, make_bucket(endpoint)))
    yield st
    await st.close()


# -- an in-process app with file fields (for the API and sweep tests) -------------------------
os.environ["BAAS_FAST_HASH"] = "1"
SU = ("root@example.com", "root-password-1")

SCHEMA = """
collections:
  - name: docs
    listRule: ""
    viewRule: "owner = @request.auth.id"
    createRule: ""
    fields:
      - {name: owner, type: text}
      - {name: doc, type: file, protected: true}
      - {name: pub, type: file, maxSelect: 5, thumbs: ["50x50", "0x40", "40x40f"]}
  - name: locked
    fields:
      - {name: doc, type: file, protected: true}
"""


def png(size=(300, 200), color=(200, 10, 10)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


@dataclass
class Ctx:
    client: httpx.AsyncClient
    eng: Engine
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)

    def h(self, who: str | None) -> dict[str, str]:
        return {"Authorization": self.tokens[who]} if who else {}

    async def record(self, coll: str, who: str = "su", **values: Any) -> str:
        r = await self.client.post(f"/api/collections/{coll}/records", json=values, headers=self.h(who))
        assert r.status_code == 200, r.text
        return r.json()["id"]

    async def attach(self, coll: str, rec_id: str, fname: str, blobs: dict[str, bytes]) -> None:
        """Store the blobs and set the file field to their names (a list for multi fields)."""
        c = self.eng.registry.get(coll)
        st = await files.storage_for(self.eng)
        for name, data in blobs.items():
            await st.put(file_key(c.id, rec_id, name), iter_bytes(data))
        f = c.field(fname)
        value = f.prepare(list(blobs))
        stored = f.to_db(value, self.eng.db.dialect)

        async def run(conn: Any) -> None:
            await conn.execute(f"UPDATE {q(coll)} SET {q(fname)} = ? WHERE {q('id')} = ?", [stored, rec_id])

        await self.eng.db.write(run)

    async def get(self, url: str, who: str | None = None, **kw: Any) -> httpx.Response:
        return await self.client.get(url, headers={**self.h(who), **kw.pop("headers", {})}, **kw)


@pytest.fixture
async def ctx(tmp_path) -> AsyncIterator[Ctx]:
    url = await _create_pg_database() if PG_URL else f"sqlite:///{tmp_path / 'data.db'}"
    settings = Settings(data_dir=str(tmp_path), db_url=url)
    eng = Engine(settings)
    app = create_app(settings, eng)
    app.state.engine = eng
    await eng.start()
    try:
        await upsert_superuser(eng, *SU)
        await eng.apply(lambda: [*eng.registry.all(), *load_schema_text(SCHEMA).collections])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            c = Ctx(client, eng)
            r = await client.post("/api/collections/_superusers/auth-with-password",
                                  json={"identity": SU[0], "password": SU[1]})
            c.tokens["su"] = r.json()["token"]
            for name in ("alice", "bob"):
                c.users[name] = await c.record("users", email=f"{name}@example.com", password="password-123",
                                               passwordConfirm="password-123")
                r = await client.post("/api/collections/users/auth-with-password",
                                      json={"identity": f"{name}@example.com", "password": "password-123"})
                assert r.status_code == 200, r.text
                c.tokens[name] = r.json()["token"]
            yield c
    finally:
        await eng.stop()
        if PG_URL:
            await _drop_pg_database(url)


