"""PocketBase's ``manageRule``: a requester matching it may change another auth record's email,
verified flag and password (no oldPassword) as a superuser could; everyone else keeps the usual
protections. Also: oldPassword is verified before the write transaction, yet a password changed
in between still fails the check."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from baas.records.query import Reader
from baas.records.write import check_old_password, update_record
from baas.rules.context import RequestInfo
from baas.schema.fields import TextField
from tests.harness import Api

U = "/api/collections/users/records"
PW = "password-123"
MANAGE = '@request.auth.role = "admin"'


async def set_users(a: Api, **options: Any) -> None:
    def wanted():
        out = []
        for c in a.engine.registry.all():
            if c.name == "users":
                fields = c.fields if c.field("role") else [*c.fields, TextField(name="role")]
                c = msgspec.structs.replace(c, fields=fields, **options)
            out.append(c)
        return out

    await a.engine.apply(wanted)


async def login(a: Api, email: str, password: str) -> int:
    r = await a.client.post("/api/collections/users/auth-with-password", json={"identity": email, "password": password})
    return r.status_code


@pytest.fixture
async def mapi(api: Api) -> Api:  # noqa: F811
    """alice is an admin (the manageRule matches her); bob is not. Either may update any user."""
    await set_users(api, manageRule=MANAGE, updateRule=f"id = @request.auth.id || {MANAGE}", createRule="")
    r = await api.call("PATCH", f"{U}/{api.users['alice']}", "su", json={"role": "admin"})
    assert r.status_code == 200, r.text
    return api


UPDATE_CASES = [
    # (name, who, target, body, status, error field)
    ("manager changes another's email", "alice", "bob", {"email": "bob2@example.com"}, 200, None),
    ("manager verifies another", "alice", "bob", {"verified": True}, 200, None),
    (
        "manager sets a password without oldPassword",
        "alice",
        "bob",
        {"password": "brand-new-1", "passwordConfirm": "brand-new-1"},
        200,
        None,
    ),
    ("manager still cannot set tokenKey", "alice", "bob", {"tokenKey": "x" * 50}, 400, "tokenKey"),
    (
        "manager password confirm mismatch",
        "alice",
        "bob",
        {"password": "brand-new-1", "passwordConfirm": "other-one-1"},
        400,
        "passwordConfirm",
    ),
    ("manager password too short", "alice", "bob", {"password": "x"}, 400, "password"),
    ("user cannot change own email", "bob", "bob", {"email": "bob2@example.com"}, 400, "email"),
    ("user cannot verify self", "bob", "bob", {"verified": True}, 400, "verified"),
    ("user needs oldPassword", "bob", "bob", {"password": "brand-new-1"}, 400, "oldPassword"),
    (
        "user with a wrong oldPassword",
        "bob",
        "bob",
        {"password": "brand-new-1", "oldPassword": "wrong-one-1"},
        400,
        "oldPassword",
    ),
    (
        "user with a non-string oldPassword",
        "bob",
        "bob",
        {"password": "brand-new-1", "oldPassword": 123},
        400,
        "oldPassword",
    ),
    ("user with a non-string password", "bob", "bob", {"password": 12345678, "oldPassword": PW}, 400, "password"),
    ("user with the right oldPassword", "bob", "bob", {"password": "brand-new-1", "oldPassword": PW}, 200, None),
    ("user cannot touch another record", "bob", "alice", {"name": "x"}, 404, None),
]


@pytest.mark.parametrize("who,target,body,status,field", [pytest.param(*c[1:], id=c[0]) for c in UPDATE_CASES])
async def test_update_protections(mapi: Api, who: str, target: str, body: dict, status: int, field: str | None) -> None:
    before = (await mapi.call("GET", f"{U}/{mapi.users[target]}", "su")).json()
    r = await mapi.call("PATCH", f"{U}/{mapi.users[target]}", who, json=body)
    assert r.status_code == status, r.text
    after = (await mapi.call("GET", f"{U}/{mapi.users[target]}", "su")).json()
    if status != 200:
        if field:
            assert field in r.json()["data"], r.text
        assert after == before  # nothing half-written
        return
    for k, v in body.items():
        if k in ("email", "verified"):
            assert after[k] == v
    if "password" in body:
        email = f"{target}@example.com"
        assert await login(mapi, email, body["password"]) == 200
        assert await login(mapi, email, PW) == 400
        # A new password signs the record out everywhere.
        r = await mapi.call("GET", f"{U}/{mapi.users[target]}", target)
        assert r.status_code == 404


async def test_manage_rule_needs_the_update_rule_too(mapi: Api) -> None:
    await set_users(mapi, updateRule="id = @request.auth.id")
    r = await mapi.call("PATCH", f"{U}/{mapi.users['bob']}", "alice", json={"verified": True})
    assert r.status_code == 404


@pytest.mark.parametrize("rule", [None, ""], ids=["null", "empty"])
async def test_no_manage_rule_means_superusers_only(mapi: Api, rule: str | None) -> None:
    await set_users(mapi, manageRule=rule)
    r = await mapi.call("PATCH", f"{U}/{mapi.users['bob']}", "alice", json={"email": "bob2@example.com"})
    assert r.status_code == 400 and "email" in r.json()["data"]
    r = await mapi.call("PATCH", f"{U}/{mapi.users['bob']}", "alice", json={"password": "brand-new-1"})
    assert r.status_code == 400 and "oldPassword" in r.json()["data"]
    r = await mapi.call("PATCH", f"{U}/{mapi.users['bob']}", "su", json={"verified": True})
    assert r.status_code == 200


async def test_manage_rule_reads_the_target_record(mapi: Api) -> None:
    # Admins manage everyone except other admins.
    await set_users(mapi, manageRule=f'{MANAGE} && role != "admin"')
    r = await mapi.call("POST", U, "su", json={"email": "carol@example.com", "password": PW, "role": "admin"})
    carol = r.json()["id"]
    r = await mapi.call("PATCH", f"{U}/{carol}", "alice", json={"verified": True})
    assert r.status_code == 400 and "verified" in r.json()["data"]
    r = await mapi.call("PATCH", f"{U}/{mapi.users['bob']}", "alice", json={"verified": True})
    assert r.status_code == 200 and r.json()["verified"] is True


async def test_create_with_verified(mapi: Api) -> None:
    body = {"email": "new@example.com", "password": PW, "passwordConfirm": PW, "verified": True}
    for who in (None, "bob"):
        r = await mapi.call("POST", U, who, json=body)
        assert r.status_code == 400 and "verified" in r.json()["data"], r.text
    r = await mapi.call("POST", U, "alice", json=body)
    assert r.status_code == 200 and r.json()["verified"] is True
    # A manageRule that reads the new row is checked against it (rolled back when it fails).
    await set_users(mapi, manageRule=f'{MANAGE} && role != "admin"')
    r = await mapi.call("POST", U, "alice", json={**body, "email": "n2@example.com", "role": "admin"})
    assert r.status_code == 400 and "verified" in r.json()["data"]
    r = await mapi.call("GET", U, "su", params={"filter": 'email = "n2@example.com"'})
    assert r.json()["totalItems"] == 0


async def test_batch_manager_and_old_password(mapi: Api) -> None:
    await mapi.call("PATCH", "/api/settings", "su", json={"batch": {"enabled": True}})
    bob = mapi.users["bob"]
    one = lambda body: {"requests": [{"method": "PATCH", "url": f"{U}/{bob}", "body": body}]}  # noqa: E731
    r = await mapi.call("POST", "/api/batch", "bob", json=one({"password": "brand-new-1", "oldPassword": "nope-nope"}))
    assert r.status_code == 400
    r = await mapi.call("POST", "/api/batch", "bob", json=one({"password": "brand-new-1", "oldPassword": PW}))
    assert r.status_code == 200, r.text
    assert await login(mapi, "bob@example.com", "brand-new-1") == 200
    r = await mapi.call("POST", "/api/batch", "alice", json=one({"password": "third-one-1"}))
    assert r.status_code == 200, r.text
    assert await login(mapi, "bob@example.com", "third-one-1") == 200


async def test_old_password_checked_outside_but_still_current(mapi: Api) -> None:
    """The pre-checked hash must still be the stored one inside the transaction."""
    eng = mapi.engine
    users = eng.registry.get("users")
    bob = mapi.users["bob"]
    body = {"password": "brand-new-1", "oldPassword": PW}
    old_hash = await check_old_password(eng.db, users, bob, body)
    assert old_hash  # matched
    assert await check_old_password(eng.db, users, bob, {"password": "x", "oldPassword": "wrong-pass"}) == ""
    assert await check_old_password(eng.db, users, bob, {"password": "x"}) == ""
    assert await check_old_password(eng.db, users, bob, {"name": "x"}) is None
    # Meanwhile the password changes (superuser reset).
    r = await mapi.call("PATCH", f"{U}/{bob}", "su", json={"password": "changed-1234"})
    assert r.status_code == 200
    req = RequestInfo(auth={"id": bob, "collectionId": users.id, "collectionName": "users"})
    with pytest.raises(Exception) as err:
        await eng.db.write(
            lambda conn: update_record(conn, Reader(conn, eng.registry, req), users, bob, body, old_hash=old_hash)
        )
    assert "oldPassword" in getattr(err.value, "data", {})
    assert await login(mapi, "bob@example.com", "changed-1234") == 200
