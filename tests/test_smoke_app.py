from __future__ import annotations
import os
os.environ["BAAS_FAST_HASH"] = "1"
from litestar.testing import AsyncTestClient
from baas.app import create_app
from baas.settings import Settings

async def test_smoke(tmp_path, db_url):
    from baas.core import Engine
    from baas.records.write import create_record
    eng = Engine(Settings(data_dir=str(tmp_path), db_url=db_url))
    await eng.start()
    coll = eng.registry.get("_superusers")
    await eng.db.write(lambda conn: create_record(conn, eng.reader(), coll, {"email": "a@b.co", "password": "secret123"}))
    await eng.stop()
    app = create_app(Settings(data_dir=str(tmp_path), db_url=db_url))
    async with AsyncTestClient(app) as c:
        r = await c.get("/api/health"); print(r.json())
        r = await c.post("/api/collections/_superusers/auth-with-password", json={"identity": "a@b.co", "password": "secret123"})
        print(r.status_code, r.json()); tok = r.json()["token"]
        h = {"Authorization": tok}
        r = await c.post("/api/collections", json={"name": "posts", "listRule": "", "viewRule": "", "createRule": "", "fields": [{"name": "title", "type": "text", "required": True}, {"name": "views", "type": "number"}]}, headers=h)
        print(r.status_code, r.json())
        r = await c.post("/api/collections/posts/records", json={"title": "hello", "views": 3})
        print(r.status_code, r.json())
        r = await c.post("/api/collections/posts/records", json={"views": "x"})
        print(r.status_code, r.json())
        r = await c.get("/api/collections/posts/records")
        print(r.status_code, r.json())
