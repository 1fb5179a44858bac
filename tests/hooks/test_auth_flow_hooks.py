"""Record hooks fire for the writes auth flows make (verification, password reset, email change,
OAuth2 sign-up) as for the records API — before the write, inside its transaction after
``e.next()``, and after the commit — and those flows, and sign-ins, append ``auth.*`` events to
the durable stream in the same transaction (docs/events.md). Realtime clients never see them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from baas.hooks import RecordEvent
from tests.auth.mailkit import code_for, token_for
from tests.auth.oauth2kit import configure, oidc
from tests.auth.oauth2kit import idp as idp  # noqa: F401  (a fixture; tests/auth uses it too)
from tests.auth.oauth2kit import sign_in as oauth2_sign_in
from tests.auth.oidc_provider import OIDCProvider
from tests.harness import SSE, Api, app_of

U = "/api/collections/users"


class Seen:
    """Binds update/create hooks on ``users`` and records what each stage saw."""

    def __init__(self, api: Api) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        h = api.engine.hooks
        for action, hook, after in (
            ("create", h.on_record_create, h.on_record_after_create_success),
            ("update", h.on_record_update, h.on_record_after_update_success),
        ):
            hook.bind_for("users", self._around(action), id=f"test.{action}")
            after.bind_for("users", self._after(action), id=f"test.after.{action}")

    def _around(self, action: str):
        async def handler(e: RecordEvent) -> None:
            self.calls.append((f"{action}:before", e.request.context, dict(e.record)))
            await e.next()
            # Still inside the write transaction: the row is there for this connection.
            n = await e.db.fetchval('SELECT count(*) FROM "users" WHERE "id" = ?', [e.record["id"]])
            self.calls.append((f"{action}:in-tx", e.request.context, {"rows": n, **e.record}))

        return handler

    def _after(self, action: str):
        async def handler(e: RecordEvent) -> None:
            self.calls.append((f"{action}:after", e.request.context, dict(e.record)))
            await e.next()

        return handler

    def stages(self) -> list[str]:
        return [c[0] for c in self.calls]


async def mark(api: Api) -> int:
    """The newest event id now (the fixture's own sign-ins come before it)."""
    return int(await api.engine.db.fetchval('SELECT coalesce(max("id"), 0) FROM "_events"'))


async def auth_events(api: Api, after: int) -> list[tuple[str, str, dict[str, Any]]]:
    rows = await api.engine.db.fetch(
        'SELECT "action", "record_id", "record" FROM "_events" WHERE "action" LIKE \'auth.%\' AND "id" > ? '
        'ORDER BY "id"',
        [after],
    )
    return [(r[0], r[1], json.loads(r[2])) for r in rows]


async def new_user(api: Api, email: str) -> str:
    r = await api.call("POST", f"{U}/records", "su", json={"email": email, "password": "password-123"})
    assert r.status_code == 200, r.text
    return r.json()["id"]


async def test_verification_confirm_fires_update_hooks_and_event(api: Api):
    start = await mark(api)
    uid = await new_user(api, "carol@example.com")
    seen = Seen(api)
    await api.client.post(f"{U}/request-verification", json={"email": "carol@example.com"})
    token = await token_for(api, "carol@example.com", "verification")
    r = await api.client.post(f"{U}/confirm-verification", json={"token": token})
    assert r.status_code == 204, r.text
    assert seen.stages() == ["update:before", "update:in-tx", "update:after"]
    assert seen.calls[0][2]["verified"] is True and seen.calls[1][2]["rows"] == 1
    assert seen.calls[2][2]["id"] == uid and seen.calls[2][2]["verified"] is True
    events = await auth_events(api, start)
    assert [(t, rid) for t, rid, _ in events] == [("auth.verified", uid)]
    data = events[0][2]
    assert data["verified"] is True and data["collectionName"] == "users"
    assert "password" not in data and "tokenKey" not in data


async def test_otp_sign_in_proving_the_address_fires_update_hooks_and_verified_event(api: Api):
    r = await api.call("PATCH", U, "su", json={"otp": {"enabled": True}})
    assert r.status_code == 200, r.text
    uid = await new_user(api, "olga@example.com")
    start = await mark(api)
    seen = Seen(api)
    r = await api.client.post(f"{U}/request-otp", json={"email": "olga@example.com"})
    assert r.status_code == 200, r.text
    code = await code_for(api, "olga@example.com")
    r = await api.client.post(f"{U}/auth-with-otp", json={"otpId": r.json()["otpId"], "password": code})
    assert r.status_code == 200, r.text
    assert r.json()["record"]["verified"] is True
    assert seen.stages() == ["update:before", "update:in-tx", "update:after"]
    assert seen.calls[0][2]["verified"] is True
    events = await auth_events(api, start)
    assert [(t, rid) for t, rid, _ in events] == [("auth.verified", uid), ("auth.signin", uid)]


async def test_a_before_hook_refusing_rolls_back_the_flow_and_its_event(api: Api):
    start = await mark(api)
    await new_user(api, "dave@example.com")

    async def refuse(e: RecordEvent) -> None:
        return None  # never calls e.next(): the write does not happen

    api.engine.hooks.on_record_update.bind_for("users", refuse, id="test.refuse")
    await api.client.post(f"{U}/request-verification", json={"email": "dave@example.com"})
    token = await token_for(api, "dave@example.com", "verification")
    r = await api.client.post(f"{U}/confirm-verification", json={"token": token})
    assert r.status_code == 400, r.text
    row = await api.engine.db.fetchone('SELECT "verified" FROM "users" WHERE "email" = ?', ["dave@example.com"])
    assert not row[0]
    assert await auth_events(api, start) == []


async def test_password_reset_and_email_change_fire_hooks_and_events(api: Api):
    start = await mark(api)
    seen = Seen(api)
    uid = api.users["alice"]
    await api.client.post(f"{U}/request-password-reset", json={"email": "alice@example.com"})
    token = await token_for(api, "alice@example.com", "passwordReset")
    r = await api.client.post(
        f"{U}/confirm-password-reset",
        json={"token": token, "password": "new-password-1", "passwordConfirm": "new-password-1"},
    )
    assert r.status_code == 204, r.text
    assert seen.stages() == ["update:before", "update:in-tx", "update:after"]
    assert "password" not in seen.calls[2][2]  # after-hooks get the record as the API shows it
    r = await api.client.post(
        f"{U}/auth-with-password", json={"identity": "alice@example.com", "password": "new-password-1"}
    )
    assert r.status_code == 200
    token_now = r.json()["token"]
    r = await api.client.post(
        f"{U}/request-email-change", headers={"Authorization": token_now}, json={"newEmail": "alice2@example.com"}
    )
    assert r.status_code == 204, r.text
    token = await token_for(api, "alice2@example.com", "emailChange")
    r = await api.client.post(f"{U}/confirm-email-change", json={"token": token, "password": "new-password-1"})
    assert r.status_code == 204, r.text
    assert seen.stages()[3:] == ["update:before", "update:in-tx", "update:after"]
    assert seen.calls[5][2]["email"] == "alice2@example.com"
    events = await auth_events(api, start)
    assert [(t, rid) for t, rid, _ in events] == [
        ("auth.password_reset", uid),
        ("auth.signin", uid),
        ("auth.email_change", uid),
    ]
    assert events[2][2]["email"] == "alice2@example.com"
    for _, _, data in events:
        assert "password" not in data and "tokenKey" not in data


async def test_sign_in_appends_auth_signin_but_refresh_and_failures_do_not(api: Api):
    start = await mark(api)
    r = await api.client.post(f"{U}/auth-with-password", json={"identity": "bob@example.com", "password": "nope-nope"})
    assert r.status_code == 400
    r = await api.client.post(
        f"{U}/auth-with-password", json={"identity": "bob@example.com", "password": "password-123"}
    )
    assert r.status_code == 200
    r = await api.client.post(f"{U}/auth-refresh", headers={"Authorization": r.json()["token"]})
    assert r.status_code == 200
    events = await auth_events(api, start)
    assert [(t, rid) for t, rid, _ in events] == [("auth.signin", api.users["bob"])]
    assert events[0][2]["email"] == "bob@example.com" and events[0][2]["collectionId"] == "_pb_users_auth_"


async def test_oauth2_sign_up_fires_create_hooks_and_signup_event(api: Api, idp: OIDCProvider):
    start = await mark(api)
    await configure(api, [oidc(idp)])
    seen = Seen(api)
    r = await oauth2_sign_in(api, idp)
    assert r.status_code == 200, r.text
    uid = r.json()["record"]["id"]
    assert r.json()["meta"]["isNew"] is True
    stages = seen.stages()
    assert stages[:3] == ["create:before", "create:in-tx", "create:after"] or stages[:2] == [
        "create:before",
        "create:in-tx",
    ]
    assert "create:after" in stages
    assert all(ctx == "oauth2" for st, ctx, _ in seen.calls if st.startswith("create"))
    events = await auth_events(api, start)
    types = [(t, rid) for t, rid, _ in events]
    assert ("auth.signup", uid) in types and ("auth.signin", uid) in types
    assert types.index(("auth.signup", uid)) < types.index(("auth.signin", uid))
    # A second sign-in with the same account is no sign-up.
    r = await oauth2_sign_in(api, idp)
    assert r.status_code == 200 and r.json()["meta"]["isNew"] is False
    types = [t for t, _, _ in await auth_events(api, start)]
    assert types.count("auth.signup") == 1 and types.count("auth.signin") == 2


async def test_realtime_clients_never_receive_auth_events(api: Api):
    async with SSE(app_of(api)) as sse:
        r = await api.client.post(
            "/api/realtime",
            headers={"Authorization": api.tokens["su"]},
            json={"clientId": sse.client_id, "subscriptions": ["users/*", "users", "_pb_users_auth_/*"]},
        )
        assert r.status_code == 204, r.text
        r = await api.client.post(
            f"{U}/auth-with-password", json={"identity": "bob@example.com", "password": "password-123"}
        )
        assert r.status_code == 200
        marker = await api.call("PATCH", f"{U}/records/{api.users['bob']}", "su", json={"name": "Marker"})
        assert marker.status_code == 200
        # Events arrive in stream order: had the sign-in's event leaked, it would come first.
        for _ in range(3):
            topic, msg = await sse.message()
            assert msg["action"] == "update" and msg["record"]["name"] == "Marker", (topic, msg)


@pytest.mark.parametrize("flow", ["verification"])
async def test_without_hooks_bound_flows_still_append_events(api: Api, flow: str):
    start = await mark(api)
    uid = await new_user(api, "erin@example.com")
    await api.client.post(f"{U}/request-verification", json={"email": "erin@example.com"})
    token = await token_for(api, "erin@example.com", "verification")
    assert (await api.client.post(f"{U}/confirm-verification", json={"token": token})).status_code == 204
    assert [(t, rid) for t, rid, _ in await auth_events(api, start)] == [("auth.verified", uid)]
