"""API keys: superusers create, list and revoke them; a key is scoped per collection and action,
is seen by rules as ``@request.auth.collectionName = "_apikeys"`` and is never a superuser."""

from __future__ import annotations

from typing import Any

import pytest

from baas.schema.loader import load_schema_text
from tests.harness import Api

K = "/api/apikeys"
C = "/api/collections/comments/records"
N = "/api/collections/notes/records"
F = "/api/collections/feeds/records"

FEEDS = """
collections:
  - name: feeds
    listRule: '@request.auth.collectionName = "_apikeys"'
    viewRule: '@request.auth.collectionName = "_apikeys" && @request.auth.name = "importer"'
    createRule: '@request.auth.collectionName = "_apikeys" && owner = @request.auth.id'
    updateRule: '@request.auth.collectionName = "_apikeys"'
    deleteRule: '@request.auth.collectionName = "_apikeys"'
    fields:
      - {name: title, type: text}
      - {name: owner, type: text}
"""


async def make_key(a: Api, scopes: list[dict[str, Any]], name: str = "k", **extra: Any) -> dict[str, Any]:
    r = await a.call("POST", K, "su", json={"name": name, "scopes": scopes, **extra})
    assert r.status_code == 200, r.text
    return r.json()


async def as_key(a: Api, key: str, method: str, url: str, **kw: Any):
    return await a.client.request(method, url, headers={"Authorization": key}, **kw)


@pytest.fixture
async def kapi(api: Api) -> Api:  # noqa: F811
    """The app plus a ``feeds`` collection whose rules are written for API keys, a comment and a note."""
    feeds = load_schema_text(FEEDS).collections
    await api.engine.apply(lambda: [*api.engine.registry.all(), *feeds])
    r = await api.call(
        "POST",
        "/api/collections/posts/records",
        "alice",
        json={"title": "P", "author": api.users["alice"], "published": True},
    )
    assert r.status_code == 200, r.text
    post = r.json()["id"]
    r = await api.call("POST", C, "su", json={"post": post, "message": "hello"})
    api.users["comment"] = r.json()["id"]
    r = await api.call("POST", N, "su", json={"post": post, "text": "note"})
    api.users["note"] = r.json()["id"]
    api.users["post"] = post
    return api


# -- creating keys: every bad input ---------------------------------------------------------------
GOOD = [{"collection": "comments", "actions": ["list"]}]
BAD_CREATE = [
    ("missing name", {"scopes": GOOD}, "name"),
    ("blank name", {"name": "  ", "scopes": GOOD}, "name"),
    ("name not a string", {"name": 5, "scopes": GOOD}, "name"),
    ("name too long", {"name": "x" * 101, "scopes": GOOD}, "name"),
    ("missing scopes", {"name": "k"}, "scopes"),
    ("empty scopes", {"name": "k", "scopes": []}, "scopes"),
    ("scopes not a list", {"name": "k", "scopes": {"collection": "comments"}}, "scopes"),
    ("scope not an object", {"name": "k", "scopes": ["comments"]}, "scopes.0"),
    (
        "scope with an unknown key",
        {"name": "k", "scopes": [{"collection": "comments", "actions": ["list"], "filter": "x"}]},
        "scopes.0",
    ),
    (
        "unknown collection",
        {"name": "k", "scopes": [{"collection": "nope", "actions": ["list"]}]},
        "scopes.0.collection",
    ),
    ("collection missing", {"name": "k", "scopes": [{"actions": ["list"]}]}, "scopes.0.collection"),
    ("unknown action", {"name": "k", "scopes": [{"collection": "comments", "actions": ["read"]}]}, "scopes.0.actions"),
    ("empty actions", {"name": "k", "scopes": [{"collection": "comments", "actions": []}]}, "scopes.0.actions"),
    (
        "actions not a list",
        {"name": "k", "scopes": [{"collection": "comments", "actions": "list"}]},
        "scopes.0.actions",
    ),
    ("expires not a date", {"name": "k", "scopes": GOOD, "expires": "tomorrow"}, "expires"),
    ("expires not a string", {"name": "k", "scopes": GOOD, "expires": 12}, "expires"),
    ("expires in the past", {"name": "k", "scopes": GOOD, "expires": "2001-01-01 00:00:00.000Z"}, "expires"),
]


@pytest.mark.parametrize("body,field", [pytest.param(b, f, id=n) for n, b, f in BAD_CREATE])
async def test_create_rejects_bad_input(kapi: Api, body: dict, field: str) -> None:
    r = await kapi.call("POST", K, "su", json=body)
    assert r.status_code == 400, r.text
    assert field in r.json()["data"], r.text
    assert (await kapi.call("GET", K, "su")).json()["totalItems"] == 0  # nothing half-written


