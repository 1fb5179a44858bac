"""An app on the backend under test, served in-process (same event loop) through httpx."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from baas.app import create_app
from baas.auth.superusers import upsert_superuser
from baas.core import Engine
from baas.schema.loader import load_schema_text
from baas.settings import Settings
from tests.conftest import PG_URL, _create_pg_database, _drop_pg_database

os.environ["BAAS_FAST_HASH"] = "1"

SU_EMAIL, SU_PASS = "root@example.com", "root-password-1"

SCHEMA = """
collections:
  - name: posts
    listRule: "published = true || author = @request.auth.id"
    viewRule: "published = true || author = @request.auth.id"
    createRule: "@request.auth.id != '' && author = @request.auth.id"
    updateRule: "author = @request.auth.id"
    deleteRule: "author = @request.auth.id"
    fields:
      - {name: title, type: text, required: true, max: 100}
      - {name: slug, type: text, pattern: "^[a-z0-9-]+$"}
      - {name: body, type: editor}
      - {name: views, type: number, min: 0, max: 1000000, onlyInt: true}
      - {name: score, type: number}
      - {name: published, type: bool}
      - {name: tags, type: select, values: [a, b, c, d], maxSelect: 3}
      - {name: kind, type: select, values: [news, blog]}
      - {name: author, type: relation, collection: users}
      - {name: contact, type: email, onlyDomains: [example.com]}
      - {name: link, type: url}
      - {name: due, type: date, min: "2000-01-01 00:00:00.000Z"}
      - {name: meta, type: json, maxSize: 200}
    indexes:
      - {columns: [slug], unique: true, where: "slug != ''"}
  - name: comments
    listRule: ""
    viewRule: ""
    createRule: ""
    updateRule: ""
    deleteRule: ""
    fields:
      - {name: post, type: relation, collection: posts, cascadeDelete: true}
      - {name: message, type: text}
  - name: notes
    listRule: ""
    viewRule: ""
    createRule: ""
    deleteRule: ""
    fields:
      - {name: post, type: relation, collection: posts, required: true}
      - {name: text, type: text}
  - name: vault
    fields:
      - {name: secret, type: text}
"""


@dataclass
class Api:
    """An httpx client on the app plus tokens for a superuser and two users."""

    client: httpx.AsyncClient
    engine: Engine
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str | None) -> dict[str, str]:
        return {"Authorization": self.tokens[who]} if who else {}

    async def call(self, method: str, url: str, who: str | None = None, **kw: Any) -> httpx.Response:
        return await self.client.request(method, url, headers={**self.headers(who), **kw.pop("headers", {})}, **kw)

    async def count(self, collection: str) -> int:
        r = await self.call("GET", f"/api/collections/{collection}/records?perPage=1", "su")
        assert r.status_code == 200, r.text
        return r.json()["totalItems"]


@pytest.fixture
async def api(tmp_path) -> AsyncIterator[Api]:
    url = await _create_pg_database() if PG_URL else f"sqlite:///{tmp_path / 'data.db'}"
    settings = Settings(data_dir=str(tmp_path), db_url=url)
    setup = Engine(settings)
    await setup.start()
    await upsert_superuser(setup, SU_EMAIL, SU_PASS)
    await setup.apply(load_schema_text(SCHEMA).collections + [c for c in setup.registry.all()])
    await setup.stop()
    eng = Engine(settings)
    app = create_app(settings, eng)
    # Start the engine by hand: ASGITransport sends no lifespan events, and anyio's lifespan task
    # group cannot span a fixture's setup and teardown.
    app.state.engine = eng
    await eng.start()
    try:
        if True:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                a = Api(client, app.state.engine)
                r = await client.post("/api/collections/_superusers/auth-with-password",
                                      json={"identity": SU_EMAIL, "password": SU_PASS})
                a.tokens["su"] = r.json()["token"]
                for name in ("alice", "bob"):
                    r = await a.call("POST", "/api/collections/users/records", "su",
                                     json={"email": f"{name}@example.com", "password": "password-123",
                                           "name": name.title()})
                    assert r.status_code == 200, r.text
                    a.users[name] = r.json()["id"]
                    r = await client.post("/api/collections/users/auth-with-password",
                                          json={"identity": f"{name}@example.com", "password": "password-123"})
                    assert r.status_code == 200, r.text
                    a.tokens[name] = r.json()["token"]
                yield a
    finally:
        await eng.stop()
        if PG_URL:
            await _drop_pg_database(url)
