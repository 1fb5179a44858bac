"""TOTP: enrol, confirm, recovery codes, replay protection, attempt limits, disable, and
``auth-with-totp`` as the second factor after a password (MFA from ``finish_auth``)."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import pytest

from baas.auth import totp
from tests.harness import Api

B = "/api/collections/users"
PW = "password-123"


def at(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + offset_steps * 30)


async def enrol(a: Api, who: str = "alice") -> tuple[str, list[str]]:
    """Enrol and confirm ``who``; (secret, recovery codes)."""
    r = await a.call("POST", f"{B}/totp/enroll", who)
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    r = await a.call("POST", f"{B}/totp/confirm", who, json={"code": at(secret)})
    assert r.status_code == 200, r.text
    return secret, r.json()["recoveryCodes"]


async def first_factor(a: Api, who: str = "alice") -> str:
    r = await a.client.post(f"{B}/auth-with-password", json={"identity": f"{who}@example.com", "password": PW})
    assert r.status_code == 401, r.text
    return r.json()["mfaId"]


async def second(a: Api, **body: Any):
    return await a.client.post(f"{B}/auth-with-totp", json=body)


async def rewind(a: Api, who: str = "alice") -> None:
    """Forget the last used step, so a test can sign in twice within one 30 s step."""
    await a.engine.db.write(
        lambda conn: conn.execute('UPDATE "_totp" SET "lastStep" = ? WHERE "recordRef" = ?', [0, a.users[who]])
    )


# -- enrolment -----------------------------------------------------------------------------------------
async def test_enrol_and_confirm(api: Api) -> None:  # noqa: F811
    r = await api.call("GET", f"{B}/totp", "alice")
    assert r.json() == {"enabled": False, "pending": False, "recoveryCodesLeft": 0}
    r = await api.call("POST", f"{B}/totp/enroll", "alice")
    assert r.status_code == 200
    first = r.json()["secret"]
    uri = r.json()["uri"]
    assert uri.startswith("otpauth://totp/") and f"secret={first}" in uri and "issuer=baas" in uri
    assert "alice%40example.com" in uri
    # Not active until confirmed: a password sign-in still needs no second factor.
    r = await api.client.post(f"{B}/auth-with-password", json={"identity": "alice@example.com", "password": PW})
    assert r.status_code == 200
    assert (await api.call("GET", f"{B}/totp", "alice")).json()["pending"] is True
    # Enrolling again while pending replaces the secret; the old one no longer confirms.
    second_secret = (await api.call("POST", f"{B}/totp/enroll", "alice")).json()["secret"]
    assert second_secret != first
    r = await api.call("POST", f"{B}/totp/confirm", "alice", json={"code": at(first)})
    assert r.status_code == 400 and "code" in r.json()["data"]
    r = await api.call("POST", f"{B}/totp/confirm", "alice", json={"code": at(second_secret)})
    assert r.status_code == 200, r.text
    codes = r.json()["recoveryCodes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    status = (await api.call("GET", f"{B}/totp", "alice")).json()
    assert status == {"enabled": True, "pending": False, "recoveryCodesLeft": 10}
    # The secret is never shown again, nor stored in the clear; recovery codes are stored hashed.
    row = await api.engine.db.fetchone(
        'SELECT "secret", "recoveryCodes" FROM "_totp" WHERE "recordRef" = ?', [api.users["alice"]]
    )
    assert second_secret not in row[0] and not any(c in row[1] for c in codes)
    assert (await api.call("POST", f"{B}/totp/enroll", "alice")).status_code == 400
    assert (await api.call("POST", f"{B}/totp/confirm", "alice", json={"code": at(second_secret)})).status_code == 400


BAD_CONFIRM = [
    ("missing code", {}, 400),
    ("code not a string", {"code": 123456}, 400),
    ("letters", {"code": "abcdef"}, 400),
    ("too short", {"code": "12345"}, 400),
    ("too long", {"code": "1234567"}, 400),
    ("wrong code", {"code": "000000"}, 400),
]


@pytest.mark.parametrize("body,status", [pytest.param(b, s, id=n) for n, b, s in BAD_CONFIRM])
async def test_confirm_bad_input(api: Api, body: dict, status: int) -> None:  # noqa: F811
    r = await api.call("POST", f"{B}/totp/enroll", "alice")
    secret = r.json()["secret"]
    if body.get("code") == "000000" and at(secret) == "000000":
        body = {"code": "000001"}
    r = await api.call("POST", f"{B}/totp/confirm", "alice", json=body)
    assert r.status_code == status, r.text
    assert (await api.call("GET", f"{B}/totp", "alice")).json()["enabled"] is False


async def test_confirm_without_enrolment(api: Api) -> None:  # noqa: F811
    r = await api.call("POST", f"{B}/totp/confirm", "alice", json={"code": "123456"})
    assert r.status_code == 400


@pytest.mark.parametrize(
    "path,method", [("/totp/enroll", "POST"), ("/totp/confirm", "POST"), ("/totp", "GET"), ("/totp", "DELETE")]
)
async def test_endpoints_need_the_records_own_token(api: Api, path: str, method: str) -> None:  # noqa: F811
    assert (await api.call(method, B + path)).status_code == 401
    assert (await api.call(method, B + path, "su")).status_code == 401  # a superuser is not a users record
    r = await api.client.request(method, B + path, headers={"Authorization": "garbage"})
    assert r.status_code == 401
    assert (await api.call(method, "/api/collections/posts" + path, "alice")).status_code == 404
    assert (await api.call(method, "/api/collections/nope" + path, "alice")).status_code == 404


# -- sign-in with the second factor ----------------------------------------------------------------
async def test_password_then_totp(api: Api) -> None:  # noqa: F811
    secret, _ = await enrol(api)
    mfa_id = await first_factor(api)
    # The code that confirmed the enrolment (this step) cannot be used again: replay.
    r = await second(api, mfaId=mfa_id, code=at(secret))
    assert r.status_code == 400, r.text
    code = at(secret, 1)  # the next step, within the ±1 window
    r = await second(api, mfaId=mfa_id, code=code)
    assert r.status_code == 200, r.text
    assert r.json()["record"]["id"] == api.users["alice"] and r.json()["token"]
    r2 = await api.client.get(f"{B}/records/{api.users['alice']}", headers={"Authorization": r.json()["token"]})
    assert r2.status_code == 200
    # Replay of the accepted code with a fresh MFA session: refused.
    mfa2 = await first_factor(api)
    assert (await second(api, mfaId=mfa2, code=code)).status_code == 400
    # The mfaId is single use (finish_auth consumed it).
    await rewind(api)
    assert (await second(api, mfaId=mfa_id, code=at(secret, 1))).status_code == 400


async def test_window_is_one_step(api: Api) -> None:  # noqa: F811
    secret, _ = await enrol(api)
    await rewind(api)
    mfa_id = await first_factor(api)
    for far in (-3, 3):
        assert (await second(api, mfaId=mfa_id, code=at(secret, far))).status_code == 400
    assert (await second(api, mfaId=mfa_id, code=at(secret, -1))).status_code == 200


async def test_recovery_codes_are_single_use(api: Api) -> None:  # noqa: F811
    _, codes = await enrol(api)
    mfa_id = await first_factor(api)
    r = await second(api, mfaId=mfa_id, recoveryCode=codes[0])
    assert r.status_code == 200, r.text
    assert (await api.call("GET", f"{B}/totp", "alice")).json()["recoveryCodesLeft"] == 9
    mfa_id = await first_factor(api)
    r = await second(api, mfaId=mfa_id, recoveryCode=codes[0])
    assert r.status_code == 400 and "recoveryCode" in r.json()["data"]
    # Typed loosely (upper case, no dash) still matches.
    r = await second(api, mfaId=mfa_id, recoveryCode=codes[1].upper().replace("-", ""))
    assert r.status_code == 200, r.text
    assert (await api.call("GET", f"{B}/totp", "alice")).json()["recoveryCodesLeft"] == 8


async def test_totp_is_a_second_factor_only(api: Api) -> None:  # noqa: F811
    secret, _ = await enrol(api)
    mfa_id = await first_factor(api)
    bad = [
        ({"code": at(secret, 1)}, "mfaId"),  # no first factor
        ({"mfaId": "", "code": at(secret, 1)}, "mfaId"),
        ({"mfaId": 5, "code": at(secret, 1)}, "mfaId"),
        ({"mfaId": "nope", "code": at(secret, 1)}, "mfaId"),
        ({"mfaId": mfa_id}, "code"),  # neither code
        ({"mfaId": mfa_id, "code": at(secret, 1), "recoveryCode": "abcde-fghij"}, "code"),  # both
        ({"mfaId": mfa_id, "code": 123456}, "code"),
    ]
    for body, field in bad:
        r = await second(api, **body)
        assert r.status_code == 400 and field in r.json()["data"], (body, r.text)
    r = await api.client.post(f"{B}/auth-with-totp", content=b"{", headers={"content-type": "application/json"})
    assert r.status_code == 400
    # An mfaId of another collection does not open this one.
    r = await api.client.post(
        "/api/collections/_superusers/auth-with-totp", json={"mfaId": mfa_id, "code": at(secret, 1)}
    )
    assert r.status_code == 400
    assert (await api.client.post("/api/collections/posts/auth-with-totp", json={})).status_code == 404
    # None of those used up the code.
    assert (await second(api, mfaId=mfa_id, code=at(secret, 1))).status_code == 200


async def test_expired_mfa_session(api: Api) -> None:  # noqa: F811
    secret, _ = await enrol(api)
    mfa_id = await first_factor(api)
    await api.engine.db.write(
        lambda conn: conn.execute(
            'UPDATE "_mfas" SET "created" = ? WHERE "id" = ?', ["2001-01-01 00:00:00.000Z", mfa_id]
        )
    )
    r = await second(api, mfaId=mfa_id, code=at(secret, 1))
    assert r.status_code == 400
    # The code was not spent on the expired session.
    assert (await second(api, mfaId=await first_factor(api), code=at(secret, 1))).status_code == 200


async def test_attempts_are_limited(api: Api) -> None:  # noqa: F811
    secret, codes = await enrol(api)
    mfa_id = await first_factor(api)
    wrong = "000000" if at(secret, 1) != "000000" and at(secret) != "000000" else "000001"
    for _ in range(totp.MAX_ATTEMPTS - 1):
        assert (await second(api, mfaId=mfa_id, code=wrong)).status_code == 400
    # A wrong recovery code counts too; it is the last allowed miss.
    assert (await second(api, mfaId=mfa_id, recoveryCode="aaaaa-aaaaa")).status_code == 400
    r = await second(api, mfaId=mfa_id, code=at(secret, 1))
    assert r.status_code == 429, r.text  # locked, even for the right code
    assert (await second(api, mfaId=mfa_id, recoveryCode=codes[0])).status_code == 429
    # The lock ends by itself.
    await api.engine.db.write(
        lambda conn: conn.execute(
            'UPDATE "_totp" SET "lockedUntil" = ? WHERE "recordRef" = ?',
            ["2001-01-01 00:00:00.000Z", api.users["alice"]],
        )
    )
    assert (await second(api, mfaId=mfa_id, code=at(secret, 1))).status_code == 200


async def test_other_records_unaffected(api: Api) -> None:  # noqa: F811
    await enrol(api, "alice")
    r = await api.client.post(f"{B}/auth-with-password", json={"identity": "bob@example.com", "password": PW})
    assert r.status_code == 200 and r.json()["token"]


# -- disable and reset ----------------------------------------------------------------------------------
async def test_disable(api: Api) -> None:  # noqa: F811
    secret, _ = await enrol(api)
    for body, field in (
        ({}, "code"),
        ({"code": "000000" if at(secret, 1) != "000000" else "111111"}, "code"),
        ({"password": "wrong-password"}, "password"),
        ({"code": 5}, "code"),
    ):
        r = await api.call("DELETE", f"{B}/totp", "alice", json=body)
        assert r.status_code == 400 and field in r.json()["data"], (body, r.text)
    assert (await api.call("GET", f"{B}/totp", "alice")).json()["enabled"] is True
    r = await api.call("DELETE", f"{B}/totp", "alice", json={"code": at(secret, 1)})
    assert r.status_code == 204
    assert (await api.call("GET", f"{B}/totp", "alice")).json()["enabled"] is False
    r = await api.client.post(f"{B}/auth-with-password", json={"identity": "alice@example.com", "password": PW})
    assert r.status_code == 200 and r.json()["token"]
    assert (await api.call("DELETE", f"{B}/totp", "alice", json={"password": PW})).status_code == 400


async def test_disable_with_password(api: Api) -> None:  # noqa: F811
    await enrol(api)
    r = await api.call("DELETE", f"{B}/totp", "alice", json={"password": PW})
    assert r.status_code == 204


async def test_superuser_reset(api: Api) -> None:  # noqa: F811
    await enrol(api)
    url = f"{B}/totp/{api.users['alice']}"
    assert (await api.call("DELETE", url)).status_code == 401
    assert (await api.call("DELETE", url, "alice")).status_code == 403
    assert (await api.call("DELETE", f"{B}/totp/nope", "su")).status_code == 404
    assert (await api.call("DELETE", url, "su")).status_code == 204
    assert (await api.call("GET", f"{B}/totp", "alice")).json()["enabled"] is False


# -- the pieces ----------------------------------------------------------------------------------------
def test_sealing() -> None:
    sealed = totp.seal("install-secret", "JBSWY3DPEHPK3PXP", "c/r")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert totp.unseal("install-secret", sealed, "c/r") == "JBSWY3DPEHPK3PXP"
    assert totp.unseal("other-secret", sealed, "c/r") is None  # the install secret changed
    assert totp.unseal("install-secret", sealed, "c/other") is None  # copied onto another record
    assert totp.unseal("install-secret", sealed[:-4] + "AAAA", "c/r") is None  # tampered
    assert totp.unseal("install-secret", "garbage", "c/r") is None


async def test_unreadable_secret_is_a_clear_error(api: Api) -> None:  # noqa: F811
    secret, _ = await enrol(api)
    await api.engine.db.write(
        lambda conn: conn.execute(
            'UPDATE "_totp" SET "secret" = ? WHERE "recordRef" = ?',
            [totp.seal("another-secret", secret, "x/y"), api.users["alice"]],
        )
    )
    r = await second(api, mfaId=await first_factor(api), code=at(secret, 1))
    assert r.status_code == 400 and "secret" in r.json()["message"]


def test_match_step() -> None:
    secret = pyotp.random_base32()
    now = 1_700_000_000.0
    step = int(now // 30)
    t = pyotp.TOTP(secret)
    assert totp.match_step(secret, t.at(now), now) == step
    assert totp.match_step(secret, t.at(now - 30), now) == step - 1
    assert totp.match_step(secret, t.at(now + 30), now) == step + 1
    for bad in (t.at(now + 90), "", "12345", "abcdef", " 123456", None):
        if bad == t.at(now) or bad == t.at(now - 30) or bad == t.at(now + 30):
            continue
        assert totp.match_step(secret, bad, now) is None  # type: ignore[arg-type]
