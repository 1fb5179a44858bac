"""Auth collections always carry their system indexes (unique tokenKey, unique email ignoring
case), however they were made, and the planner never drops them."""

from __future__ import annotations

from typing import Any

import pytest

from baas.core import Engine
from baas.schema.loader import load_schema_text
from tests.harness import Http, db_indexes

MEMBERS_YAML = """
collections:
  - name: members
    type: auth
    createRule: ""
    fields:
      - {name: nick, type: text}
"""
MEMBERS_API = {"name": "members", "type": "auth", "createRule": "", "fields": [{"name": "nick", "type": "text"}]}


async def make_from_yaml(http: Http) -> None:
    await http.engine.apply(load_schema_text(MEMBERS_YAML).collections)


async def make_from_api(http: Http) -> None:
    r = await http.call("POST", "/api/collections", su=True, json=MEMBERS_API)
    assert r.status_code == 200, r.text


async def make_from_api_with_own_indexes(http: Http) -> None:
    # A request that names a non-unique index under the system index's name, and none for tokenKey.
    body = {**MEMBERS_API, "indexes": ["CREATE INDEX `idx_email_members` ON `members` (`email`)"]}
    r = await http.call("POST", "/api/collections", su=True, json=body)
    assert r.status_code == 200, r.text


async def sign_up(http: Http, email: str) -> Any:
    return await http.call(
        "POST",
        "/api/collections/members/records",
        json={"email": email, "password": "password-123", "passwordConfirm": "password-123"},
    )


@pytest.mark.parametrize(
    "make",
    [make_from_yaml, make_from_api, make_from_api_with_own_indexes],
    ids=["baas.yaml", "POST /api/collections", "request overriding the system index"],
)
async def test_a_taken_email_cannot_sign_up_again_in_any_case(http: Http, make: Any) -> None:
    await make(http)
    coll = http.engine.registry.get("members")
    assert {"idx_email_members", "idx_tokenKey_members"} <= await db_indexes(http.engine, "members")
    assert any("COLLATE NOCASE" in i and "idx_email_members" in i for i in coll.indexes)
    first = await sign_up(http, "alice@example.com")
    assert first.status_code == 200, first.text
    for again in ("alice@example.com", "Alice@Example.COM"):
        r = await sign_up(http, again)
        assert r.status_code == 400, r.text
        assert r.json()["data"]["email"]["code"] == "validation_not_unique", r.text
    # The first owner still signs in, with the address in any case.
    for identity in ("alice@example.com", "ALICE@example.com"):
        r = await http.call(
            "POST",
            "/api/collections/members/auth-with-password",
            json={"identity": identity, "password": "password-123"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["record"]["id"] == first.json()["id"]
    rows = await http.engine.db.fetch('SELECT "id" FROM "members"')
    assert len(rows) == 1


@pytest.mark.parametrize(
    "indexes",
    ["", "    indexes: []\n", "    indexes:\n      - {columns: [name], unique: false}\n"],
    ids=["no indexes key", "empty indexes", "only an own index"],
)
async def test_declaring_users_never_drops_its_system_indexes(engine: Engine, indexes: str) -> None:
    text = (
        "collections:\n  - name: users\n    type: auth\n" + indexes + "    fields:\n      - {name: name, type: text}\n"
    )
    wanted = load_schema_text(text).collections
    plan = await engine.plan(wanted)
    assert not [c for c in plan.changes if c.action == "indexes" and "drops" in c.detail], plan.describe()
    await engine.apply(wanted, accept_data_loss=True)
    assert {"idx_email_users", "idx_tokenKey_users"} <= await db_indexes(engine, "users")
    users = engine.registry.get("users")
    assert [i.split("`")[1] for i in users.indexes[:2]] == ["idx_tokenKey_users", "idx_email_users"]


async def test_dropping_an_index_of_a_table_with_rows_needs_the_flag(engine: Engine) -> None:
    with_index = """
collections:
  - name: posts
    fields:
      - {name: slug, type: text}
    indexes:
      - {columns: [slug], unique: true}
"""
    without = with_index.split("    indexes:")[0]
    await engine.apply(load_schema_text(with_index).collections)
    # No rows yet: the index goes without the flag, and comes back.
    await engine.apply(load_schema_text(without).collections)
    await engine.apply(load_schema_text(with_index).collections)
    await engine.db.write(lambda c: c.execute('INSERT INTO "posts" ("id", "slug") VALUES (\'p1\', \'a\')'))
    plan = await engine.plan(load_schema_text(without).collections)
    assert plan.destructive and "drops idx_posts_slug" in plan.describe()
    from baas.errors import SchemaError

    with pytest.raises(SchemaError, match="lose data"):
        await engine.apply(load_schema_text(without).collections)
    assert "idx_posts_slug" in await db_indexes(engine, "posts")
    # A rename of the indexed field keeps the index: not a loss.
    fid = engine.registry.get("posts").field("slug").id
    renamed = with_index.replace("{name: slug, type: text}", f"{{name: handle, type: text, id: {fid}}}")
    renamed = renamed.replace("columns: [slug]", "columns: [handle]")
    plan = await engine.plan(load_schema_text(renamed).collections)
    assert not plan.destructive, plan.describe()
    await engine.apply(load_schema_text(without).collections, accept_data_loss=True)
    assert "idx_posts_slug" not in await db_indexes(engine, "posts")
