"""Table-driven API scenarios: rules, validation and bad input on the records API.

Every scenario runs on a fresh app with three posts (``p1`` alice published, ``p2`` alice
draft, ``p3`` bob published). A 4xx scenario must leave every table and the event stream as it
was, and the server must keep serving.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.harness import Api

P = "/api/collections/posts/records"


@dataclass
class Scenario:
    name: str
    method: str
    url: str
    who: str | None = None
    body: Any = None
    raw: bytes | None = None
    status: int = 200
    contains: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.name


def S(*args: Any, **kw: Any) -> Any:
    s = Scenario(*args, **kw)
    return pytest.param(s, id=s.name)


def new_post(**over: Any) -> dict[str, Any]:
    return {"title": "New", "author": "{alice}", **over}


SCENARIOS = [
    # -- rules ------------------------------------------------------------------------------
    S("list as guest shows published only", "GET", P, contains=["{p1}", "{p3}"], absent=["{p2}"]),
    S("list as owner shows own drafts", "GET", P, "alice", contains=["{p1}", "{p2}", "{p3}"]),
    S("list as other user hides drafts", "GET", P, "bob", contains=["{p1}", "{p3}"], absent=["{p2}"]),
    S("view draft as other user is 404", "GET", P + "/{p2}", "bob", status=404),
    S("view draft as owner", "GET", P + "/{p2}", "alice", contains=["{p2}"]),
    S("view draft as superuser", "GET", P + "/{p2}", "su", contains=["{p2}"]),
    S("locked list as guest is 403", "GET", "/api/collections/vault/records", status=403),
    S("locked list as user is 403", "GET", "/api/collections/vault/records", "alice", status=403),
    S("locked list as superuser", "GET", "/api/collections/vault/records", "su"),
    S("locked create as user is 403", "POST", "/api/collections/vault/records", "alice", {"secret": "x"}, status=403),
    S("create as guest fails the rule", "POST", P, None, new_post(), status=400),
    S("create for another author fails the rule", "POST", P, "bob", new_post(), status=400),
    S("create as the author", "POST", P, "alice", new_post(title="Mine"), contains=['"title":"Mine"']),
    S("update by a non-owner is 404", "PATCH", P + "/{p1}", "bob", {"title": "x"}, status=404),
    S("delete by a non-owner is 404", "DELETE", P + "/{p3}", "alice", status=404),
    S("forged token is treated as guest", "GET", P + "/{p2}", "forged", status=404),
    # -- validation -------------------------------------------------------------------------
    S(
        "missing required field",
        "POST",
        P,
        "alice",
        {"author": "{alice}"},
        status=400,
        contains=['"title":{"code":"validation_required"'],
    ),
    S("unknown field", "POST", P, "alice", new_post(nope=1), status=400, contains=["validation_unknown_field"]),
    S("number as text", "POST", P, "alice", new_post(views="many"), status=400, contains=["validation_invalid_number"]),
    S(
        "bool as text",
        "POST",
        P,
        "alice",
        new_post(published="maybe"),
        status=400,
        contains=["validation_invalid_bool"],
    ),
    S(
        "object for a text field",
        "POST",
        P,
        "alice",
        new_post(title={"a": 1}),
        status=400,
        contains=["validation_invalid_value"],
    ),
    S(
        "text past max",
        "POST",
        P,
        "alice",
        new_post(title="x" * 101),
        status=400,
        contains=["validation_max_text_constraint"],
    ),
    S(
        "number past max",
        "POST",
        P,
        "alice",
        new_post(views=2_000_000),
        status=400,
        contains=["validation_max_number_constraint"],
    ),
    S(
        "number below min",
        "POST",
        P,
        "alice",
        new_post(views=-1),
        status=400,
        contains=["validation_min_number_constraint"],
    ),
    S(
        "decimal in an int field",
        "POST",
        P,
        "alice",
        new_post(views=1.5),
        status=400,
        contains=["validation_only_int_constraint"],
    ),
    S(
        "too many select values",
        "POST",
        P,
        "alice",
        new_post(tags=["a", "b", "c", "d"]),
        status=400,
        contains=["validation_too_many_values"],
    ),
    S(
        "select value not allowed",
        "POST",
        P,
        "alice",
        new_post(tags=["z"]),
        status=400,
        contains=["validation_invalid_value"],
    ),
    S(
        "single select value not allowed",
        "POST",
        P,
        "alice",
        new_post(kind="other"),
        status=400,
        contains=["validation_invalid_value"],
    ),
    S("email not an email", "POST", P, "alice", new_post(contact="nope"), status=400, contains=["validation_is_email"]),
    S(
        "email domain not allowed",
        "POST",
        P,
        "alice",
        new_post(contact="a@evil.com"),
        status=400,
        contains=["validation_email_domain_not_allowed"],
    ),
    S("url not a url", "POST", P, "alice", new_post(link="not a url"), status=400, contains=["validation_is_url"]),
    S(
        "date not a date",
        "POST",
        P,
        "alice",
        new_post(due="yesterday"),
        status=400,
        contains=["validation_invalid_date"],
    ),
    S(
        "date before min",
        "POST",
        P,
        "alice",
        new_post(due="1999-12-31"),
        status=400,
        contains=["validation_min_date_constraint"],
    ),
    S(
        "json past maxSize",
        "POST",
        P,
        "alice",
        new_post(meta={"k": "v" * 300}),
        status=400,
        contains=["validation_json_size_limit"],
    ),
    S(
        "text not matching pattern",
        "POST",
        P,
        "alice",
        new_post(slug="Not Valid!"),
        status=400,
        contains=["validation_invalid_format"],
    ),
    S(
        "duplicate unique value",
        "POST",
        P,
        "alice",
        new_post(slug="first"),
        status=400,
        contains=["validation_not_unique"],
    ),
    S(
        "relation to a missing record",
        "POST",
        P,
        "su",
        new_post(author="nosuchid0000000"),
        status=400,
        contains=["validation_missing_rel_records"],
    ),
    S("invalid custom id", "POST", P, "alice", new_post(id="BAD ID"), status=400, contains=['"id"']),
    S("changing the id", "PATCH", P + "/{p1}", "alice", {"id": "aaaaaaaaaaaaaaa"}, status=400),
    S(
        "valid create with every field",
        "POST",
        P,
        "alice",
        new_post(
            slug="ok-1",
            views=5,
            tags=["a", "b"],
            kind="news",
            contact="x@example.com",
            link="https://example.com/a",
            due="2030-01-02 03:04:05Z",
            meta={"a": [1, 2]},
        ),
        contains=['"views":5', '"tags":["a","b"]', '"due":"2030-01-02 03:04:05.000Z"', '"meta":{"a":[1,2]}'],
    ),
    # -- malformed requests -----------------------------------------------------------------
    S("malformed JSON", "POST", P, "alice", raw=b'{"title": "x",', status=400),
    S("JSON that is not an object", "POST", P, "alice", raw=b'["title"]', status=400),
    S(
        "body past the global limit",
        "POST",
        P,
        "alice",
        raw=b'{"title":"' + b"x" * (50 * 1024 * 1024) + b'"}',
        status=413,
    ),
    S("unknown collection list", "GET", "/api/collections/nope/records", status=404),
    S("unknown collection create", "POST", "/api/collections/nope/records", "su", {"a": 1}, status=404),
    S("unknown record", "GET", P + "/doesnotexist123", "su", status=404),
    S("perPage not a number", "GET", P + "?perPage=abc", status=400),
    # -- filters ----------------------------------------------------------------------------
    S("filter by value", "GET", P + "?filter=views>10", "su", contains=["{p3}"], absent=["{p1}", "{p2}"]),
    S("filter syntax error", "GET", P + "?filter=(title='x'", status=400),
    S("filter on an unknown field", "GET", P + "?filter=nosuch=1", status=400),
    S("sort on an unknown field", "GET", P + "?sort=-nosuch", status=400),
    S(
        "filter injection in a string",
        "GET",
        P + "?filter=" + 'title="x\' OR 1=1 --"',
        "su",
        contains=['"totalItems":0'],
    ),
    S("filter injection as SQL", "GET", P + "?filter=1=1); DROP TABLE posts; --", status=400),
    S("filter injection through a field name", "GET", P + "?filter=" + 'title"=1 OR 1=1--', status=400),
    S(
        "guest filter by @collection is 403",
        "GET",
        P + "?filter=" + '@collection.users.email ?= "alice@example.com"',
        status=403,
    ),
    S("guest filter by @request is 403", "GET", P + "?filter=" + '@request.auth.id = ""', status=403),
    S(
        "user filter on a hidden field is 403",
        "GET",
        "/api/collections/users/records?filter=tokenKey!=''",
        "alice",
        status=403,
    ),
    S(
        "private emails match only their owner",
        "GET",
        P + "?filter=" + 'author.email ~ "example"',
        "bob",
        contains=["{p3}"],
        absent=["{p1}"],
    ),
    S(
        "own email matches",
        "GET",
        "/api/collections/users/records?filter=" + 'email = "alice@example.com"',
        "alice",
        contains=['"totalItems":1'],
    ),
    S(
        "superuser may filter by @collection",
        "GET",
        P + "?filter=" + '@collection.users.name ?= "Bob"',
        "su",
        contains=['"totalItems":3'],
    ),
    S("invalid UTF-8 body", "POST", P, "alice", raw=b'{"title": "' + bytes([0xFF, 0xFE]) + b'"}', status=400),
    S("deeply nested JSON", "POST", P, "alice", raw=b"[" * 100000, status=400),
    S(
        "a huge integer",
        "POST",
        P,
        "alice",
        raw=b'{"title": "x", "author": "{alice}", "views": 1' + b"0" * 400 + b"}",
        status=400,
    ),
    S("page past any range", "GET", P + "?page=99999999999999999999999", status=400),
    S("excerpt too long", "GET", P + "?fields=title:excerpt(99999999999999)", status=400),
    S(
        "password that is not a string",
        "POST",
        "/api/collections/users/records",
        None,
        {"email": "p@example.com", "password": 12345678},
        status=400,
    ),
    S(
        "guest cannot lift the rule with a filter",
        "GET",
        P + "?filter=published=false",
        absent=["{p2}"],
        contains=['"totalItems":0'],
    ),
]


async def _seed(api: Api) -> dict[str, str]:
    ids = {"alice": api.users["alice"], "bob": api.users["bob"]}
    for key, who, title, published, views, slug in (
        ("p1", "alice", "First", True, 1, "first"),
        ("p2", "alice", "Draft", False, 2, "draft"),
        ("p3", "bob", "Third", True, 30, "third"),
    ):
        r = await api.call(
            "POST",
            P,
            who,
            json={"title": title, "published": published, "views": views, "slug": slug, "author": ids[who]},
        )
        assert r.status_code == 200, r.text
        ids[key] = r.json()["id"]
    return ids


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for k, v in ids.items():
            value = value.replace("{" + k + "}", v)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


async def _snapshot(api: Api) -> tuple:
    db = api.engine.db
    counts = []
    for table in ("posts", "comments", "notes", "users", "_events"):
        counts.append(await db.fetchval(f'SELECT count(*) FROM "{table}"'))
    return tuple(counts)


@pytest.mark.parametrize("s", SCENARIOS)
async def test_scenario(api: Api, s: Scenario) -> None:
    ids = await _seed(api)
    api.tokens["forged"] = api.tokens["alice"][:-4] + "AAAA"
    before = await _snapshot(api)
    kwargs: dict[str, Any] = {}
    if s.raw is not None:
        kwargs = {"content": s.raw, "headers": {"content-type": "application/json"}}
    elif s.body is not None:
        kwargs = {"json": _fill(s.body, ids)}
    r = await api.call(s.method, _fill(s.url, ids), s.who, **kwargs)
    assert r.status_code == s.status, r.text[:500]
    text = r.text
    if r.status_code >= 400:
        err = r.json()
        assert err["status"] == s.status and isinstance(err["message"], str) and isinstance(err["data"], dict)
        assert await _snapshot(api) == before, "a refused request changed the data"
    for want in s.contains:
        assert _fill(want, ids) in text, text[:500]
    for unwanted in s.absent:
        assert _fill(unwanted, ids) not in text, text[:500]
    health = await api.call("GET", "/api/health")
    assert health.status_code == 200
    assert await api.count("posts") >= 3  # no injection dropped or emptied the table


async def test_update_modifiers_and_expand(api: Api) -> None:
    ids = await _seed(api)
    r = await api.call(
        "PATCH", P + f"/{ids['p1']}", "alice", json={"views+": 4, "tags+": ["a", "b"], "+tags": "c", "score-": 2}
    )
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["views"] == 5 and rec["tags"] == ["c", "a", "b"] and rec["score"] == -2
    r = await api.call("PATCH", P + f"/{ids['p1']}", "alice", json={"tags-": "a"})
    assert r.json()["tags"] == ["c", "b"]
    r = await api.call(
        "GET", P + f"/{ids['p1']}?expand=author&fields=id,title:excerpt(3,true),expand.author.name", "alice"
    )
    assert r.json() == {"id": ids["p1"], "title": "Fir...", "expand": {"author": {"name": "Alice"}}}
    r = await api.call("POST", "/api/collections/comments/records", json={"post": ids["p1"], "message": "hi"})
    assert r.status_code == 200, r.text
    r = await api.call("GET", P + f"/{ids['p1']}?expand=comments_via_post", "alice")
    assert [c["message"] for c in r.json()["expand"]["comments_via_post"]] == ["hi"]


async def test_delete_cascades_and_required_references_block(api: Api) -> None:
    ids = await _seed(api)
    r = await api.call("POST", "/api/collections/comments/records", json={"post": ids["p3"], "message": "c"})
    comment = r.json()["id"]
    r = await api.call("POST", "/api/collections/notes/records", json={"post": ids["p1"], "text": "n"})
    assert r.status_code == 200, r.text
    # p1 is required by a note: refused, nothing deleted.
    r = await api.call("DELETE", P + f"/{ids['p1']}", "alice")
    assert r.status_code == 400, r.text
    assert (await api.call("GET", P + f"/{ids['p1']}", "alice")).status_code == 200
    # p3 has a cascading comment: both go.
    r = await api.call("DELETE", P + f"/{ids['p3']}", "bob")
    assert r.status_code == 204, r.text
    assert (await api.call("GET", f"/api/collections/comments/records/{comment}")).status_code == 404


async def test_pagination_and_skip_total(api: Api) -> None:
    await _seed(api)
    r = await api.call("GET", P + "?perPage=2&page=2&sort=views", "su")
    body = r.json()
    assert (body["page"], body["perPage"], body["totalItems"], body["totalPages"]) == (2, 2, 3, 2)
    assert [i["views"] for i in body["items"]] == [30]
    r = await api.call("GET", P + "?skipTotal=1&perPage=5000", "su")
    body = r.json()
    assert body["totalItems"] == -1 and body["totalPages"] == -1 and body["perPage"] == 1000


async def test_batch_is_one_transaction(api: Api) -> None:
    ids = await _seed(api)
    one = {"requests": [{"method": "POST", "url": P, "body": {"title": "B0", "author": ids["alice"]}}]}
    r = await api.call("POST", "/api/batch", "alice", json=one)
    assert r.status_code == 403, r.text  # off until a superuser enables it, as PocketBase
    r = await api.call("PATCH", "/api/settings", "su", json={"batch": {"maxRequests": "lots"}})
    assert r.status_code == 400 and "maxRequests" in r.json()["data"]["batch"]
    r = await api.call("PATCH", "/api/settings", "su", json={"batch": {"enabled": True, "maxRequests": 4}})
    assert r.status_code == 200, r.text
    r = await api.call("POST", "/api/batch", "alice", json={"requests": one["requests"] * 5})
    assert r.status_code == 400 and "requests" in r.json()["data"]
    before = await _snapshot(api)
    r = await api.call(
        "POST",
        "/api/batch",
        "alice",
        json={
            "requests": [
                {"method": "POST", "url": P, "body": {"title": "B1", "author": ids["alice"]}},
                {"method": "POST", "url": P, "body": {"title": "", "author": ids["alice"]}},
            ]
        },
    )
    assert r.status_code == 400, r.text
    assert r.json()["data"]["requests"]["1"]["code"] == "batch_request_failed"
    assert await _snapshot(api) == before
    r = await api.call(
        "POST",
        "/api/batch",
        "alice",
        json={
            "requests": [
                {"method": "POST", "url": P, "body": {"id": "batchpost000001", "title": "B1", "author": ids["alice"]}},
                {"method": "PUT", "url": P, "body": {"id": "batchpost000001", "title": "B1 upserted"}},
                {"method": "PATCH", "url": P + f"/{ids['p2']}", "body": {"views+": 1}},
                {"method": "DELETE", "url": P + f"/{ids['p2']}"},
            ]
        },
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert [x["status"] for x in out] == [200, 200, 200, 204]
    assert out[1]["body"]["title"] == "B1 upserted" and out[2]["body"]["views"] == 3


async def test_hidden_and_email_visibility(api: Api) -> None:
    r = await api.call("GET", f"/api/collections/users/records/{api.users['alice']}", "alice")
    rec = r.json()
    assert rec["email"] == "alice@example.com" and "password" not in rec and "tokenKey" not in rec
    # bob may not view alice under the default users rules
    r = await api.call("GET", f"/api/collections/users/records/{api.users['alice']}", "bob")
    assert r.status_code == 404
    r = await api.call(
        "PATCH", f"/api/collections/users/records/{api.users['alice']}", "alice", json={"verified": True}
    )
    assert r.status_code == 400 and "verified" in r.json()["data"]
    r = await api.call(
        "PATCH",
        f"/api/collections/users/records/{api.users['alice']}",
        "alice",
        json={"password": "new-password-1", "passwordConfirm": "new-password-1"},
    )
    assert r.status_code == 400 and "oldPassword" in r.json()["data"]
    assert json.dumps(r.json())  # the error shape is plain JSON


async def test_multipart_and_json_payload_bodies(api: Api) -> None:
    """Forms carry strings (converted per field) and PocketBase's SDK puts JSON in @jsonPayload."""
    form = [
        ("title", (None, "Form")),
        ("views", (None, "7")),
        ("published", (None, "true")),
        ("tags", (None, "a")),
        ("tags", (None, "b")),
        ("author", (None, api.users["alice"])),
    ]
    r = await api.call("POST", P, "alice", files=form)
    assert r.status_code == 200, r.text
    rec = r.json()
    assert (rec["views"], rec["published"], rec["tags"]) == (7, True, ["a", "b"])
    payload = json.dumps({"title": "Payload", "meta": {"k": [1]}, "author": api.users["alice"]})
    r = await api.call("POST", P, "alice", files=[("@jsonPayload", (None, payload))])
    assert r.status_code == 200, r.text
    assert r.json()["meta"] == {"k": [1]}
    r = await api.call("POST", P, "alice", files=[("@jsonPayload", (None, "{broken"))])
    assert r.status_code == 400
    r = await api.call("POST", P, "alice", data={"title": "Urlencoded", "views": "2", "author": api.users["alice"]})
    assert r.status_code == 200 and r.json()["views"] == 2, r.text
    r = await api.call("POST", P, "alice", data={"title": "Bad", "views": "two", "author": api.users["alice"]})
    assert r.status_code == 400


