"""OTP sign-in, MFA (two different methods, TOTP-enrolled records) and the authRule, in-process."""

from __future__ import annotations

import statistics
import time
from datetime import UTC
from typing import Any

import pyotp

from baas.auth import otp
from tests.auth.mailkit import code_for, mails
from tests.harness import Api

U = "/api/collections/users"
ALICE, BOB = "alice@example.com", "bob@example.com"


async def configure(api: Api, **options: Any) -> dict:
    r = await api.call("PATCH", U, "su", json=options)
    assert r.status_code == 200, r.text
    return r.json()


async def request_otp(api: Api, email: str, coll: str = "users") -> str:
    r = await api.client.post(f"/api/collections/{coll}/request-otp", json={"email": email})
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["otpId"]
    return r.json()["otpId"]


async def with_otp(api: Api, otp_id: str, password: str, **extra: Any):
    return await api.client.post(f"{U}/auth-with-otp", json={"otpId": otp_id, "password": password, **extra})


async def with_password(api: Api, email: str, **extra: Any):
    return await api.client.post(
        f"{U}/auth-with-password", json={"identity": email, "password": "password-123", **extra}
    )


async def age(api: Api, table: str, row_id: str, seconds: int) -> None:
    """Make a stored OTP or MFA session ``seconds`` older than now."""
    from datetime import datetime, timedelta

    from baas.ids import format_dt

    then = format_dt(datetime.now(UTC) - timedelta(seconds=seconds))
    n = await api.engine.db.write(
        lambda c: c.execute(f'UPDATE "{table}" SET "created" = ? WHERE "id" = ?', [then, row_id])
    )
    assert n == 1


# -- OTP ------------------------------------------------------------------------------------------


async def test_otp_disabled_is_forbidden(api: Api):
    for path, body in (("request-otp", {"email": ALICE}), ("auth-with-otp", {"otpId": "x", "password": "1"})):
        r = await api.client.post(f"{U}/{path}", json=body)
        assert r.status_code == 403, r.text
        assert r.json()["message"] == "The collection is not configured to allow OTP authentication."
    r = await api.client.get(f"{U}/auth-methods")
    assert r.json()["otp"] == {"enabled": False, "duration": 0}
    assert r.json()["mfa"] == {"enabled": False, "duration": 0}


async def test_otp_sign_in(api: Api):
    coll = await configure(api, otp={"enabled": True})
    assert coll["otp"]["enabled"] is True
    assert (await api.client.get(f"{U}/auth-methods")).json()["otp"] == {"enabled": True, "duration": 180}

    otp_id = await request_otp(api, ALICE)
    msg = (await mails(api, ALICE))[-1]
    assert msg.subject == "OTP for baas"
    code = await code_for(api, ALICE)
    assert len(code) == 8 and code.isdigit()
    # Only a hash is stored.
    stored = await api.engine.db.fetchval('SELECT "password" FROM "_otps" WHERE "id" = ?', [otp_id])
    assert stored and code not in stored

    r = await with_otp(api, otp_id, code)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["record"]["email"] == ALICE and body["token"]
    assert body["record"]["verified"] is True  # the code reached the address
    r = await api.client.post(f"{U}/auth-refresh", headers={"Authorization": body["token"]})
    assert r.status_code == 200
    # Single use.
    r = await with_otp(api, otp_id, code)
    assert r.status_code == 400 and r.json()["message"] == "Invalid or expired OTP."


async def test_otp_bad_input(api: Api):
    await configure(api, otp={"enabled": True, "length": 6})
    r = await api.client.post(f"{U}/auth-with-otp", json={})
    assert r.status_code == 400
    assert {k: v["code"] for k, v in r.json()["data"].items()} == {
        "otpId": "validation_required",
        "password": "validation_required",
    }
    r = await api.client.post(f"{U}/request-otp", json={"email": "nope"})
    assert r.status_code == 400 and r.json()["data"]["email"]["code"] == "validation_is_email"
    r = await with_otp(api, "unknownotpid123", "123456")
    assert r.status_code == 400 and r.json()["message"] == "Invalid or expired OTP."
    r = await with_otp(api, "x" * 256, "123456")
    assert r.status_code == 400 and r.json()["data"]["otpId"]["code"] == "validation_length_out_of_range"

    otp_id = await request_otp(api, BOB)
    code = await code_for(api, BOB)
    assert len(code) == 6
    await age(api, "_otps", otp_id, 181)
    r = await with_otp(api, otp_id, code)
    assert r.status_code == 400 and r.json()["message"] == "Invalid or expired OTP."


