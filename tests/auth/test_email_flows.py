"""Verification, password reset and email change, in-process, against PocketBase 0.40.6's answers."""

from __future__ import annotations

import statistics
import time

import jwt
import pytest

from baas.auth import flows
from tests.auth.mailkit import mails, token_for
from tests.harness import Api

U = "/api/collections/users"
INVALID_FORM = "An error occurred while validating the submitted data."


def code(r, field: str) -> str:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["message"] == INVALID_FORM, body
    return body["data"][field]["code"]


async def user(api: Api, name: str) -> dict:
    r = await api.call("GET", f"{U}/records/{api.users[name]}", "su")
    assert r.status_code == 200, r.text
    return r.json()


async def sign_in(api: Api, email: str, password: str):
    return await api.client.post(f"{U}/auth-with-password", json={"identity": email, "password": password})


async def members(api: Api) -> str:
    """A second auth collection with a user of the same id layout; returns its name."""
    r = await api.call("POST", "/api/collections", "su", json={"name": "members", "type": "auth", "createRule": ""})
    assert r.status_code == 200, r.text
    r = await api.client.post(
        "/api/collections/members/records",
        json={"email": "alice@example.com", "password": "password-123", "passwordConfirm": "password-123"},
    )
    assert r.status_code == 200, r.text
    return "members"


# -- verification ---------------------------------------------------------------------------------


async def test_verification_flow(api: Api):
    r = await api.client.post(f"{U}/request-verification", json={"email": "alice@example.com"})
    assert r.status_code == 204 and r.content == b""
    msg = (await mails(api, "alice@example.com"))[-1]
    assert msg.subject == "Verify your baas email" and msg.to == ["alice@example.com"]
    token = await token_for(api, "alice@example.com", "verification")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["type"] == "verification" and claims["id"] == api.users["alice"]
    assert claims["email"] == "alice@example.com" and claims["collectionId"] == "_pb_users_auth_"

    r = await api.client.post(f"{U}/confirm-verification", json={"token": token})
    assert r.status_code == 204, r.text
    assert (await user(api, "alice"))["verified"] is True
    # Used again: a no-op, as PocketBase answers it.
    r = await api.client.post(f"{U}/confirm-verification", json={"token": token})
    assert r.status_code == 204
    # Already verified: no new mail.
    before = len(await mails(api))
    assert (await api.client.post(f"{U}/request-verification", json={"email": "alice@example.com"})).status_code == 204
    assert len(await mails(api)) == before


async def test_request_verification_bad_input(api: Api):
    assert code(await api.client.post(f"{U}/request-verification", json={}), "email") == "validation_required"
    r = await api.client.post(f"{U}/request-verification", json={"email": "not-an-email"})
    assert code(r, "email") == "validation_is_email"
    r = await api.client.post("/api/collections/_superusers/request-verification", json={"email": "a@b.co"})
    assert r.status_code == 400 and r.json()["message"] == "All superusers are verified by default."
    r = await api.client.post("/api/collections/posts/request-verification", json={"email": "a@b.co"})
    assert r.status_code == 400
    r = await api.client.post("/api/collections/nope/request-verification", json={"email": "a@b.co"})
    assert r.status_code == 404
    assert await mails(api) == []


async def test_request_verification_is_throttled(api: Api):
    for _ in range(3):
        r = await api.client.post(f"{U}/request-verification", json={"email": "bob@example.com"})
        assert r.status_code == 204
    assert len(await mails(api, "bob@example.com")) == 1


