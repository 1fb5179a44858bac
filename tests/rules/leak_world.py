"""One app, schema and data set for the leak matrix (`test_leak_matrix.py`), built once per module.

Who may see what:

- ``vault`` is locked (listRule null): no client expression may reach it at all;
- ``diary`` lists a record to its owner, and to everybody when ``public``: amy's diary is hidden
  from guests, bob and the API key; bob's from guests, amy and the key; the public one from nobody;
- ``users`` lists to anyone, but amy, bob and dan keep their email private (cat shows hers);
- ``open`` lists to anyone and points into all three (``sec``, ``mine``, ``many``, ``owner``,
  ``next`` to itself).

dan's diary and email are hidden from every requester: the sort cells change them freely.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec

from baas.app import create_app
from baas.auth.superusers import upsert_superuser
from baas.core import Engine
from baas.schema.loader import load_schema_text
from baas.settings import Settings
from tests.harness import PG_URL, create_pg_database, drop_pg_database

SU_EMAIL, SU_PASS = "root@example.com", "root-password-1"
REQUESTERS = ("guest", "amy", "bob", "key")
#: whose diary and email each requester may not see (the key, no user, sees neither amy's nor bob's)
HIDDEN_OWNER = {"guest": "amy", "amy": "bob", "bob": "amy", "key": "bob"}
TAGS = {"amy": ["b", "c"], "bob": ["d", "e", "c"], "cat": ["a"], "dan": ["f"]}

SCHEMA = """
collections:
  - name: vault
    fields:
      - {name: code, type: text}
      - {name: owner, type: relation, collection: users}
  - name: diary
    listRule: "owner = @request.auth.id || public = true"
    viewRule: "owner = @request.auth.id || public = true"
    fields:
      - {name: code, type: text}
      - {name: tags, type: select, values: [a, b, c, d, e, f], maxSelect: 6}
      - {name: public, type: bool}
      - {name: owner, type: relation, collection: users}
  - name: open
    listRule: ""
    viewRule: ""
    fields:
      - {name: title, type: text}
      - {name: sec, type: relation, collection: vault}
      - {name: mine, type: relation, collection: diary}
      - {name: many, type: relation, collection: diary, maxSelect: 5}
      - {name: owner, type: relation, collection: users}
      - {name: next, type: relation, collection: open}
  - name: gated
    listRule: "ref.code = 'TOPSECRET'"
    viewRule: "ref.code = 'TOPSECRET'"
    fields:
      - {name: ref, type: relation, collection: vault}
"""


def diary_code(owner: str) -> str:
    return f"{owner.upper()}DIARY"


def email(user: str) -> str:
    return f"{user}@example.com"


@dataclass
class World:
    """The client on the app, tokens per requester, and record ids by short name."""

    client: httpx.AsyncClient
    engine: Engine
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": self.tokens[who]} if who != "guest" else {}

    async def call(self, method: str, url: str, who: str = "su", **kw: Any) -> httpx.Response:
        return await self.client.request(method, url, headers=self.headers(who), **kw)

    async def make(self, coll: str, key: str, /, **data: Any) -> str:
        r = await self.call("POST", f"/api/collections/{coll}/records", json=data)
        assert r.status_code == 200, r.text
        self.ids[key] = r.json()["id"]
        return self.ids[key]

    def key_of(self, record_id: str) -> str:
        """The short name of a record id (for readable assertion messages)."""
        return next((k for k, v in self.ids.items() if v == record_id), record_id)

    @property
    def app(self) -> Any:
        return self.client._transport.app  # type: ignore[attr-defined]


async def build(
    tmp: Path, schema: str = SCHEMA, seed_with: Callable[[World], Awaitable[None]] | None = None
) -> AsyncIterator[World]:
    """The app on a fresh database with ``schema`` applied (users listable by anyone), seeded by
    ``seed_with`` (default: this module's world)."""
    url = await create_pg_database() if PG_URL else f"sqlite:///{tmp / 'data.db'}"
    settings = Settings(data_dir=str(tmp), db_url=url)
    setup = Engine(settings)
    await setup.start()
    await upsert_superuser(setup, SU_EMAIL, SU_PASS)
    users = msgspec.structs.replace(setup.registry.get("users"), listRule="", viewRule="")
    await setup.apply(
        [*(c for c in setup.registry.all() if c.name != "users"), users, *load_schema_text(schema).collections]
    )
    await setup.stop()
    eng = Engine(settings)
    app = create_app(settings, eng)
    await eng.start()  # ASGITransport sends no lifespan events: start the engine by hand
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            w = World(c, eng)
            r = await c.post(
                "/api/collections/_superusers/auth-with-password", json={"identity": SU_EMAIL, "password": SU_PASS}
            )
            w.tokens["su"] = r.json()["token"]
            await (seed_with or seed)(w)
            yield w
    finally:
        await eng.stop()
        if PG_URL:
            await drop_pg_database(url)


async def seed(w: World) -> None:
    for name in ("amy", "bob", "cat", "dan"):
        await w.make(
            "users", name, email=email(name), password="password-123", name=name.title(), emailVisibility=name == "cat"
        )
    for name in ("amy", "bob"):
        r = await w.client.post(
            "/api/collections/users/auth-with-password", json={"identity": email(name), "password": "password-123"}
        )
        assert r.status_code == 200, r.text
        w.tokens[name] = r.json()["token"]
    r = await w.call(
        "POST", "/api/apikeys", json={"name": "all", "scopes": [{"collection": "*", "actions": ["list", "view"]}]}
    )
    assert r.status_code == 200, r.text
    w.tokens["key"] = r.json()["key"]
    r = await w.call(
        "POST",
        "/api/apikeys",
        json={"name": "open only", "scopes": [{"collection": "open", "actions": ["list", "view"]}]},
    )
    assert r.status_code == 200, r.text
    w.tokens["open-key"] = r.json()["key"]
    ids = w.ids
    await w.make("vault", "V1", code="TOPSECRET", owner=ids["amy"])
    for owner in ("amy", "bob", "cat", "dan"):
        await w.make(
            "diary", f"D{owner}", code=diary_code(owner), tags=TAGS[owner], public=owner == "cat", owner=ids[owner]
        )
    await w.make(
        "open", "O1", title="o1", sec=ids["V1"], mine=ids["Damy"], many=[ids["Damy"], ids["Dcat"]], owner=ids["amy"]
    )
    await w.make("open", "O2", title="o2", mine=ids["Dbob"], many=[ids["Dbob"]], owner=ids["bob"])
    await w.make("open", "O3", title="o3", mine=ids["Dcat"], many=[ids["Dcat"]], owner=ids["cat"])
    await w.make("open", "O4", title="o4", next=ids["O1"])
    await w.make("open", "O5", title="o5", next=ids["O3"])
    await w.make("open", "O6", title="o6", next=ids["O2"])
    await w.make("open", "O7", title="o7", mine=ids["Ddan"], many=[ids["Ddan"]], owner=ids["dan"])
    await w.make("gated", "G1", ref=ids["V1"])


def visible_diaries(who: str) -> set[str]:
    """The diary short names ``who`` may list."""
    return {"Dcat"} | ({f"D{who}"} if who in ("amy", "bob") else set())
