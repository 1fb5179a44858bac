"""The email-based auth flows without HTTP: purpose tokens, account lookup, and the mails they send.

Purpose tokens (verification, passwordReset, emailChange) are HS256 JWTs with PocketBase's claims
(``id``, ``type``, ``collectionId``, ``email``, ``newEmail`` for an email change, ``exp``). Each
purpose has its own signing key, derived from the install secret and the collection's
``<purpose>Token.secret`` option, joined with the record's ``tokenKey``: a token of one purpose
never verifies for another, and a new password or email (which rotates the tokenKey) voids every
token issued before it.

Sending runs in the background (``eng.tasks.spawn``): the request that asks for a mail answers at once, the
same way whether or not the account exists, so neither the answer nor its timing tells.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import string
import time
from typing import Any

import jwt

from baas.auth import emails, otp, tokens
from baas.core import Engine
from baas.db.tables import email_equals, q
from baas.errors import FieldError
from baas.records.query import load_row
from baas.records.serialize import raw_record, row_to_record, select_list
from baas.schema.fields import EmailField
from baas.schema.model import Collection

log = logging.getLogger("baas.auth")

# PocketBase 0.40.6's defaults (seconds).
DURATIONS = {"verification": 86400, "passwordReset": 1800, "emailChange": 1800}
_OPTION = {"verification": "verificationToken", "passwordReset": "passwordResetToken",
           "emailChange": "emailChangeToken"}
# A second request for the same mail within this many seconds sends nothing (as PocketBase).
RESEND_AFTER = 120.0
_EMAIL = EmailField(name="email")


class TokenError(Exception):
    """A purpose token that cannot be used: PocketBase's field error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.field_error = FieldError(code, message)


def invalid_token() -> TokenError:
    return TokenError("validation_invalid_token", "Invalid or expired token.")


def email_error(value: Any) -> FieldError | None:
    """PocketBase's check of an ``email`` body value: required, at most 255 chars, email format."""
    if not isinstance(value, str) or not value:
        return FieldError("validation_required", "Cannot be blank.")
    try:
        _EMAIL.validate(value)
    except FieldError as exc:
        return exc
    return None


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
    claims = {"id": raw["id"], "type": kind, "collectionId": coll.id, "email": raw.get("email", ""), **extra,
              "exp": int(time.time()) + duration(coll, kind)}
    return jwt.encode(claims, _key(eng, coll, kind, raw["tokenKey"]), algorithm=tokens.ALGORITHM)


async def check(eng: Engine, coll: Collection, token: str, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(stored record, claims) of a valid ``kind`` token for ``coll``; raises `TokenError`."""
    claims = tokens.peek(token)
    if claims is None:
        raise invalid_token()
    owner = eng.registry.get(claims["collectionId"])
    if owner is None or owner.type != "auth" or owner.id != claims["collectionId"]:
        raise invalid_token()
    row = await load_row(eng.db, owner, claims["id"])
    if row is None:
        raise invalid_token()
    raw = raw_record(owner, select_list(owner)[1], row)
    try:
        verified = jwt.decode(token, _key(eng, owner, kind, raw.get("tokenKey") or ""), algorithms=[tokens.ALGORITHM],
                              options={"require": ["exp", "id", "collectionId", "type"]})
    except jwt.PyJWTError:
        raise invalid_token() from None
    if verified.get("type") != kind:
        raise invalid_token()
    if owner.id != coll.id:
        raise TokenError("validation_token_collection_mismatch", "The provided token is for different auth collection.")
    return raw, verified


async def find_by_email(eng: Engine, coll: Collection, email: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(stored values, API record) of the account with ``email`` (case-insensitive), else None."""
    cols, fields = select_list(coll)
    row = await eng.db.fetchone(
        f"SELECT {cols} FROM {q(coll.name)} AS {q('m')} WHERE {email_equals(eng.db.dialect, 'm')}", [email])
    if row is None:
        return None
    return raw_record(coll, fields, row), row_to_record(coll, fields, row, None)


def email_taken_sql(coll: Collection, dialect: str) -> str:
    return f"SELECT {q('id')} FROM {q(coll.name)} WHERE {email_equals(dialect)} AND {q('id')} != ?"


# -- resend guard ---------------------------------------------------------------------------------

_recent: dict[str, float] = {}


def _throttled(key: str) -> bool:
    now = time.monotonic()
    for k in [k for k, until in _recent.items() if until <= now]:
        del _recent[k]
    return key in _recent


def _mark(key: str) -> None:
    _recent[key] = time.monotonic() + RESEND_AFTER


def clear_throttle(kind: str, coll: Collection, record_id: str) -> None:
    _recent.pop(f"{kind}:{coll.id}:{record_id}", None)


async def _deliver(eng: Engine, coll: Collection, kind: str, record: dict[str, Any], to: str,
                   extra: dict[str, str]) -> None:
    settings = await eng.settings_store.load()
    msg = emails.render(coll, kind, settings, record, to, extra)
    await eng.mailer.send(msg, settings)


async def send_verification(eng: Engine, coll: Collection, email: str) -> None:
    found = await find_by_email(eng, coll, email)
    if found is None or found[0].get("verified"):
        return
    raw, record = found
    key = f"verification:{coll.id}:{raw['id']}"
    if _throttled(key):
        return
    _mark(key)
    await _deliver(eng, coll, "verification", record, raw["email"],
                   {"{TOKEN}": issue(eng, coll, raw, "verification")})


async def send_password_reset(eng: Engine, coll: Collection, email: str) -> None:
    found = await find_by_email(eng, coll, email)
    if found is None:
        return
    raw, record = found
    key = f"passwordReset:{coll.id}:{raw['id']}"
    if _throttled(key):
        return
    _mark(key)
    await _deliver(eng, coll, "passwordReset", record, raw["email"],
                   {"{TOKEN}": issue(eng, coll, raw, "passwordReset")})


async def send_email_change(eng: Engine, coll: Collection, record_id: str, new_email: str) -> None:
    row = await load_row(eng.db, coll, record_id)
    if row is None:
        return
    fields = select_list(coll)[1]
    raw, record = raw_record(coll, fields, row), row_to_record(coll, fields, row, None)
    token = issue(eng, coll, raw, "emailChange", newEmail=new_email)
    await _deliver(eng, coll, "emailChange", record, new_email, {"{TOKEN}": token})


async def send_otp(eng: Engine, coll: Collection, email: str, otp_id: str) -> None:
    """Make a code under the ``otp_id`` already given to the client, and mail it."""
    found = await find_by_email(eng, coll, email)
    if found is None:
        return
    raw, record = found
    code = otp.new_code(otp.options(coll)[2])
    if not await otp.create(eng.db, eng.secret, coll, raw["id"], raw["email"], otp_id, code):
        log.warning("too many live OTPs for a %s record: none sent", coll.name)
        return
    try:
        await _deliver(eng, coll, "otp", record, raw["email"], {"{OTP}": code, "{OTP_ID}": otp_id})
    except BaseException:
        await otp.discard(eng.db, otp_id)  # a code nobody received must not stay usable
        raise