async def test_confirm_verification_bad_tokens(api: Api, monkeypatch):
    url = f"{U}/confirm-verification"
    assert code(await api.client.post(url, json={}), "token") == "validation_required"
    assert code(await api.client.post(url, json={"token": "abc"}), "token") == "validation_invalid_token_claims"

    await api.client.post(f"{U}/request-password-reset", json={"email": "alice@example.com"})
    reset = await token_for(api, "alice@example.com", "passwordReset")
    # A token of another purpose does not verify.
    assert code(await api.client.post(url, json={"token": reset}), "token") == "validation_invalid_token"

    # An expired one: issued a day and a half ago.
    real = time.time
    monkeypatch.setattr(flows.time, "time", lambda: real() - 130000)
    await api.client.post(f"{U}/request-verification", json={"email": "alice@example.com"})
    old = await token_for(api, "alice@example.com", "verification")
    monkeypatch.setattr(flows.time, "time", real)
    assert code(await api.client.post(url, json={"token": old}), "token") == "validation_invalid_token"

    # A forged one: right claims, wrong signature.
    claims = jwt.decode(old, options={"verify_signature": False})
    claims["exp"] = int(real()) + 3600
    forged = jwt.encode(claims, "a-guessed-signing-key-of-some-length", algorithm="HS256")
    assert code(await api.client.post(url, json={"token": forged}), "token") == "validation_invalid_token"
    assert (await user(api, "alice"))["verified"] is False


async def test_verification_token_for_another_collection(api: Api):
    other = await members(api)
    await api.client.post(f"{U}/request-verification", json={"email": "alice@example.com"})
    token = await token_for(api, "alice@example.com", "verification")
    r = await api.client.post(f"/api/collections/{other}/confirm-verification", json={"token": token})
    assert code(r, "token") == "validation_token_collection_mismatch"


async def test_verification_token_dies_with_an_email_change(api: Api):
    await api.client.post(f"{U}/request-verification", json={"email": "bob@example.com"})
    token = await token_for(api, "bob@example.com", "verification")
    r = await api.call("PATCH", f"{U}/records/{api.users['bob']}", "su", json={"email": "bobby@example.com"})
    assert r.status_code == 200, r.text
    r = await api.client.post(f"{U}/confirm-verification", json={"token": token})
    assert code(r, "token") == "validation_token_email_mismatch"


# -- password reset -------------------------------------------------------------------------------


async def test_password_reset_flow(api: Api):
    old_session = api.tokens["alice"]
    r = await api.client.post(f"{U}/request-password-reset", json={"email": "ALICE@example.com"})
    assert r.status_code == 204
    msg = (await mails(api, "alice@example.com"))[-1]
    assert msg.subject == "Reset your baas password"
    token = await token_for(api, "alice@example.com", "passwordReset")

    r = await api.client.post(
        f"{U}/confirm-password-reset",
        json={"token": token, "password": "brand-new-pass", "passwordConfirm": "brand-new-pass"},
    )
    assert r.status_code == 204, r.text
    # The old password and the old sessions are gone; the new password works.
    assert (await sign_in(api, "alice@example.com", "password-123")).status_code == 400
    r = await api.client.post(f"{U}/auth-refresh", headers={"Authorization": old_session})
    assert r.status_code == 401
    r = await sign_in(api, "alice@example.com", "brand-new-pass")
    assert r.status_code == 200
    # The mail proved the address.
    assert r.json()["record"]["verified"] is True
    # The token was for one use: the tokenKey it was signed with has been rotated.
    r = await api.client.post(
        f"{U}/confirm-password-reset",
        json={"token": token, "password": "another-pass-1", "passwordConfirm": "another-pass-1"},
    )
    assert code(r, "token") == "validation_invalid_token"


