"""``POST /api/collections/rules/check`` and ``/rules/playground``: the rule compiler and the
record reader the API uses, asked ahead of time; both databases, nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import Console

POSTS = {
    "name": "posts",
    "type": "base",
    "listRule": "",
    "viewRule": "published = true || author = @request.auth.id",
    "createRule": "@request.auth.id != '' && @request.body.author = @request.auth.id",
    "updateRule": "author = @request.auth.id",
    "deleteRule": None,
    "fields": [
        {"name": "title", "type": "text", "required": True},
        {"name": "published", "type": "bool"},
        {"name": "secret", "type": "text", "hidden": True},
        {"name": "author", "type": "relation", "collectionId": "users", "maxSelect": 1},
    ],
}
USER = {"email": "u@example.com", "password": "user-password-1", "passwordConfirm": "user-password-1"}


# rule -> (ok, where the error points: the text at [position:position+length], or None)
CHECKS: dict[str, tuple[str, bool, str | None]] = {
    "empty is anyone": ("", True, None),
    "field and request": ("title != '' && author = @request.auth.id", True, None),
    "relation path": ("author.email ~ 'example.com'", True, None),
    "unknown field named": ("titel = 'x'", False, "titel"),
    "unknown part of a path": ("author.emial = 'x'", False, "emial"),
    "missing operand": ("title =", False, None),
    "bad operator at its position": ("title === 'x'", False, "==="),
    "unterminated string": ("title = 'abc", False, "'abc"),
    "unknown request field": ("@request.nothing = 1", False, None),
}


@pytest.mark.parametrize("case", CHECKS.values(), ids=CHECKS.keys())
async def test_check_saved_collection(console: Console, case: tuple[str, bool, str | None]) -> None:
    rule, ok, points_at = case
    su = await _setup(console)
    r = await console.call("POST", "/api/collections/rules/check", su, json={"collection": "posts", "rule": rule})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["ok"] is ok, out
    if not ok:
        assert out["message"].startswith("Invalid rule: ")
        # the same message saving the rule gives
        saved = await console.call("PATCH", "/api/collections/posts", su, json={"listRule": rule})
        assert saved.status_code == 400 and saved.json()["data"]["listRule"]["message"] == out["message"]
    if points_at is not None:
        assert out["position"] is not None, out
        assert rule[out["position"] : out["position"] + out["length"]] == points_at


async def test_check_a_draft_resolves_its_own_unsaved_fields(console: Console) -> None:
    su = await console.sign_in()
    draft = {
        "name": "notes",
        "type": "base",
        "fields": [
            {"name": "body", "type": "text"},
            {"name": "parent", "type": "relation", "collectionId": "notes", "maxSelect": 1},
        ],
    }
    for rule, ok in [("body ~ 'x' && parent.body != ''", True), ("title = 'x'", False)]:
        r = await console.call("POST", "/api/collections/rules/check", su, json={"collection": draft, "rule": rule})
        assert r.status_code == 200 and r.json()["ok"] is ok, r.text
    # an edited draft of a saved collection: a renamed field resolves under its new name only
    await _setup(console)
    fields = (await console.call("GET", "/api/collections/posts", su)).json()["fields"]
    for f in fields:
        if f["name"] == "title":
            f["name"] = "headline"
    for rule, ok in [("headline != ''", True), ("title != ''", False)]:
        r = await console.call(
            "POST",
            "/api/collections/rules/check",
            su,
            json={"collection": {"name": "posts", "type": "base", "fields": fields}, "rule": rule},
        )
        assert r.status_code == 200 and r.json()["ok"] is ok, r.text
    assert (await console.call("GET", "/api/collections", su)).json()["totalItems"] == 3  # nothing created


@pytest.mark.parametrize(
    ("path", "body", "status", "key"),
    [
        ("check", {"collection": "posts", "rule": 5}, 400, "rule"),
        ("check", {"rule": "x = 1"}, 400, "collection"),
        ("check", {"collection": "nothing-here", "rule": ""}, 404, None),
        ("check", {"collection": {"name": "bad name!", "fields": []}, "rule": ""}, 400, "name"),
        ("playground", {"collection": "posts", "action": "peek", "requester": {"type": "guest"}}, 400, "action"),
        ("playground", {"collection": "posts", "action": "list", "requester": {"type": "god"}}, 400, "requester"),
        (
            "playground",
            {
                "collection": "posts",
                "action": "list",
                "requester": {"type": "record", "collection": "posts", "id": "x"},
            },
            400,
            "requester",
        ),
        (
            "playground",
            {
                "collection": "posts",
                "action": "list",
                "requester": {"type": "record", "collection": "users", "id": "nobody"},
            },
            400,
            "requester",
        ),
        (
            "playground",
            {"collection": "posts", "action": "list", "requester": {"type": "apikey", "id": "nokey"}},
            400,
            "requester",
        ),
        (
            "playground",
            {"collection": "posts", "action": "list", "rule": "nope = 1", "requester": {"type": "guest"}},
            400,
            "rule",
        ),
        (
            "playground",
            {"collection": "posts", "action": "list", "rule": 3, "requester": {"type": "guest"}},
            400,
            "rule",
        ),
        ("playground", {"collection": "nothing", "action": "list", "requester": {"type": "guest"}}, 404, None),
    ],
    ids=[
        "rule not a string",
        "no collection",
        "unknown collection",
        "draft with a bad name",
        "unknown action",
        "unknown requester type",
        "requester from a base collection",
        "unknown user",
        "unknown api key",
        "invalid rule text",
        "rule not a string (playground)",
        "unknown collection (playground)",
    ],
)
async def test_bad_requests_answer_in_the_error_shape(
    console: Console, path: str, body: dict, status: int, key: str | None
) -> None:
    su = await _setup(console)
    r = await console.call("POST", f"/api/collections/rules/{path}", su, json=body)
    assert r.status_code == status, r.text
    out = r.json()
    assert out["status"] == status and out["message"] and isinstance(out["data"], dict)
    if key:
        assert key in out["data"], out


async def test_only_superusers(console: Console) -> None:
    su = await _setup(console)
    assert (await console.call("POST", "/api/collections/users/records", su, json=USER)).status_code == 200
    user = await console.sign_in(USER["email"], USER["password"], collection="users")
    for path, body in [
        ("check", {"collection": "posts", "rule": ""}),
        ("playground", {"collection": "posts", "action": "list", "requester": {"type": "guest"}}),
    ]:
        assert (await console.call("POST", f"/api/collections/rules/{path}", json=body)).status_code == 401
        assert (await console.call("POST", f"/api/collections/rules/{path}", user, json=body)).status_code == 403


async def _setup(c: Console) -> str:
    su = await c.sign_in()
    existing = await c.call("GET", "/api/collections/posts", su)
    if existing.status_code == 200:
        return su
    assert (await c.call("POST", "/api/collections", su, json=POSTS)).status_code == 200
    return su


async def _records(c: Console, su: str) -> dict[str, Any]:
    """A user, another user, and posts: one public, one draft by each user."""
    r = await c.call("POST", "/api/collections/users/records", su, json=USER)
    assert r.status_code == 200, r.text
    uid = r.json()["id"]
    other = await c.call("POST", "/api/collections/users/records", su, json={**USER, "email": "other@example.com"})
    oid = other.json()["id"]
    ids = {}
    for title, pub, author in [("public", True, oid), ("mine", False, uid), ("theirs", False, oid)]:
        r = await c.call(
            "POST",
            "/api/collections/posts/records",
            su,
            json={"title": title, "published": pub, "author": author, "secret": "s3"},
        )
        assert r.status_code == 200, r.text
        ids[title] = r.json()["id"]
    return {"user": uid, "other": oid, **ids}


async def _play(c: Console, su: str, **body: Any) -> dict[str, Any]:
    r = await c.call("POST", "/api/collections/rules/playground", su, json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def test_playground_gives_what_the_records_api_gives(console: Console) -> None:
    su = await _setup(console)
    ids = await _records(console, su)
    guest, user = {"type": "guest"}, {"type": "record", "collection": "users", "id": ids["user"]}
    token = await console.sign_in(USER["email"], USER["password"], collection="users")

    # view: the guest sees the public post; the user also their own; the same as the API answers
    out = await _play(console, su, collection="posts", action="view", requester=guest)
    assert out["allowed"] is True and [r["title"] for r in out["records"]] == ["public"]
    assert [c["text"] for c in out["clauses"]] == ["published = true", "author = @request.auth.id"]
    assert [c.get("matches") for c in out["clauses"]] == [1, 0]
    out = await _play(console, su, collection="posts", action="view", requester=user)
    assert sorted(r["title"] for r in out["records"]) == ["mine", "public"]
    for title in ("public", "mine", "theirs"):
        api = await console.call("GET", f"/api/collections/posts/records/{ids[title]}", token)
        assert (api.status_code == 200) is (title in ("public", "mine"))
    # hidden fields stay hidden, as the requester would get the records
    assert all("secret" not in r for r in out["records"])

    # update: only the author's own; the guest gets nothing and the clause says why
    out = await _play(console, su, collection="posts", action="update", requester=guest)
    assert (
        out["allowed"] is False
        and out["records"] == []
        and out["clauses"] == [{"text": "author = @request.auth.id", "holds": None, "matches": 0}]
    )
    out = await _play(console, su, collection="posts", action="update", requester=user)
    assert [r["title"] for r in out["records"]] == ["mine"]

    # delete is locked; create reads no row: decided for the requester and the submitted body
    out = await _play(console, su, collection="posts", action="delete", requester=user)
    assert out["allowed"] is False and "Superusers only" in out["reason"]
    out = await _play(console, su, collection="posts", action="create", requester=guest)
    # (no body author and no auth id: the second clause holds for a guest, the first does not)
    assert out["allowed"] is False and [c["holds"] for c in out["clauses"]] == [False, True]
    out = await _play(console, su, collection="posts", action="create", requester=user, body={"author": ids["user"]})
    assert out["allowed"] is True and [c["holds"] for c in out["clauses"]] == [True, True]
    out = await _play(console, su, collection="posts", action="create", requester=user, body={"author": ids["other"]})
    assert out["allowed"] is False and [c["holds"] for c in out["clauses"]] == [True, False]
    for author, status in [(ids["other"], 400), (ids["user"], 200)]:  # what the API does with those bodies
        r = await console.call("POST", "/api/collections/posts/records", token, json={"title": "t", "author": author})
        assert r.status_code == status, r.text


async def test_playground_tries_a_rule_before_it_is_saved(console: Console) -> None:
    su = await _setup(console)
    ids = await _records(console, su)
    user = {"type": "record", "collection": "users", "id": ids["user"]}
    out = await _play(
        console,
        su,
        collection="posts",
        action="list",
        requester=user,
        rule="author = @request.auth.id && published = true",
    )
    assert out["allowed"] is False and out["records"] == []
    assert [c.get("matches") for c in out["clauses"]] == [1, 1]  # each holds alone; not together
    out = await _play(console, su, collection="posts", action="list", requester=user, rule=None)
    assert out["allowed"] is False and "locked" in out["reason"]
    # nothing was saved
    assert (await console.call("GET", "/api/collections/posts", su)).json()["listRule"] == ""


async def test_playground_api_key_scopes_then_rules(console: Console) -> None:
    su = await _setup(console)
    await _records(console, su)
    made = []
    for scopes in ([{"collection": "posts", "actions": ["list"]}], [{"collection": "users", "actions": ["list"]}]):
        r = await console.call("POST", "/api/apikeys", su, json={"name": "k", "scopes": scopes})
        assert r.status_code == 200, r.text
        made.append(r.json())
    out = await _play(console, su, collection="posts", action="list", requester={"type": "apikey", "id": made[0]["id"]})
    assert out["allowed"] is True and out["totalItems"] == 3
    api = await console.call("GET", "/api/collections/posts/records", made[0]["key"])
    assert api.json()["totalItems"] == 3
    out = await _play(console, su, collection="posts", action="list", requester={"type": "apikey", "id": made[1]["id"]})
    assert out["allowed"] is False and "scope" in out["reason"]
    assert (await console.call("GET", "/api/collections/posts/records", made[1]["key"])).status_code == 403


async def test_playground_explains_at_most_twenty_parts(console: Console) -> None:
    su = await _setup(console)
    rule = " || ".join(f"title = 'p{i}'" for i in range(25))
    out = await _play(console, su, collection="posts", action="list", requester={"type": "guest"}, rule=rule)
    assert len(out["clauses"]) == 20 and out["clauses"][0] == {"text": 'title = "p0"', "holds": None, "matches": 0}
