"""The auth services below the HTTP handlers (baas/auth/accounts.py, signin.py, flows.py, the
resend guard in throttle.py, the upload checks in files/uploads.py), called directly."""

from __future__ import annotations

from typing import Any

import pytest

from baas.auth import accounts, flows, signin
from baas.auth.throttle import LoginThrottle, ResendGuard
from baas.errors import BadRequest, FieldError, Forbidden, NotFound, TooManyRequests, ValidationFailed
from baas.files import uploads
from baas.rules.context import RequestInfo
from baas.schema.model import Collection
from tests.harness import Api


def users(api: Api) -> Collection:
    coll = api.engine.registry.get("users")
    assert coll is not None
    return coll


def guest() -> RequestInfo:
    return RequestInfo()


async def as_guest() -> RequestInfo:
    return guest()


# -- the resend guard -----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_resend_guard_allows_one_mail_per_record_and_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr("baas.auth.throttle.time.monotonic", clock)
    guard = ResendGuard(after=120)
    assert guard.claim("verification", "c1", "r1")
    assert not guard.claim("verification", "c1", "r1")
    # Another kind, record or collection is another mail.
    assert guard.claim("passwordReset", "c1", "r1")
    assert guard.claim("verification", "c1", "r2")
    assert guard.claim("verification", "c2", "r1")
    clock.now += 119
    assert not guard.claim("verification", "c1", "r1")
    clock.now += 1
    assert guard.claim("verification", "c1", "r1")


def test_resend_guard_release_and_clear() -> None:
    guard = ResendGuard()
    assert guard.claim("verification", "c", "r") and guard.claim("passwordReset", "c", "r")
    guard.release("verification", "c", "r")  # the token was used: a new request is a new need
    assert guard.claim("verification", "c", "r")
    assert not guard.claim("passwordReset", "c", "r")
    guard.clear()
    assert guard.claim("passwordReset", "c", "r")


def test_each_throttle_has_its_own_resend_guard() -> None:
    one, two = LoginThrottle(), LoginThrottle()
    assert one.resend is not two.resend
    assert one.resend.claim("verification", "c", "r")
    assert two.resend.claim("verification", "c", "r")


async def test_the_resend_guard_is_per_engine(api: Api) -> None:
    """A mail another engine sent recently does not stop this engine's."""
    coll = users(api)
    alice = api.users["alice"]
    assert api.engine.throttle.resend.claim("verification", coll.id, alice)
    other = ResendGuard()
    assert other.claim("verification", coll.id, alice)
    assert not api.engine.throttle.resend.claim("verification", coll.id, alice)


# -- form checks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (None, "validation_required"),
        ("", "validation_required"),
        (5, "validation_required"),
        ("not-an-email", "validation_is_email"),
        ("a@example.com", None),
    ],
)
def test_email_error(value: Any, code: str | None) -> None:
    err = flows.email_error(value)
    assert (err.code if err else None) == code


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (None, "validation_required"),
        ("", "validation_required"),
        ("x" * 71, None),
        ("x" * 72, "validation_length_out_of_range"),
    ],
)
def test_length_error(value: Any, code: str | None) -> None:
    err = flows.length_error(value, 71)
    assert (err.code if err else None) == code


def test_fail_form_names_every_field_with_an_error() -> None:
    flows.fail_form({"a": None, "b": None})  # nothing wrong: no error
    with pytest.raises(BadRequest) as exc:
        flows.fail_form(
            {
                "a": FieldError("validation_required", "Cannot be blank."),
                "b": None,
                "c": FieldError("validation_x", "X."),
            }
        )
    assert exc.value.message == flows.INVALID_FORM
    assert set(exc.value.data) == {"a", "c"}


async def test_password_error_uses_the_field_minimum(api: Api) -> None:
    coll = users(api)
    assert flows.password_error(coll, "")
    too_short = flows.password_error(coll, "abc")
    assert too_short is not None and too_short.code == "validation_length_out_of_range"
    assert flows.password_error(coll, "x" * 256) is not None
    assert flows.password_error(coll, "long-enough-password") is None


# -- accounts -------------------------------------------------------------------------------------


async def test_accounts_find_by_id_identity_and_email(api: Api) -> None:
    db, coll = api.engine.db, users(api)
    alice = await accounts.load(db, coll, api.users["alice"])
    assert alice is not None and alice.email == "alice@example.com" and alice.token_key
    assert alice.password_hash.startswith("$argon2")
    record = alice.record()
    assert "tokenKey" not in record and "password" not in record and record["id"] == alice.id
    assert await accounts.load(db, coll, "missing") is None

    found = await accounts.by_email(db, coll, "ALICE@example.com")  # case-insensitive, as the index
    assert found is not None and found.id == alice.id
    assert await accounts.by_email(db, coll, "nobody@example.com") is None
    found = await accounts.by_identity(db, coll, ["email"], "bob@example.com")
    assert found is not None and found.id == api.users["bob"]
    assert await accounts.by_identity(db, coll, [], "bob@example.com") is None

    assert await accounts.email_taken(db, coll, "Bob@example.com", alice.id)
    assert not await accounts.email_taken(db, coll, "alice@example.com", alice.id)  # its own address
    assert await accounts.exists(db, coll, alice.id) and not await accounts.exists(db, coll, "missing")