async def test_create_rejects_malformed_json_and_non_superusers(kapi: Api) -> None:
    r = await kapi.client.post(
        K, content=b"{nope", headers={"Authorization": kapi.tokens["su"], "content-type": "application/json"}
    )
    assert r.status_code == 400
    assert (await kapi.client.post(K, json={"name": "k", "scopes": GOOD})).status_code == 401
    assert (await kapi.call("POST", K, "alice", json={"name": "k", "scopes": GOOD})).status_code == 403
    for method, url in (("GET", K), ("GET", K + "/x"), ("DELETE", K + "/x")):
        assert (await kapi.call(method, url)).status_code == 401
        assert (await kapi.call(method, url, "alice")).status_code == 403


async def test_key_shown_once_and_never_listed(kapi: Api) -> None:
    made = await make_key(kapi, GOOD, expires="2100-01-01T00:00:00Z")
    key = made["key"]
    assert key.startswith("baas_") and len(key) == 48
    assert made["expires"] == "2100-01-01 00:00:00.000Z" and made["revoked"] is False and made["lastUsed"] == ""
    assert made["createdBy"]  # the superuser's id
    listed = await kapi.call("GET", K, "su")
    assert listed.status_code == 200 and listed.json()["totalItems"] == 1
    item = listed.json()["items"][0]
    assert item["id"] == made["id"] and "key" not in item and "hash" not in item
    assert key not in listed.text and key[5:] not in listed.text
    viewed = await kapi.call("GET", f"{K}/{made['id']}", "su")
    assert viewed.status_code == 200 and "key" not in viewed.json() and key not in viewed.text
    assert (await kapi.call("GET", f"{K}/nope", "su")).status_code == 404
    # Only a hash is stored.
    stored = await kapi.engine.db.fetchval('SELECT "hash" FROM "_apikeys" WHERE "id" = ?', [made["id"]])
    assert stored != key and key not in stored


# -- scopes by collection and action --------------------------------------------------------------
SCOPE_CASES = [
    # (name, scopes, method, url, status)
    ("list with list scope", [{"collection": "comments", "actions": ["list"]}], "GET", C, 200),
    ("view without view scope", [{"collection": "comments", "actions": ["list"]}], "GET", C + "/{comment}", 403),
    ("view with view scope", [{"collection": "comments", "actions": ["view"]}], "GET", C + "/{comment}", 200),
    ("create without create scope", [{"collection": "comments", "actions": ["list", "view"]}], "POST", C, 403),
    ("create with create scope", [{"collection": "comments", "actions": ["create"]}], "POST", C, 200),
    (
        "update without update scope",
        [{"collection": "comments", "actions": ["create"]}],
        "PATCH",
        C + "/{comment}",
        403,
    ),
    ("update with update scope", [{"collection": "comments", "actions": ["update"]}], "PATCH", C + "/{comment}", 200),
    (
        "delete without delete scope",
        [{"collection": "comments", "actions": ["update"]}],
        "DELETE",
        C + "/{comment}",
        403,
    ),
    ("delete with delete scope", [{"collection": "comments", "actions": ["delete"]}], "DELETE", C + "/{comment}", 204),
    ("other collection is out of scope", [{"collection": "comments", "actions": ["list", "view"]}], "GET", N, 403),
    ("wildcard collection", [{"collection": "*", "actions": ["list"]}], "GET", N, 200),
    ("wildcard collection keeps the action", [{"collection": "*", "actions": ["list"]}], "POST", N, 403),
    (
        "two scopes",
        [{"collection": "notes", "actions": ["view"]}, {"collection": "comments", "actions": ["list"]}],
        "GET",
        N + "/{note}",
        200,
    ),
    # Scope first, then rules: a null rule stays superusers-only even for a full-access key.
    (
        "locked collection with a full scope",
        [{"collection": "*", "actions": ["list", "view", "create"]}],
        "GET",
        "/api/collections/vault/records",
        403,
    ),
    # Rules still apply after the scope: posts' update rule wants the author.
    (
        "rule still applies",
        [{"collection": "posts", "actions": ["update"]}],
        "PATCH",
        "/api/collections/posts/records/{post}",
        404,
    ),
]


@pytest.mark.parametrize("scopes,method,url,status", [pytest.param(*c[1:], id=c[0]) for c in SCOPE_CASES])
async def test_scopes(kapi: Api, scopes: list, method: str, url: str, status: int) -> None:
    key = (await make_key(kapi, scopes))["key"]
    url = url.format(**kapi.users)
    body = {"post": kapi.users["post"], "message": "by key", "text": "t", "title": "x"}
    kw: dict[str, Any] = (
        {"json": {k: v for k, v in body.items() if k in ("post", "message")}} if method in ("POST", "PATCH") else {}
    )
    r = await as_key(kapi, key, method, url, **kw)
    assert r.status_code == status, r.text
    if status == 403 and "vault" not in url:
        assert "scope" in r.json()["message"]