async def test_confirm_password_reset_bad_input(api: Api):
    url = f"{U}/confirm-password-reset"
    r = await api.client.post(url, json={})
    assert r.status_code == 400
    assert {k: v["code"] for k, v in r.json()["data"].items()} == {
        "token": "validation_required",
        "password": "validation_required",
        "passwordConfirm": "validation_required",
    }

    await api.client.post(f"{U}/request-password-reset", json={"email": "alice@example.com"})
    token = await token_for(api, "alice@example.com", "passwordReset")
    r = await api.client.post(url, json={"token": token, "password": "brand-new-pass", "passwordConfirm": "other-pass"})
    assert code(r, "passwordConfirm") == "validation_values_mismatch"
    r = await api.client.post(url, json={"token": token, "password": "short", "passwordConfirm": "short"})
    assert code(r, "password") == "validation_length_out_of_range"
    r = await api.client.post(url, json={"token": token, "password": "x" * 300, "passwordConfirm": "x" * 300})
    assert code(r, "password") == "validation_length_out_of_range"

    await api.client.post(f"{U}/request-verification", json={"email": "alice@example.com"})
    verify = await token_for(api, "alice@example.com", "verification")
    r = await api.client.post(
        url, json={"token": verify, "password": "brand-new-pass", "passwordConfirm": "brand-new-pass"}
    )
    assert code(r, "token") == "validation_invalid_token"
    other = await members(api)
    r = await api.client.post(
        f"/api/collections/{other}/confirm-password-reset",
        json={"token": token, "password": "brand-new-pass", "passwordConfirm": "brand-new-pass"},
    )
    assert code(r, "token") == "validation_token_collection_mismatch"
    # Nothing was changed by any of it.
    assert (await sign_in(api, "alice@example.com", "password-123")).status_code == 200


async def test_password_reset_expired_token(api: Api, monkeypatch):
    real = time.time
    monkeypatch.setattr(flows.time, "time", lambda: real() - 1801)
    await api.client.post(f"{U}/request-password-reset", json={"email": "bob@example.com"})
    token = await token_for(api, "bob@example.com", "passwordReset")
    monkeypatch.setattr(flows.time, "time", real)
    r = await api.client.post(
        f"{U}/confirm-password-reset",
        json={"token": token, "password": "brand-new-pass", "passwordConfirm": "brand-new-pass"},
    )
    assert code(r, "token") == "validation_invalid_token"


async def test_request_password_reset_bad_input(api: Api):
    assert code(await api.client.post(f"{U}/request-password-reset", json={}), "email") == "validation_required"
    r = await api.client.post(f"{U}/request-password-reset", json={"email": "a" * 250 + "@example.com"})
    assert code(r, "email") == "validation_is_email"
    r = await api.client.post(f"{U}/request-password-reset", content=b"{not json")
    assert r.status_code == 400


# -- email change ---------------------------------------------------------------------------------


async def test_email_change_flow(api: Api):
    r = await api.call("POST", f"{U}/request-email-change", "alice", json={"newEmail": "alice2@example.com"})
    assert r.status_code == 204, r.text
    msg = (await mails(api, "alice2@example.com"))[-1]
    assert msg.subject == "Confirm your baas new email address"
    assert await mails(api, "alice@example.com") == []
    token = await token_for(api, "alice2@example.com", "emailChange")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["type"] == "emailChange" and claims["newEmail"] == "alice2@example.com"

    url = f"{U}/confirm-email-change"
    r = await api.client.post(url, json={"token": token, "password": "wrong-password"})
    assert code(r, "password") == "validation_invalid_password"
    r = await api.client.post(url, json={"token": token, "password": "password-123"})
    assert r.status_code == 204, r.text
    rec = await user(api, "alice")
    assert rec["email"] == "alice2@example.com" and rec["verified"] is True
    # Old sessions end; the new address signs in; the token cannot be used again.
    r = await api.client.post(f"{U}/auth-refresh", headers={"Authorization": api.tokens["alice"]})
    assert r.status_code == 401
    assert (await sign_in(api, "alice2@example.com", "password-123")).status_code == 200
    r = await api.client.post(url, json={"token": token, "password": "password-123"})
    assert code(r, "token") == "validation_invalid_token"