async def test_an_account_sees_its_own_email(api: Api) -> None:
    alice = await accounts.load(api.engine.db, users(api), api.users["alice"])
    assert alice is not None
    assert alice.own_view()["email"] == "alice@example.com"  # emailVisibility is off: only the owner sees it


async def test_save_as_server_validates_through_the_write_path(api: Api) -> None:
    eng, coll = api.engine, users(api)
    alice = api.users["alice"]
    await accounts.save_as_server(eng.db, eng.registry, coll, alice, {"verified": True}, "Failed.")
    found = await accounts.load(eng.db, coll, alice)
    assert found is not None and found.verified
    with pytest.raises(BadRequest) as exc:
        await accounts.save_as_server(eng.db, eng.registry, coll, alice, {"email": "bob@example.com"}, "Failed.")
    assert exc.value.message == "Failed." and "email" in exc.value.data


# -- sign-in --------------------------------------------------------------------------------------


async def test_with_password(api: Api) -> None:
    eng, coll = api.engine, users(api)
    account = await signin.with_password(eng, coll, "alice@example.com", "password-123")
    assert account.id == api.users["alice"]
    with pytest.raises(BadRequest) as exc:
        await signin.with_password(eng, coll, "alice@example.com", "wrong-password")
    assert exc.value.message == signin.FAILED
    with pytest.raises(BadRequest) as unknown:  # the same answer for an account that does not exist
        await signin.with_password(eng, coll, "nobody@example.com", "wrong-password")
    assert unknown.value.message == exc.value.message and unknown.value.data == exc.value.data
    # Only the field the client names is searched.
    with pytest.raises(BadRequest):
        await signin.with_password(eng, coll, "alice@example.com", "password-123", wanted_field="username")


async def test_with_password_locks_an_identity_after_failures(api: Api) -> None:
    eng, coll = api.engine, users(api)
    eng.throttle.base_lock = 3600.0  # the lock outlasts any slow machine
    for _ in range(eng.throttle.free_failures):
        with pytest.raises(BadRequest):
            await signin.with_password(eng, coll, "nobody@example.com", "wrong")
    with pytest.raises(TooManyRequests):
        await signin.with_password(eng, coll, "NOBODY@example.com", "wrong")


async def test_identity_fields_and_token_duration(api: Api) -> None:
    coll = users(api)
    assert signin.identity_fields(coll) == ["email"]
    assert signin.token_duration(coll) > 0
    su = api.engine.registry.get("_superusers")
    assert su is not None and signin.token_duration(su) == int(su.authToken.get("duration") or 86400)


async def test_check_auth_rule(api: Api) -> None:
    eng, coll = api.engine, users(api)
    alice = api.users["alice"]
    asked: list[bool] = []

    async def requester() -> RequestInfo:
        asked.append(True)
        return guest()

    coll.authRule = ""
    await signin.check_auth_rule(eng, coll, alice, requester)
    assert asked == []  # anyone: the requester is not even looked up
    coll.authRule = None
    with pytest.raises(Forbidden):
        await signin.check_auth_rule(eng, coll, alice, requester)
    coll.authRule = "verified = true"
    with pytest.raises(Forbidden):
        await signin.check_auth_rule(eng, coll, alice, as_guest)
    coll.authRule = "email != ''"
    await signin.check_auth_rule(eng, coll, alice, as_guest)


async def test_mfa_step_when_mfa_is_off(api: Api) -> None:
    assert await signin.mfa_step(api.engine, users(api), api.users["alice"], "password", None, guest()) == (None, "")


# -- upload checks --------------------------------------------------------------------------------


async def test_upload_checks(api: Api) -> None:
    eng = api.engine
    posts = eng.registry.get("posts")
    assert posts is not None
    assert uploads.usable_id(posts, "abcdefghijklmno")
    assert not uploads.usable_id(posts, "../etc") and not uploads.usable_id(posts, 5)
    assert uploads.new_record_id(posts, "abcdefghijklmno") == "abcdefghijklmno"
    assert uploads.new_record_id(posts, "../x") != "../x"
    with pytest.raises(ValidationFailed) as exc:
        uploads.check_part(posts, "nope", "nope", None, {}, True, "Failed to create record.")
    assert exc.value.data["nope"].code == "validation_unknown_field"
    with pytest.raises(ValidationFailed) as exc:
        uploads.check_part(posts, "title", "title", None, {}, True, "Failed to create record.")
    assert exc.value.data["title"].code == "validation_invalid_value"

    await uploads.check_target(eng.db, posts, None, superuser=False)  # a create: createRule is set
    with pytest.raises(NotFound):
        await uploads.check_target(eng.db, posts, "missing", superuser=True)
    vault = eng.registry.get("vault")
    assert vault is not None
    with pytest.raises(Forbidden):
        await uploads.check_target(eng.db, vault, None, superuser=False)
    await uploads.check_target(eng.db, vault, None, superuser=True)
