"""``@request.auth.*`` in the five API rules, for every kind of requester.

Requesters: a guest, ``alice`` (users, verified), ``bob`` (users, not verified), ``mia`` (a second
auth collection, ``members``), a superuser (bypasses every rule) and an API key (seen by rules as
``@request.auth.collectionName = "_apikeys"``, scoped to every action here).

Each collection below has one rule for all five actions; the table says who it lets through.
What "let through" means per action, as PocketBase answers: list shows the record (else 200
with it filtered out), view/update 200 (else 404), create 200 (else 400), delete 204 (else 404).
A refused write leaves the record as it was.
"""

from __future__ import annotations

import pytest

from baas.schema.loader import load_schema_text
from tests.harness import Api

SCHEMA = """
collections:
  - name: members
    type: auth
    fields:
      - {name: nick, type: text}
%s
"""

# collection -> (rule used for all five actions, requesters it lets through)
RULES: dict[str, tuple[str, set[str]]] = {
    "open_to_auth": ('@request.auth.id != ""', {"alice", "bob", "mia", "su", "key"}),
    "users_only": ('@request.auth.collectionName = "users"', {"alice", "bob", "su"}),
    "members_only": ('@request.auth.collectionName = "members"', {"mia", "su"}),
    "verified_only": ("@request.auth.verified = true", {"alice", "su"}),
    "alice_only": ('@request.auth.email = "alice@example.com"', {"alice", "su"}),
    "owned": ("author = @request.auth.id", {"alice", "su"}),  # every record here is alice's
    "keys_only": ('@request.auth.collectionName = "_apikeys"', {"key", "su"}),
    "unverified_users": ('@request.auth.collectionName = "users" && @request.auth.verified = false', {"bob", "su"}),
}
WHO = ["guest", "alice", "bob", "mia", "su", "key"]
ACTIONS = ["list", "view", "create", "update", "delete"]


def collections_yaml() -> str:
    blocks = []
    for name, (rule, _) in RULES.items():
        rules = "\n".join(f"    {a}Rule: '{rule}'" for a in ACTIONS)
        blocks.append(
            f"  - name: {name}\n{rules}\n    fields:\n      - {{name: title, type: text}}\n"
            "      - {name: author, type: relation, collection: users}"
        )
    return SCHEMA % "\n".join(blocks)


@pytest.fixture
async def rapi(api: Api) -> Api:  # noqa: F811
    """The app with the rule collections, a verified alice, mia in ``members`` and an API key."""
    await api.engine.apply(lambda: [*api.engine.registry.all(), *load_schema_text(collections_yaml()).collections])
    r = await api.call("PATCH", f"/api/collections/users/records/{api.users['alice']}", "su", json={"verified": True})
    assert r.status_code == 200 and r.json()["verified"] is True, r.text
    r = await api.call(
        "POST",
        "/api/collections/members/records",
        "su",
        json={"email": "mia@example.com", "password": "password-123", "passwordConfirm": "password-123"},
    )
    assert r.status_code == 200, r.text
    api.users["mia"] = r.json()["id"]
    r = await api.client.post(
        "/api/collections/members/auth-with-password", json={"identity": "mia@example.com", "password": "password-123"}
    )
    assert r.status_code == 200, r.text
    api.tokens["mia"] = r.json()["token"]
    r = await api.call(
        "POST", "/api/apikeys", "su", json={"name": "rules", "scopes": [{"collection": "*", "actions": ACTIONS}]}
    )
    assert r.status_code == 200, r.text
    api.tokens["key"] = r.json()["key"]
    return api


async def seed(a: Api, coll: str) -> str:
    r = await a.call(
        "POST", f"/api/collections/{coll}/records", "su", json={"title": "seed", "author": a.users["alice"]}
    )
    assert r.status_code == 200, r.text
    return r.json()["id"]


async def attempt(a: Api, coll: str, action: str, who: str) -> bool:
    """Do ``action`` as ``who``; True if the rule let it through, False if it was refused the
    way PocketBase refuses; anything else fails the test."""
    caller = None if who == "guest" else who
    url = f"/api/collections/{coll}/records"
    if action == "create":
        r = await a.call("POST", url, caller, json={"title": "new", "author": a.users["alice"]})
        assert r.status_code in (200, 400), r.text
        return r.status_code == 200
    rid = await seed(a, coll)
    if action == "list":
        r = await a.call("GET", f"{url}?perPage=500", caller)
        assert r.status_code == 200, r.text
        return rid in {item["id"] for item in r.json()["items"]}
    if action == "view":
        r = await a.call("GET", f"{url}/{rid}", caller)
    elif action == "update":
        r = await a.call("PATCH", f"{url}/{rid}", caller, json={"title": "changed"})
    else:
        r = await a.call("DELETE", f"{url}/{rid}", caller)
    assert r.status_code in (200, 204, 404), r.text
    allowed = r.status_code != 404
    stored = await a.call("GET", f"{url}/{rid}", "su")
    if action == "delete":
        assert stored.status_code == (404 if allowed else 200)
    elif action == "update":
        assert stored.json()["title"] == ("changed" if allowed else "seed")
    return allowed


@pytest.mark.parametrize("coll", list(RULES))
async def test_auth_rules(rapi: Api, coll: str):
    rule, allowed = RULES[coll]
    wrong = []
    for who in WHO:
        for action in ACTIONS:
            got = await attempt(rapi, coll, action, who)
            if got != (who in allowed):
                wrong.append(f"{action} as {who}: {'let through' if got else 'refused'}")
    assert not wrong, f"rule {rule!r} on {coll}: " + "; ".join(wrong)


async def test_verified_rule_follows_the_record_not_the_token(rapi: Api):
    # The token was issued before alice was un-verified; the rule reads her record as it is now.
    r = await rapi.call(
        "PATCH", f"/api/collections/users/records/{rapi.users['alice']}", "su", json={"verified": False}
    )
    assert r.status_code == 200
    assert not await attempt(rapi, "verified_only", "view", "alice")
    assert await attempt(rapi, "unverified_users", "view", "alice")


async def test_owner_rule_ignores_an_author_claimed_in_the_body(rapi: Api):
    # bob cannot create a record "as" alice, nor hand alice's record to himself.
    r = await rapi.call(
        "POST", "/api/collections/owned/records", "bob", json={"title": "x", "author": rapi.users["alice"]}
    )
    assert r.status_code == 400
    rid = await seed(rapi, "owned")
    r = await rapi.call("PATCH", f"/api/collections/owned/records/{rid}", "bob", json={"author": rapi.users["bob"]})
    assert r.status_code == 404
    stored = await rapi.call("GET", f"/api/collections/owned/records/{rid}", "su")
    assert stored.json()["author"] == rapi.users["alice"]