async def test_secrets_never_leave_and_hidden_fields_are_superusers_only(api: Api) -> None:
    r = await api.call("GET", "/api/collections/users/records", "su")
    assert r.status_code == 200 and "tokenKey" not in r.text and "password" not in r.text
    # a hidden field: superusers may set it, others may not
    r = await api.call(
        "PATCH",
        "/api/collections/posts",
        "su",
        json={
            "fields": [
                *(await api.call("GET", "/api/collections/posts", "su")).json()["fields"],
                {"name": "internal", "type": "text", "hidden": True},
            ]
        },
    )
    assert r.status_code == 200, r.text
    r = await api.call("POST", P, "alice", json={"title": "h", "author": api.users["alice"], "internal": "x"})
    assert r.status_code == 400 and r.json()["data"]["internal"]["code"] == "validation_forbidden"
    r = await api.call("POST", P, "su", json={"title": "h", "author": api.users["alice"], "internal": "x"})
    assert r.status_code == 200 and r.json()["internal"] == "x"
    r = await api.call("GET", P + f"/{r.json()['id']}", "alice")
    assert r.status_code == 200 and "internal" not in r.json()


async def test_rules_may_use_hidden_fields(api: Api) -> None:
    r = await api.call(
        "POST",
        "/api/collections",
        "su",
        json={
            "name": "gated",
            "listRule": 'code = "open"',
            "fields": [{"name": "code", "type": "text", "hidden": True}, {"name": "t", "type": "text"}],
        },
    )
    assert r.status_code == 200, r.text
    for code in ("open", "shut"):
        await api.call("POST", "/api/collections/gated/records", "su", json={"code": code, "t": code})
    r = await api.call("GET", "/api/collections/gated/records")
    assert r.status_code == 200 and [i["t"] for i in r.json()["items"]] == ["open"]