async def test_otp_attempts_are_limited(api: Api):
    await configure(api, otp={"enabled": True})
    otp_id = await request_otp(api, ALICE)
    code = await code_for(api, ALICE)
    wrong = "0" * 8 if code != "0" * 8 else "1" * 8
    for _ in range(otp.MAX_ATTEMPTS):
        r = await with_otp(api, otp_id, wrong)
        assert r.status_code == 400 and r.json()["message"] == "Invalid or expired OTP."
    # Past the limit even the right code is refused, and the code is gone.
    r = await with_otp(api, otp_id, code)
    assert r.status_code == 429, r.text
    assert r.json()["message"] == "Too many attempts, please try again later with a new OTP."
    r = await with_otp(api, otp_id, code)
    assert r.status_code == 400


async def test_otp_of_another_collection(api: Api):
    await configure(api, otp={"enabled": True})
    r = await api.call(
        "POST",
        "/api/collections",
        "su",
        json={"name": "members", "type": "auth", "createRule": "", "otp": {"enabled": True}},
    )
    assert r.status_code == 200, r.text
    r = await api.client.post(
        "/api/collections/members/records",
        json={"email": ALICE, "password": "password-123", "passwordConfirm": "password-123"},
    )
    assert r.status_code == 200, r.text
    otp_id = await request_otp(api, ALICE, "members")
    code = await code_for(api, ALICE)
    r = await with_otp(api, otp_id, code)
    assert r.status_code == 400 and r.json()["message"] == "Invalid or expired OTP."


async def test_request_otp_does_not_tell_whether_an_account_exists(api: Api):
    await configure(api, otp={"enabled": True})
    known, unknown = [], []
    for i in range(15):
        for email, times in ((ALICE, known), (f"ghost{i}@example.com", unknown)):
            start = time.perf_counter()
            r = await api.client.post(f"{U}/request-otp", json={"email": email})
            times.append(time.perf_counter() - start)
            assert r.status_code == 200 and list(r.json()) == ["otpId"] and len(r.json()["otpId"]) == 15
            await api.engine.tasks.drain()
        await api.engine.db.write(lambda c: c.execute('DELETE FROM "_otps"'))
    a, b = statistics.median(known), statistics.median(unknown)
    assert abs(a - b) < 0.025 or max(a, b) < 3 * min(a, b), (a, b)
    assert len(await mails(api, ALICE)) == 15
    assert [m for m in await mails(api) if m.to[0].startswith("ghost")] == []


async def test_live_otps_per_account_are_capped(api: Api):
    await configure(api, otp={"enabled": True})
    for _ in range(otp.MAX_ACTIVE + 3):
        await request_otp(api, BOB)
    await api.engine.tasks.drain()
    assert len(await mails(api, BOB)) == otp.MAX_ACTIVE


# -- MFA ------------------------------------------------------------------------------------------


async def test_mfa_password_then_otp(api: Api):
    await configure(api, otp={"enabled": True}, mfa={"enabled": True})
    assert (await api.client.get(f"{U}/auth-methods")).json()["mfa"] == {"enabled": True, "duration": 600}

    r = await with_password(api, ALICE)
    assert r.status_code == 401
    assert list(r.json()) == ["mfaId"]  # exactly PocketBase's body: the SDK reads err.response.mfaId
    mfa_id = r.json()["mfaId"]
    # The same method again does not count as a second factor.
    r = await with_password(api, ALICE, mfaId=mfa_id)
    assert r.status_code == 400 and r.json()["message"] == "A different authentication method is required."

    otp_id = await request_otp(api, ALICE)
    code = await code_for(api, ALICE)
    r = await with_otp(api, otp_id, code, mfaId=mfa_id)
    assert r.status_code == 200, r.text
    assert r.json()["record"]["email"] == ALICE
    # Reused mfaId.
    otp_id = await request_otp(api, ALICE)
    code = await code_for(api, ALICE)
    r = await with_otp(api, otp_id, code, mfaId=mfa_id)
    assert r.status_code == 400 and r.json()["message"] == "Invalid or expired MFA session."


async def test_mfa_id_in_the_query_as_the_sdk_sends_it(api: Api):
    await configure(api, otp={"enabled": True}, mfa={"enabled": True})
    otp_id = await request_otp(api, BOB)
    r = await with_otp(api, otp_id, await code_for(api, BOB))
    assert r.status_code == 401
    mfa_id = r.json()["mfaId"]
    r = await api.client.post(
        f"{U}/auth-with-password?mfaId={mfa_id}", json={"identity": BOB, "password": "password-123"}
    )
    assert r.status_code == 200, r.text


async def test_mfa_id_misuse(api: Api):
    await configure(api, otp={"enabled": True}, mfa={"enabled": True})
    alice_mfa = (await with_password(api, ALICE)).json()["mfaId"]
    # Someone else's mfaId.
    otp_id = await request_otp(api, BOB)
    r = await with_otp(api, otp_id, await code_for(api, BOB), mfaId=alice_mfa)
    assert r.status_code == 400 and r.json()["message"] == "Invalid MFA session."
    # An unknown one.
    r = await with_password(api, BOB, mfaId="nosuchmfasession")
    assert r.status_code == 400 and r.json()["message"] == "Invalid or expired MFA session."
    # An expired one.
    await age(api, "_mfas", alice_mfa, 601)
    otp_id = await request_otp(api, ALICE)
    r = await with_otp(api, otp_id, await code_for(api, ALICE), mfaId=alice_mfa)
    assert r.status_code == 400 and r.json()["message"] == "Invalid or expired MFA session."
    # Without an mfaId, a first factor never yields a token.
    r = await with_password(api, BOB)
    assert r.status_code == 401 and "token" not in r.json()