async def test_request_email_change_bad_input(api: Api):
    url = f"{U}/request-email-change"
    r = await api.client.post(url, json={"newEmail": "x@example.com"})
    assert r.status_code == 401
    r = await api.call("POST", url, "su", json={"newEmail": "x@example.com"})
    assert r.status_code == 403
    r = await api.call("POST", "/api/collections/_superusers/request-email-change", "su", json={"newEmail": "x@e.co"})
    assert r.status_code == 400 and r.json()["message"] == "All superusers can change their emails directly."
    assert code(await api.call("POST", url, "alice", json={}), "newEmail") == "validation_required"
    assert code(await api.call("POST", url, "alice", json={"newEmail": "nope"}), "newEmail") == "validation_is_email"
    r = await api.call("POST", url, "alice", json={"newEmail": "bob@example.com"})
    assert code(r, "newEmail") == "validation_invalid_new_email"
    r = await api.call("POST", url, "alice", json={"newEmail": "BOB@example.com"})
    assert code(r, "newEmail") == "validation_invalid_new_email"
    r = await api.call("POST", url, "alice", json={"newEmail": "alice@example.com"})
    assert code(r, "newEmail") == "validation_not_in_invalid"
    assert await mails(api) == []


async def test_confirm_email_change_bad_input(api: Api):
    url = f"{U}/confirm-email-change"
    r = await api.client.post(url, json={})
    assert {k: v["code"] for k, v in r.json()["data"].items()} == {
        "token": "validation_required",
        "password": "validation_required",
    }
    r = await api.client.post(url, json={"token": "abc", "password": "password-123"})
    assert code(r, "token") == "validation_invalid_token_payload"

    r = await api.call("POST", f"{U}/request-email-change", "alice", json={"newEmail": "shared@example.com"})
    assert r.status_code == 204
    token = await token_for(api, "shared@example.com", "emailChange")
    other = await members(api)
    r = await api.client.post(
        f"/api/collections/{other}/confirm-email-change", json={"token": token, "password": "password-123"}
    )
    assert code(r, "token") == "validation_token_collection_mismatch"
    # Someone took the address in the meantime.
    r = await api.call("PATCH", f"{U}/records/{api.users['bob']}", "su", json={"email": "shared@example.com"})
    assert r.status_code == 200
    r = await api.client.post(url, json={"token": token, "password": "password-123"})
    assert code(r, "token") == "validation_invalid_token_email"
    assert (await user(api, "alice"))["email"] == "alice@example.com"


async def test_email_change_token_is_not_a_reset_token(api: Api):
    await api.call("POST", f"{U}/request-email-change", "bob", json={"newEmail": "bob2@example.com"})
    token = await token_for(api, "bob2@example.com", "emailChange")
    r = await api.client.post(
        f"{U}/confirm-password-reset",
        json={"token": token, "password": "brand-new-pass", "passwordConfirm": "brand-new-pass"},
    )
    assert code(r, "token") == "validation_invalid_token"
    r = await api.client.post(f"{U}/confirm-verification", json={"token": token})
    assert code(r, "token") == "validation_invalid_token"


# -- no enumeration -------------------------------------------------------------------------------


async def _timed(api: Api, url: str, email: str) -> tuple[float, int, bytes]:
    start = time.perf_counter()
    r = await api.client.post(url, json={"email": email})
    elapsed = time.perf_counter() - start
    await api.engine.tasks.drain()  # the background send runs outside the measured window, for both kinds alike
    api.engine.throttle.resend.clear()
    return elapsed, r.status_code, r.content


@pytest.mark.parametrize("path", ["request-verification", "request-password-reset"])
async def test_request_endpoints_do_not_tell_whether_an_account_exists(api: Api, path: str):
    url = f"{U}/{path}"
    known, unknown = [], []
    for i in range(15):
        t1, s1, b1 = await _timed(api, url, "alice@example.com")
        t2, s2, b2 = await _timed(api, url, f"ghost{i}@example.com")
        assert (s1, b1) == (s2, b2) == (204, b"")
        known.append(t1)
        unknown.append(t2)
    a, b = statistics.median(known), statistics.median(unknown)
    # Generous: equal work up front, so only noise separates them.
    assert abs(a - b) < 0.025 or max(a, b) < 3 * min(a, b), (a, b)
    assert await mails(api, "alice@example.com")  # and the real one did get its mails
