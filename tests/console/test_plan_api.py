"""``POST /api/collections/plan``: the collections API's own planner, dry-run; nothing applied."""

from __future__ import annotations

import pytest

from tests.harness import Console

POSTS = {
    "name": "posts",
    "type": "base",
    "listRule": "",
    "fields": [{"name": "title", "type": "text", "required": True}, {"name": "views", "type": "number"}],
}


async def _setup(c: Console) -> str:
    su = await c.sign_in()
    assert (await c.call("POST", "/api/collections", su, json=POSTS)).status_code == 200
    r = await c.call("POST", "/api/collections/posts/records", su, json={"title": "kept", "views": 3})
    assert r.status_code == 200, r.text
    return su


async def test_create_plan_lists_the_new_collection_and_applies_nothing(console: Console) -> None:
    su = await console.sign_in()
    r = await console.call("POST", "/api/collections/plan", su, json={"action": "create", "collection": POSTS})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["destructive"] is False
    assert [(c["action"], c["collection"]) for c in plan["changes"]] == [("create", "posts")]
    assert plan["text"] == "\n".join(c["text"] for c in plan["changes"])
    assert (await console.call("GET", "/api/collections/posts", su)).status_code == 404


async def test_dropping_a_field_with_data_is_destructive_and_nothing_changes(console: Console) -> None:
    su = await _setup(console)
    fields = (await console.call("GET", "/api/collections/posts", su)).json()["fields"]
    kept = [f for f in fields if f["name"] != "views"]
    r = await console.call(
        "POST",
        "/api/collections/plan",
        su,
        json={"action": "update", "target": "posts", "collection": {"fields": kept}},
    )
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["destructive"] is True
    assert any(c["action"] == "drop_field" and c["destructive"] and "[DATA LOSS]" in c["text"] for c in plan["changes"])
    # Not applied: the field and its value are still there.
    rec = (await console.call("GET", "/api/collections/posts/records", su)).json()["items"][0]
    assert rec["views"] == 3
    # Applying the same body refuses without consent, as the plan said, and works with it.
    r = await console.call("PATCH", "/api/collections/posts", su, json={"fields": kept})
    assert r.status_code == 400
    r = await console.call("PATCH", "/api/collections/posts", su, json={"fields": kept, "acceptDataLoss": True})
    assert r.status_code == 200, r.text


async def test_rename_plans_a_rename_not_a_drop(console: Console) -> None:
    su = await _setup(console)
    fields = (await console.call("GET", "/api/collections/posts", su)).json()["fields"]
    for f in fields:
        if f["name"] == "title":
            f["name"] = "headline"
    r = await console.call(
        "POST",
        "/api/collections/plan",
        su,
        json={"action": "update", "target": "posts", "collection": {"fields": fields}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["destructive"] is False
    assert [c["action"] for c in r.json()["changes"]] == ["rename_field"]


async def test_delete_plan(console: Console) -> None:
    su = await _setup(console)
    r = await console.call("POST", "/api/collections/plan", su, json={"action": "delete", "target": "posts"})
    assert r.status_code == 200, r.text
    assert [(c["action"], c["collection"]) for c in r.json()["changes"]] == [("drop", "posts")]
    assert (await console.call("GET", "/api/collections/posts", su)).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "key"),
    [
        ({"action": "explode"}, 400, "action"),
        ({}, 400, "action"),
        ({"action": "create"}, 400, "collection"),
        ({"action": "create", "collection": {**POSTS, "listRule": "title ="}}, 400, "listRule"),
        ({"action": "create", "collection": {**POSTS, "name": "users"}}, 400, "name"),
        ({"action": "create", "collection": {**POSTS, "fields": [{"name": "x", "type": "nope"}]}}, 400, "collection"),
        ({"action": "update", "target": "nothing-here", "collection": {}}, 404, None),
        ({"action": "delete", "target": "_superusers"}, 400, None),
        ({"action": "update", "target": "_superusers", "collection": {"name": "admins"}}, 400, "system"),
    ],
    ids=[
        "unknown action",
        "no action",
        "create without collection",
        "broken rule",
        "name taken",
        "unknown field type",
        "unknown target",
        "system collection delete",
        "system collection rename",
    ],
)
async def test_bad_requests_answer_in_the_error_shape(
    console: Console, body: dict, status: int, key: str | None
) -> None:
    su = await console.sign_in()
    before = (await console.call("GET", "/api/collections", su)).json()["totalItems"]
    r = await console.call("POST", "/api/collections/plan", su, json=body)
    assert r.status_code == status, r.text
    out = r.json()
    assert out["status"] == status and out["message"] and isinstance(out["data"], dict)
    if key:
        assert key in out["data"], out
    assert (await console.call("GET", "/api/collections", su)).json()["totalItems"] == before


async def test_only_superusers_may_plan(console: Console) -> None:
    su = await console.sign_in()
    r = await console.call(
        "POST",
        "/api/collections/users/records",
        su,
        json={"email": "u@example.com", "password": "user-password-1", "passwordConfirm": "user-password-1"},
    )
    assert r.status_code == 200, r.text
    user = await console.sign_in("u@example.com", "user-password-1", collection="users")
    body = {"action": "create", "collection": POSTS}
    assert (await console.call("POST", "/api/collections/plan", json=body)).status_code == 401
    assert (await console.call("POST", "/api/collections/plan", user, json=body)).status_code == 403
