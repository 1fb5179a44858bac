"""``on_record_auth_request``: around every sign-in's answer (token, record, MFA)."""

from __future__ import annotations

from baas.errors import Forbidden
from baas.hooks import RecordAuthEvent
from tests.harness import Api

LOGIN = "/api/collections/users/auth-with-password"


async def test_auth_hook_sees_the_sign_in_and_may_change_the_answer(api: Api):
    seen: list[tuple] = []

    async def welcome(e: RecordAuthEvent) -> None:
        seen.append((e.collection.name, e.method, e.record["email"], e.token))
        e.meta = {"welcome": e.record["name"]}
        await e.next()
        seen.append(("after", bool(e.token), e.status))
        e.result["record"]["greeting"] = "hi"

    api.engine.hooks.on_record_auth_request.bind_for("users", welcome)
    r = await api.client.post(LOGIN, json={"identity": "alice@example.com", "password": "password-123"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["meta"] == {"welcome": "Alice"} and body["record"]["greeting"] == "hi"
    assert seen == [("users", "password", "alice@example.com", ""), ("after", True, 200)]
    me = await api.client.get(
        f"/api/collections/users/records/{api.users['alice']}", headers={"Authorization": body["token"]}
    )
    assert me.status_code == 200  # the token the hook let through works

    seen.clear()
    r = await api.client.post("/api/collections/users/auth-refresh", headers={"Authorization": body["token"]})
    assert r.status_code == 200
    assert seen[0][1] == "refresh"


async def test_auth_hook_can_refuse_a_sign_in(api: Api):
    async def no_bob(e: RecordAuthEvent) -> None:
        if e.record["email"].startswith("bob@"):
            raise Forbidden("Bob is on holiday.")
        await e.next()

    api.engine.hooks.on_record_auth_request.bind(no_bob)
    r = await api.client.post(LOGIN, json={"identity": "bob@example.com", "password": "password-123"})
    assert r.status_code == 403 and r.json() == {"status": 403, "message": "Bob is on holiday.", "data": {}}
    assert "token" not in r.text
    r = await api.client.post(LOGIN, json={"identity": "alice@example.com", "password": "password-123"})
    assert r.status_code == 200 and r.json()["token"]


async def test_auth_hook_is_not_run_for_a_wrong_password_and_a_silent_stop_is_400(api: Api):
    calls: list[str] = []

    async def silent(e: RecordAuthEvent) -> None:
        calls.append(e.method)

    api.engine.hooks.on_record_auth_request.bind_for("users", silent)
    r = await api.client.post(LOGIN, json={"identity": "alice@example.com", "password": "wrong-password"})
    assert r.status_code == 400 and calls == []
    r = await api.client.post(LOGIN, json={"identity": "alice@example.com", "password": "password-123"})
    assert r.status_code == 400 and "token" not in r.json() and calls == ["password"]
    # superusers sign in on their own collection: the tagged hook does not apply
    r = await api.client.post(
        "/api/collections/_superusers/auth-with-password",
        json={"identity": "root@example.com", "password": "root-password-1"},
    )
    assert r.status_code == 200