async def test_mfa_rule_picks_the_records(api: Api):
    await configure(api, otp={"enabled": True}, mfa={"enabled": True, "rule": "email = 'bob@example.com'"})
    assert (await with_password(api, ALICE)).status_code == 200
    assert (await with_password(api, BOB)).status_code == 401
    await configure(api, mfa={"enabled": True, "rule": "this is not a rule ("})
    r = await with_password(api, ALICE)
    assert r.status_code == 400 and r.json()["message"] == "Failed to authenticate."


async def test_refresh_is_not_a_factor(api: Api):
    await configure(api, mfa={"enabled": True})
    r = await api.client.post(f"{U}/auth-refresh", headers={"Authorization": api.tokens["alice"]})
    assert r.status_code == 200, r.text


async def test_totp_enrolled_record_needs_totp(api: Api):
    await configure(api, otp={"enabled": True})  # MFA itself off: enrolment alone demands it
    r = await api.call("POST", f"{U}/totp/enroll", "alice")
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    r = await api.call("POST", f"{U}/totp/confirm", "alice", json={"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 200, r.text

    r = await with_password(api, ALICE)
    assert r.status_code == 401
    mfa_id = r.json()["mfaId"]
    # OTP is a different method, but a TOTP-enrolled account's second factor must be TOTP.
    otp_id = await request_otp(api, ALICE)
    r = await with_otp(api, otp_id, await code_for(api, ALICE), mfaId=mfa_id)
    assert r.status_code == 400 and r.json()["message"] == "A TOTP code is required to complete the sign-in."
    # The next time step's code: the current one was spent on the confirmation (no replays).
    code = pyotp.TOTP(secret).at(time.time() + 30)
    r = await api.client.post(f"{U}/auth-with-totp", json={"mfaId": mfa_id, "code": code})
    assert r.status_code == 200, r.text
    assert r.json()["record"]["email"] == ALICE
    # Others are not affected.
    assert (await with_password(api, BOB)).status_code == 200


# -- authRule -------------------------------------------------------------------------------------


async def test_auth_rule(api: Api):
    denied = "The request doesn't satisfy the collection requirements to authenticate."
    await configure(api, authRule=None, otp={"enabled": True})
    r = await with_password(api, ALICE)
    assert r.status_code == 403 and r.json()["message"] == denied
    otp_id = await request_otp(api, ALICE)
    r = await with_otp(api, otp_id, await code_for(api, ALICE))
    assert r.status_code == 403
    r = await api.client.post(f"{U}/auth-refresh", headers={"Authorization": api.tokens["alice"]})
    assert r.status_code == 403

    await configure(api, authRule="verified = true")
    assert (await with_password(api, BOB)).status_code == 403
    assert (await with_password(api, ALICE)).status_code == 200  # verified by the OTP above
    await configure(api, authRule="")
    assert (await with_password(api, BOB)).status_code == 200


async def test_deleting_a_record_removes_its_sign_in_state(api: Api):
    """OTPs, MFA sessions, TOTP enrolments and linked accounts go with their record."""
    await configure(api, otp={"enabled": True}, mfa={"enabled": True})
    await request_otp(api, ALICE)
    await api.engine.tasks.drain()  # the OTP is stored by the background send (no-enumeration timing)
    r = await with_password(api, ALICE)
    assert r.status_code == 401 and r.json()["mfaId"]
    rid = await api.engine.db.fetchval('SELECT "recordRef" FROM "_otps" LIMIT 1')
    users_id = await api.engine.db.fetchval('SELECT "collectionRef" FROM "_otps" LIMIT 1')
    await api.engine.db.write(
        lambda c: c.execute(
            'INSERT INTO "_externalAuths" ("id", "collectionRef", "recordRef", "provider", "providerId", "created", '
            '"updated") VALUES (?, ?, ?, ?, ?, ?, ?)',
            ["ext1", users_id, rid, "oidc", "p1", "", ""],
        )
    )

    def counts() -> list[Any]:
        return [
            api.engine.db.fetchval(f'SELECT count(*) FROM "{t}" WHERE "recordRef" = ?', [rid])
            for t in ("_otps", "_mfas", "_externalAuths")
        ]

    assert all([n > 0 for n in [await c for c in counts()]])
    r = await api.call("DELETE", f"{U}/records/{rid}", "su")
    assert r.status_code == 204, r.text
    assert [await c for c in counts()] == [0, 0, 0]
