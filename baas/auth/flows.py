"""The email-based auth flows without HTTP: purpose tokens, the ``request-*`` mails and the
``confirm-*`` checks and changes, as PocketBase serves them.

Purpose tokens (verification, passwordReset, emailChange) are HS256 JWTs with PocketBase's claims
(``id``, ``type``, ``collectionId``, ``email``, ``newEmail`` for an email change, ``exp``). Each
purpose has its own signing key, derived from the install secret and the collection's
``<purpose>Token.secret`` option, joined with the record's ``tokenKey``: a token of one purpose
never verifies for another, and a new password or email (which rotates the tokenKey) voids every
token issued before it.

Sending runs in the background (``eng.tasks.spawn``): the request that asks for a mail answers at
once, the same way whether or not the account exists, so neither the answer nor its timing tells.
A second request for the same mail within a while sends nothing (``eng.throttle.resend``).

A ``confirm-*`` check that fails raises `BadRequest` with PocketBase's message and field errors
(`fail_form`), every invalid field named at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import string
import time
from typing import TYPE_CHECKING, Any

import jwt

from baas.auth import accounts, emails, otp, tokens
from baas.errors import BadRequest, FieldError
from baas.events import emit
from baas.records.passwords import verify_password_async
from baas.schema.fields.email import EmailField
from baas.schema.fields.password import PasswordField
from baas.schema.model import Collection

if TYPE_CHECKING:
    from baas.core import Engine

log = logging.getLogger("baas.auth")

# PocketBase 0.40.6's defaults (seconds).
DURATIONS = {"verification": 86400, "passwordReset": 1800, "emailChange": 1800}
_OPTION = {
    "verification": "verificationToken",
    "passwordReset": "passwordResetToken",
    "emailChange": "emailChangeToken",
}
INVALID_FORM = "An error occurred while validating the submitted data."
_EMAIL = EmailField(name="email")
Checked = tuple[dict[str, Any], dict[str, Any]]  # (stored record, claims) of a valid purpose token


class TokenError(Exception):
    """A purpose token that cannot be used: PocketBase's field error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.field_error = FieldError(code, message)


def invalid_token() -> TokenError:
    return TokenError("validation_invalid_token", "Invalid or expired token.")


# -- form checks ----------------------------------------------------------------------------------


def required(value: Any) -> FieldError | None:
    """``validation_required`` unless ``value`` is a non-empty string."""
    return None if isinstance(value, str) and value else FieldError("validation_required", "Cannot be blank.")


def fail_form(errors: dict[str, FieldError | None]) -> None:
    """Raise PocketBase's form error naming every field with an error (None: no error)."""
    found: dict[str, FieldError | dict[str, Any]] = {k: v for k, v in errors.items() if v is not None}
    if found:
        raise BadRequest(INVALID_FORM, found)


def length_error(value: Any, most: int) -> FieldError | None:
    """``validation_required``, or the length error past ``most`` characters."""
    missing = required(value)
    if missing:
        return missing
    if len(str(value)) > most:
        return FieldError(
            "validation_length_out_of_range", f"The length must be between 1 and {most}.", {"min": 1, "max": most}
        )
    return None


def email_error(value: Any) -> FieldError | None:
    """PocketBase's check of an ``email`` body value: required, at most 255 chars, email format."""
    if not isinstance(value, str) or not value:
        return FieldError("validation_required", "Cannot be blank.")
    try:
        _EMAIL.validate(value)
    except FieldError as exc:
        return exc
    return None


def password_error(coll: Collection, value: Any) -> FieldError | None:
    """PocketBase's check of a new password: 1 (or the field's ``min``) to 255 characters, then the
    password field's own limits (pattern, its max)."""
    missing = required(value)
    if missing:
        return missing
    field = coll.field("password")
    least = field.min if isinstance(field, PasswordField) and field.min > 0 else 1
    if not least <= len(value) <= 255:
        return FieldError(
            "validation_length_out_of_range", f"The length must be between {least} and 255.", {"min": least, "max": 255}
        )
    try:
        if isinstance(field, PasswordField):
            field.validate(value)
    except FieldError as exc:
        return exc
    return None


# -- purpose tokens -------------------------------------------------------------------------------


def duration(coll: Collection, kind: str) -> int:
    opt = getattr(coll, _OPTION[kind]) or {}
    value = opt.get("duration")
    return int(value) if isinstance(value, (int, float)) and value > 0 else DURATIONS[kind]


def _key(eng: Engine, coll: Collection, kind: str, token_key: str) -> str:
    opt = getattr(coll, _OPTION[kind]) or {}
    derived = hmac.new(eng.secret.encode(), f"{kind}\0{opt.get('secret') or ''}".encode(), hashlib.sha256)
    return derived.hexdigest() + token_key


