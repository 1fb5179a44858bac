"""``auth.signin`` events say how the record signed in (``@signin`` in the event's data): password,
OTP, OAuth2, MFA (with both factors) and impersonation (with the superuser); refreshes and first
factors that only open an MFA session append none (docs/events.md)."""

from __future__ import annotations

import json
from typing import Any

from baas.events.emit import SIGNIN_KEY
from tests.auth.mailkit import code_for
from tests.auth.oauth2kit import configure as configure_oauth2
from tests.auth.oauth2kit import idp, oidc
from tests.auth.oauth2kit import sign_in as oauth2_sign_in
from tests.auth.oidc_provider import OIDCProvider
from tests.harness import SU_EMAIL, Api

__all__ = ["idp"]  # a fixture, used by name

U = "/api/collections/users"
ALICE = "alice@example.com"


async def signins(api: Api, after: int) -> list[tuple[str, dict[str, Any]]]:
    rows = await api.engine.db.fetch(
        'SELECT "record_id", "record" FROM "_events" WHERE "action" = ? AND "id" > ? ORDER BY "id"',
        ["auth.signin", after],
    )
    return [(r[0], json.loads(r[1])) for r in rows]


async def mark(api: Api) -> int:
    return int(await api.engine.db.fetchval('SELECT coalesce(max("id"), 0) FROM "_events"'))


async def password(api: Api, email: str, **extra: Any) -> Any:
    return await api.client.post(
        f"{U}/auth-with-password", json={"identity": email, "password": "password-123", **extra}
    )


async def otp_sign_in(api: Api, email: str, **extra: Any) -> Any:
    r = await api.client.post(f"{U}/request-otp", json={"email": email})
    assert r.status_code == 200, r.text
    code = await code_for(api, email)
    return await api.client.post(f"{U}/auth-with-otp", json={"otpId": r.json()["otpId"], "password": code, **extra})


async def test_each_sign_in_names_its_method(api: Api, idp: OIDCProvider):
    r = await api.call("PATCH", U, "su", json={"otp": {"enabled": True}})
    assert r.status_code == 200, r.text
    alice = api.users["alice"]
    start = await mark(api)
    r = await password(api, ALICE)
    assert r.status_code == 200
    assert (await api.client.post(f"{U}/auth-refresh", headers={"Authorization": r.json()["token"]})).status_code == 200
    assert (await otp_sign_in(api, ALICE)).status_code == 200
    r = await api.call("POST", f"/api/collections/users/impersonate/{alice}", "su", json={})
    assert r.status_code == 200, r.text
    su_id = await api.engine.db.fetchval('SELECT "id" FROM "_superusers" WHERE "email" = ?', [SU_EMAIL])
    await configure_oauth2(api, [oidc(idp)])
    r = await oauth2_sign_in(api, idp)
    assert r.status_code == 200, r.text
    got = await signins(api, start)
    assert [(rid, data[SIGNIN_KEY]) for rid, data in got] == [
        (alice, {"method": "password"}),  # the refresh appended nothing
        (alice, {"method": "otp"}),
        (alice, {"method": "impersonate", "superuser": su_id}),
        (r.json()["record"]["id"], {"method": "oauth2"}),
    ]
    assert all(data["email"] and "password" not in data and "tokenKey" not in data for _, data in got)


async def test_an_mfa_sign_in_is_one_event_naming_both_factors(api: Api):
    r = await api.call("PATCH", U, "su", json={"otp": {"enabled": True}, "mfa": {"enabled": True}})
    assert r.status_code == 200, r.text
    start = await mark(api)
    r = await password(api, ALICE)
    assert r.status_code == 401 and list(r.json()) == ["mfaId"]
    assert await signins(api, start) == []  # a first factor is no sign-in yet
    r = await otp_sign_in(api, ALICE, mfaId=r.json()["mfaId"])
    assert r.status_code == 200, r.text
    (got,) = await signins(api, start)
    assert got[0] == api.users["alice"] and got[1][SIGNIN_KEY] == {"method": "mfa", "factors": ["password", "otp"]}