async def test_scope_checked_in_batch(kapi: Api) -> None:
    r = await kapi.call("PATCH", "/api/settings", "su", json={"batch": {"enabled": True}})
    assert r.status_code == 200, r.text
    key = (await make_key(kapi, [{"collection": "comments", "actions": ["create"]}]))["key"]
    before = await kapi.count("comments")
    reqs = {
        "requests": [
            {"method": "POST", "url": C, "body": {"message": "a"}},
            {"method": "POST", "url": N, "body": {"post": kapi.users["post"], "text": "b"}},
        ]
    }
    r = await as_key(kapi, key, "POST", "/api/batch", json=reqs)
    assert r.status_code == 400, r.text
    assert r.json()["data"]["requests"]["1"]["response"]["status"] == 403
    assert await kapi.count("comments") == before  # the first write was rolled back
    ok = {
        "requests": [
            {"method": "POST", "url": C, "body": {"message": "a"}},
            {"method": "PUT", "url": C, "body": {"id": kapi.users["comment"], "message": "b"}},
        ]
    }
    r = await as_key(kapi, key, "POST", "/api/batch", json=ok)  # PUT on an existing id is an update
    assert r.status_code == 400 and r.json()["data"]["requests"]["1"]["response"]["status"] == 403
    # ...and on a new id too: an upsert needs both scopes, so the 403 does not tell whether the id exists
    fresh = {"requests": [{"method": "PUT", "url": C, "body": {"id": "neverexisted000", "message": "c"}}]}
    r = await as_key(kapi, key, "POST", "/api/batch", json=fresh)
    assert r.status_code == 400 and r.json()["data"]["requests"]["0"]["response"]["status"] == 403
    ok["requests"].pop()
    r = await as_key(kapi, key, "POST", "/api/batch", json=ok)
    assert r.status_code == 200, r.text


# -- rules see the key ------------------------------------------------------------------------------
async def test_rules_see_api_keys(kapi: Api) -> None:
    full = [{"collection": "feeds", "actions": ["list", "view", "create", "update", "delete"]}]
    importer = await make_key(kapi, full, name="importer")
    other = await make_key(kapi, full, name="other")
    # createRule: an API key, and owner must be the key's id.
    r = await as_key(kapi, importer["key"], "POST", F, json={"title": "a", "owner": importer["id"]})
    assert r.status_code == 200, r.text
    feed = r.json()["id"]
    r = await as_key(kapi, importer["key"], "POST", F, json={"title": "b", "owner": other["id"]})
    assert r.status_code == 400
    assert (await kapi.call("POST", F, "alice", json={"title": "c", "owner": kapi.users["alice"]})).status_code == 400
    assert (await kapi.call("POST", F, json={"title": "c"})).status_code == 400
    # listRule: API keys only (users and guests get an empty list).
    r = await as_key(kapi, other["key"], "GET", F)
    assert r.status_code == 200 and r.json()["totalItems"] == 1
    assert (await kapi.call("GET", F, "alice")).json()["totalItems"] == 0
    assert (await kapi.call("GET", F)).json()["totalItems"] == 0
    # viewRule: @request.auth.name
    assert (await as_key(kapi, importer["key"], "GET", f"{F}/{feed}")).status_code == 200
    assert (await as_key(kapi, other["key"], "GET", f"{F}/{feed}")).status_code == 404
    assert (await kapi.call("GET", f"{F}/{feed}", "alice")).status_code == 404
    # updateRule: any key; not a user.
    assert (await as_key(kapi, other["key"], "PATCH", f"{F}/{feed}", json={"title": "z"})).status_code == 200
    assert (await kapi.call("PATCH", f"{F}/{feed}", "alice", json={"title": "y"})).status_code == 404
    # Client filters reaching for @request stay superusers-only, for keys as for users (PocketBase).
    r = await as_key(kapi, importer["key"], "GET", F, params={"filter": "owner = @request.auth.id"})
    assert r.status_code == 403
    assert (await as_key(kapi, other["key"], "DELETE", f"{F}/{feed}")).status_code == 204