def new_token_key() -> str:
    """A fresh ``tokenKey``: setting it signs the record out everywhere."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(50))


def issue(eng: Engine, coll: Collection, raw: dict[str, Any], kind: str, **extra: str) -> str:
    """A ``kind`` token for the stored record ``raw`` (it must hold ``tokenKey`` and ``email``)."""
    claims = {
        "id": raw["id"],
        "type": kind,
        "collectionId": coll.id,
        "email": raw.get("email", ""),
        **extra,
        "exp": int(time.time()) + duration(coll, kind),
    }
    return jwt.encode(claims, _key(eng, coll, kind, raw["tokenKey"]), algorithm=tokens.ALGORITHM)


async def check(eng: Engine, coll: Collection, token: str, kind: str) -> Checked:
    """(stored record, claims) of a valid ``kind`` token for ``coll``; raises `TokenError`."""
    claims = tokens.peek(token)
    if claims is None:
        raise invalid_token()
    owner = eng.registry.get(claims["collectionId"])
    if owner is None or owner.type != "auth" or owner.id != claims["collectionId"]:
        raise invalid_token()
    account = await accounts.load(eng.db, owner, claims["id"])
    if account is None:
        raise invalid_token()
    try:
        verified: dict[str, Any] = jwt.decode(
            token,
            _key(eng, owner, kind, account.token_key),
            algorithms=[tokens.ALGORITHM],
            options={"require": ["exp", "id", "collectionId", "type"]},
        )
    except jwt.PyJWTError:
        raise invalid_token() from None
    if verified.get("type") != kind:
        raise invalid_token()
    if owner.id != coll.id:
        raise TokenError("validation_token_collection_mismatch", "The provided token is for different auth collection.")
    return account.raw, verified


async def _token_field(eng: Engine, coll: Collection, token: Any, kind: str) -> Checked | FieldError:
    """The stored record and claims of a body's ``token``, or the field error PocketBase gives."""
    missing = required(token)
    if missing:
        return missing
    try:
        return await check(eng, coll, token, kind)
    except TokenError as exc:
        return exc.field_error


def _claim(token: Any, name: str) -> Any:
    """An unverified claim of a token (None when there is no such token or claim)."""
    return (tokens.peek(token) or {}).get(name) if isinstance(token, str) and token else None


# -- confirm-* ------------------------------------------------------------------------------------


async def confirm_verification(eng: Engine, coll: Collection, token: Any) -> None:
    """Mark the token's record verified (once its email still is the token's)."""
    if required(token) is None and not _claim(token, "email"):
        fail_form({"token": FieldError("validation_invalid_token_claims", "Missing email token claim.")})
    checked = await _token_field(eng, coll, token, "verification")
    if isinstance(checked, FieldError):
        raise BadRequest(INVALID_FORM, {"token": checked})
    raw, claims = checked
    if raw.get("email") != claims.get("email"):
        fail_form(
            {
                "token": FieldError(
                    "validation_token_email_mismatch", "The record email doesn't match with the requested token claims."
                )
            }
        )
    if not raw.get("verified"):
        await accounts.save_as_server(
            eng.db,
            eng.registry,
            coll,
            raw["id"],
            {"verified": True},
            "An error occurred while saving the verified state.",
            hooks=eng.hooks,
            event=emit.AUTH_VERIFIED,
        )
    eng.throttle.resend.release("verification", coll.id, raw["id"])


async def confirm_password_reset(eng: Engine, coll: Collection, token: Any, password: Any, confirm: Any) -> None:
    """Set the new password of the token's record (which rotates its tokenKey: this token and
    every session before it stop working); a proven address becomes verified."""
    checked = await _token_field(eng, coll, token, "passwordReset")
    mismatch = required(confirm) or (
        FieldError("validation_values_mismatch", "Values don't match.") if confirm != password else None
    )
    fail_form(
        {
            "token": checked if isinstance(checked, FieldError) else None,
            "password": password_error(coll, password),
            "passwordConfirm": mismatch,
        }
    )
    assert not isinstance(checked, FieldError)  # fail_form raised
    raw, claims = checked
    change: dict[str, Any] = {"password": password, "passwordConfirm": confirm}
    if not raw.get("verified") and raw.get("email") == claims.get("email"):
        change["verified"] = True  # the mail reached its owner: the address is proven
    await accounts.save_as_server(
        eng.db,
        eng.registry,
        coll,
        raw["id"],
        change,
        "Failed to set new password.",
        hooks=eng.hooks,
        event=emit.AUTH_PASSWORD_RESET,
    )
    eng.throttle.resend.release("passwordReset", coll.id, raw["id"])