async def test_invalid_rules_are_refused_when_saved(api: Api) -> None:
    for rule in ("titel = 'x'", "title = ", "@request.auth.id != '' &&"):
        r = await api.call(
            "POST",
            "/api/collections",
            "su",
            json={"name": "r1", "listRule": rule, "fields": [{"name": "title", "type": "text"}]},
        )
        assert r.status_code == 400 and r.json()["data"]["listRule"]["code"] == "validation_invalid_rule", r.text


async def test_mutual_cascades_delete_both(api: Api) -> None:
    for name in ("ka", "kb"):
        r = await api.call(
            "POST",
            "/api/collections",
            "su",
            json={"name": name, "listRule": "", "viewRule": "", "fields": [{"name": "t", "type": "text"}]},
        )
        assert r.status_code == 200
    ids = {c: (await api.call("GET", f"/api/collections/{c}", "su")).json()["id"] for c in ("ka", "kb")}
    for name, other in (("ka", "kb"), ("kb", "ka")):
        coll = (await api.call("GET", f"/api/collections/{name}", "su")).json()
        coll["fields"].append({"name": "link", "type": "relation", "collectionId": ids[other], "cascadeDelete": True})
        r = await api.call("PATCH", f"/api/collections/{name}", "su", json={"fields": coll["fields"]})
        assert r.status_code == 200, r.text
    a = (await api.call("POST", "/api/collections/ka/records", "su", json={"t": "a"})).json()["id"]
    b = (await api.call("POST", "/api/collections/kb/records", "su", json={"t": "b", "link": a})).json()["id"]
    assert (await api.call("PATCH", f"/api/collections/ka/records/{a}", "su", json={"link": b})).status_code == 200
    r = await api.call("DELETE", f"/api/collections/ka/records/{a}", "su")
    assert r.status_code == 204, r.text
    assert (await api.call("GET", f"/api/collections/kb/records/{b}", "su")).status_code == 404