async def test_bearer_prefix_and_jwt_path_unchanged(kapi: Api) -> None:
    key = (await make_key(kapi, GOOD))["key"]
    r = await kapi.client.get(C, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200
    assert (await kapi.call("GET", "/api/collections/posts/records", "alice")).status_code == 200


# -- never a superuser ------------------------------------------------------------------------------
NOT_SUPERUSER = [
    ("GET", "/api/collections"),
    ("GET", "/api/collections/comments"),
    ("POST", "/api/collections"),
    ("GET", "/api/settings"),
    ("PATCH", "/api/settings"),
    ("GET", K),
    ("POST", K),
    ("POST", "/api/collections/users/impersonate/{alice}"),
    ("GET", "/api/collections/_superusers/records"),
]


@pytest.mark.parametrize("method,url", NOT_SUPERUSER)
async def test_key_is_never_a_superuser(kapi: Api, method: str, url: str) -> None:
    everything = [{"collection": "*", "actions": ["list", "view", "create", "update", "delete"]}]
    key = (await make_key(kapi, everything))["key"]
    kw = {"json": {"name": "x", "scopes": everything}} if method in ("POST", "PATCH") else {}
    r = await as_key(kapi, key, method, url.format(**kapi.users), **kw)
    assert r.status_code == 403, r.text


async def test_key_is_not_a_record_token(kapi: Api) -> None:
    key = (await make_key(kapi, [{"collection": "*", "actions": ["list"]}]))["key"]
    r = await as_key(kapi, key, "POST", "/api/collections/users/auth-refresh")
    assert r.status_code == 401


# -- refused keys ------------------------------------------------------------------------------------
MALFORMED = [
    ("too short", "baas_abc"),
    ("right shape, unknown", "baas_" + "A" * 43),
    ("bad characters", "baas_" + "!" * 43),
    ("too long", "baas_" + "A" * 44),
    ("prefix only", "baas_"),
]


@pytest.mark.parametrize("key", [pytest.param(k, id=n) for n, k in MALFORMED])
async def test_malformed_or_unknown_key_is_401(kapi: Api, key: str) -> None:
    r = await as_key(kapi, key, "GET", C)  # comments are public: a guest would get 200
    assert r.status_code == 401, r.text
    assert r.json()["status"] == 401 and r.json()["data"] == {}


async def test_revoked_key_is_401(kapi: Api) -> None:
    made = await make_key(kapi, GOOD)
    assert (await as_key(kapi, made["key"], "GET", C)).status_code == 200
    assert (await kapi.call("DELETE", f"{K}/{made['id']}", "alice")).status_code == 403
    assert (await kapi.call("DELETE", f"{K}/{made['id']}", "su")).status_code == 204
    r = await as_key(kapi, made["key"], "GET", C)
    assert r.status_code == 401 and "revoked" in r.json()["message"]
    listed = (await kapi.call("GET", K, "su")).json()["items"]
    assert listed[0]["revoked"] is True
    assert (await kapi.call("DELETE", f"{K}/nope", "su")).status_code == 404


async def test_expired_key_is_401(kapi: Api) -> None:
    made = await make_key(kapi, GOOD, expires="2100-01-01 00:00:00Z")
    assert (await as_key(kapi, made["key"], "GET", C)).status_code == 200
    await kapi.engine.db.write(
        lambda conn: conn.execute(
            'UPDATE "_apikeys" SET "expires" = ? WHERE "id" = ?', ["2001-01-01 00:00:00.000Z", made["id"]]
        )
    )
    r = await as_key(kapi, made["key"], "GET", C)
    assert r.status_code == 401 and "expired" in r.json()["message"]


async def test_last_used_written_at_most_once_a_minute(kapi: Api) -> None:
    made = await make_key(kapi, GOOD)
    for _ in range(3):
        assert (await as_key(kapi, made["key"], "GET", C)).status_code == 200
    first = (await kapi.call("GET", f"{K}/{made['id']}", "su")).json()["lastUsed"]
    assert first
    assert (await as_key(kapi, made["key"], "GET", C)).status_code == 200
    assert (await kapi.call("GET", f"{K}/{made['id']}", "su")).json()["lastUsed"] == first
    # Another engine (or a restart) sees the stored value and does not write either.
    kapi.engine.apikey_use.clear()
    assert (await as_key(kapi, made["key"], "GET", C)).status_code == 200
    assert (await kapi.call("GET", f"{K}/{made['id']}", "su")).json()["lastUsed"] == first
    # Once the stored value is older than a minute, the next use refreshes it.
    await kapi.engine.db.write(
        lambda conn: conn.execute(
            'UPDATE "_apikeys" SET "lastUsed" = ? WHERE "id" = ?', ["2001-01-01 00:00:00.000Z", made["id"]]
        )
    )
    kapi.engine.apikey_use.clear()
    assert (await as_key(kapi, made["key"], "GET", C)).status_code == 200
    assert (await kapi.call("GET", f"{K}/{made['id']}", "su")).json()["lastUsed"] > "2001"


async def test_list_pages(kapi: Api) -> None:
    for i in range(3):
        await make_key(kapi, GOOD, name=f"k{i}")
    r = await kapi.call("GET", K, "su", params={"perPage": 2, "page": 2})
    body = r.json()
    assert body["totalItems"] == 3 and body["totalPages"] == 2 and len(body["items"]) == 1
    assert (await kapi.call("GET", K, "su", params={"page": "x"})).status_code == 400