async def check_new_email(eng: Engine, coll: Collection, record_id: str, current: str, new_email: Any) -> str:
    """``newEmail`` of a ``request-email-change`` for the record ``record_id`` (whose address is
    ``current``), checked: an email, not the current one, not another record's."""
    error = email_error(new_email)
    if error is None and str(new_email).lower() == current.lower():
        error = FieldError("validation_not_in_invalid", "Must not be in list.")
    if error is None and await accounts.email_taken(eng.db, coll, str(new_email), record_id):
        error = FieldError("validation_invalid_new_email", "Invalid new email address.")
    fail_form({"newEmail": error})
    return str(new_email)


async def confirm_email_change(eng: Engine, coll: Collection, token: Any, password: Any) -> None:
    """Switch the token's record to its new email, proven by the mail (so verified); the account
    password confirms it. A new tokenKey ends every session of the old address."""
    checked: Checked | FieldError | None = required(token)
    if checked is None:
        if not _claim(token, "newEmail"):
            checked = FieldError("validation_invalid_token_payload", "Invalid token payload - newEmail must be set.")
        else:
            checked = await _token_field(eng, coll, token, "emailChange")
    if not isinstance(checked, FieldError):
        raw, claims = checked
        if await accounts.email_taken(eng.db, coll, claims["newEmail"], raw["id"]):
            checked = FieldError("validation_invalid_token_email", "The new email address is invalid.")
    pw_error = required(password)
    if pw_error is None and (
        isinstance(checked, FieldError) or not await verify_password_async(checked[0].get("password", ""), password)
    ):
        pw_error = FieldError("validation_invalid_password", "Missing or invalid auth record password.")
    fail_form({"token": checked if isinstance(checked, FieldError) else None, "password": pw_error})
    assert checked is not None and not isinstance(checked, FieldError)  # fail_form raised
    raw, claims = checked
    await accounts.save_as_server(
        eng.db,
        eng.registry,
        coll,
        raw["id"],
        {"email": claims["newEmail"], "verified": True, "tokenKey": new_token_key()},
        "Failed to confirm email change.",
        hooks=eng.hooks,
        event=emit.AUTH_EMAIL_CHANGE,
    )


# -- request-* (run in the background) ------------------------------------------------------------


async def _deliver(
    eng: Engine, coll: Collection, kind: str, record: dict[str, Any], to: str, extra: dict[str, str]
) -> None:
    settings = await eng.settings_store.load()
    msg = emails.render(coll, kind, settings, record, to, extra)
    await eng.mailer.send(msg, settings)


async def send_verification(eng: Engine, coll: Collection, email: str) -> None:
    found = await accounts.by_email(eng.db, coll, email)
    if found is None or found.verified or not eng.throttle.resend.claim("verification", coll.id, found.id):
        return
    await _deliver(
        eng, coll, "verification", found.record(), found.email, {"{TOKEN}": issue(eng, coll, found.raw, "verification")}
    )


async def send_password_reset(eng: Engine, coll: Collection, email: str) -> None:
    found = await accounts.by_email(eng.db, coll, email)
    if found is None or not eng.throttle.resend.claim("passwordReset", coll.id, found.id):
        return
    await _deliver(
        eng,
        coll,
        "passwordReset",
        found.record(),
        found.email,
        {"{TOKEN}": issue(eng, coll, found.raw, "passwordReset")},
    )


async def send_email_change(eng: Engine, coll: Collection, record_id: str, new_email: str) -> None:
    found = await accounts.load(eng.db, coll, record_id)
    if found is None:
        return
    token = issue(eng, coll, found.raw, "emailChange", newEmail=new_email)
    await _deliver(eng, coll, "emailChange", found.record(), new_email, {"{TOKEN}": token})


async def send_otp(eng: Engine, coll: Collection, email: str, otp_id: str) -> None:
    """Make a code under the ``otp_id`` already given to the client, and mail it."""
    found = await accounts.by_email(eng.db, coll, email)
    if found is None:
        return
    code = otp.new_code(otp.options(coll)[2])
    if not await otp.create(eng.db, eng.secret, coll, found.id, found.email, otp_id, code):
        log.warning("too many live OTPs for a %s record: none sent", coll.name)
        return
    try:
        await _deliver(eng, coll, "otp", found.record(), found.email, {"{OTP}": code, "{OTP_ID}": otp_id})
    except BaseException:
        await otp.discard(eng.db, otp_id)  # a code nobody received must not stay usable
        raise