async def test_concurrent_collection_creates_all_survive(api: Api) -> None:
    import asyncio

    async def create(name: str) -> int:
        r = await api.call(
            "POST", "/api/collections", "su", json={"name": name, "fields": [{"name": "t", "type": "text"}]}
        )
        return r.status_code

    statuses = await asyncio.gather(*(create(f"cc{i}") for i in range(6)))
    assert statuses == [200] * 6
    names = {c["name"] for c in (await api.call("GET", "/api/collections?perPage=100", "su")).json()["items"]}
    assert {f"cc{i}" for i in range(6)} <= names


async def test_system_collections_keep_their_shape(api: Api) -> None:
    r = await api.call("PATCH", "/api/collections/_superusers", "su", json={"system": False})
    assert r.status_code == 400
    r = await api.call("DELETE", "/api/collections/_superusers", "su")
    assert r.status_code == 400


async def test_rules_that_read_no_row(api: Api) -> None:
    """``@request.auth.id != ""`` is settled once per request; guests see nothing, users all."""
    r = await api.call(
        "POST",
        "/api/collections",
        "su",
        json={
            "name": "members",
            "listRule": '@request.auth.id != ""',
            "viewRule": '@request.auth.id != ""',
            "fields": [{"name": "t", "type": "text"}],
        },
    )
    assert r.status_code == 200, r.text
    rid = (await api.call("POST", "/api/collections/members/records", "su", json={"t": "x"})).json()["id"]
    guest = (await api.call("GET", "/api/collections/members/records")).json()
    assert guest["totalItems"] == 0 and guest["items"] == []
    user = (await api.call("GET", "/api/collections/members/records?filter=t='x'", "alice")).json()
    assert user["totalItems"] == 1
    assert (await api.call("GET", f"/api/collections/members/records/{rid}")).status_code == 404
    assert (await api.call("GET", f"/api/collections/members/records/{rid}", "bob")).status_code == 200
