"""Email flows of auth collections, as PocketBase serves them: verification, password reset and
email change (``request-*`` sends a mail with a token, ``confirm-*`` uses it).

Every ``request-*`` answers 204 at once, whether or not the account exists; the lookup and the
mail happen after the response (``eng.tasks.spawn``), so neither answer nor timing tells.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from baas.api.auth import BASE, _auth_collection
from baas.api.deps import auth_record, bearer_token, engine, read_body
from baas.auth import flows, tokens
from baas.auth.passwords import verify_password_async
from baas.core import SUPERUSER, Engine
from baas.errors import BadRequest, FieldError, Forbidden, Unauthorized, ValidationFailed
from baas.records.query import Reader
from baas.records.write import prehash, update_record
from baas.schema.fields import PasswordField
from baas.schema.model import Collection

INVALID_FORM = "An error occurred while validating the submitted data."
SUPERUSERS = "_superusers"


def _no_content() -> Response:
    return Response(content=b"", status_code=204)


def required(value: Any) -> FieldError | None:
    return None if isinstance(value, str) and value else FieldError("validation_required", "Cannot be blank.")


def fail_form(errors: dict[str, FieldError | None]) -> None:
    found = {k: v for k, v in errors.items() if v is not None}
    if found:
        raise BadRequest(INVALID_FORM, found)  # type: ignore[arg-type]


async def _token_field(eng: Engine, coll: Collection, token: Any, kind: str) -> tuple[dict, dict] | FieldError:
    """The stored record and claims of a body's ``token``, or the field error PocketBase gives."""
    missing = required(token)
    if missing:
        return missing
    try:
        return await flows.check(eng, coll, token, kind)
    except flows.TokenError as exc:
        return exc.field_error


async def save_as_server(eng: Engine, coll: Collection, record_id: str, body: dict[str, Any], message: str) -> None:
    """Write through the record write path (validation, event row), as the server itself."""
    hashed = await prehash(coll, body)
    try:
        await eng.db.write(lambda conn: update_record(conn, Reader(conn, eng.registry, SUPERUSER), coll, record_id,
                                                      body, hashed=hashed))
    except ValidationFailed as exc:
        raise BadRequest(message, exc.data) from None


@post(BASE + "/request-verification")
async def request_verification(request: Request, collection_name: str) -> Response:
    eng = engine(request)
    coll = _auth_collection(eng, collection_name)
    if coll.name == SUPERUSERS:
        raise BadRequest("All superusers are verified by default.")
    body = await read_body(request)
    fail_form({"email": flows.email_error(body.get("email"))})
    eng.tasks.spawn(flows.send_verification(eng, coll, body["email"]), "verification email")
    return _no_content()


@post(BASE + "/confirm-verification")
async def confirm_verification(request: Request, collection_name: str) -> Response:
    eng = engine(request)
    coll = _auth_collection(eng, collection_name)
    if coll.name == SUPERUSERS:
        raise BadRequest("All superusers are verified by default.")
    body = await read_body(request)
    token = body.get("token")
    if required(token) is None and not (tokens.peek(token) or {}).get("email"):
        fail_form({"token": FieldError("validation_invalid_token_claims", "Missing email token claim.")})
    checked = await _token_field(eng, coll, token, "verification")
    if isinstance(checked, FieldError):
        fail_form({"token": checked})
    raw, claims = checked  # type: ignore[misc]
    if raw.get("email") != claims.get("email"):
        fail_form({"token": FieldError("validation_token_email_mismatch",
                                   "The record email doesn't match with the requested token claims.")})
    if not raw.get("verified"):
        await save_as_server(eng, coll, raw["id"], {"verified": True},
                             "An error occurred while saving the verified state.")
    flows.clear_throttle("verification", coll, raw["id"])
    return _no_content()


@post(BASE + "/request-password-reset")
async def request_password_reset(request: Request, collection_name: str) -> Response:
    eng = engine(request)
    coll = _auth_collection(eng, collection_name)
    if not coll.passwordAuth.get("enabled", True):
        raise BadRequest("The collection is not configured to allow password authentication.")
    body = await read_body(request)
    fail_form({"email": flows.email_error(body.get("email"))})
    eng.tasks.spawn(flows.send_password_reset(eng, coll, body["email"]), "password reset email")
    return _no_content()


def _password_error(coll: Collection, value: Any) -> FieldError | None:
    missing = required(value)
    if missing:
        return missing
    field = coll.field("password")
    least = field.min if isinstance(field, PasswordField) and field.min > 0 else 1
    if not least <= len(value) <= 255:
        return FieldError("validation_length_out_of_range", f"The length must be between {least} and 255.",
                          {"min": least, "max": 255})
    try:
        if isinstance(field, PasswordField):
            field.validate(value)  # the field's own limits (pattern, its max) on top
    except FieldError as exc:
        return exc
    return None


@post(BASE + "/confirm-password-reset")
async def confirm_password_reset(request: Request, collection_name: str) -> Response:
    eng = engine(request)
    coll = _auth_collection(eng, collection_name)
    body = await read_body(request)
    password, confirm = body.get("password"), body.get("passwordConfirm")
    checked = await _token_field(eng, coll, body.get("token"), "passwordReset")
    mismatch = required(confirm) or (FieldError("validation_values_mismatch", "Values don't match.")
                                      if confirm != password else None)
    fail_form({"token": checked if isinstance(checked, FieldError) else None,
           "password": _password_error(coll, password), "passwordConfirm": mismatch})
    raw, claims = checked  # type: ignore[misc]
    change: dict[str, Any] = {"password": password, "passwordConfirm": confirm}
    if not raw.get("verified") and raw.get("email") == claims.get("email"):
        change["verified"] = True  # the mail reached its owner: the address is proven
    # A new password rotates the tokenKey: this token and every session before it stop working.
    await save_as_server(eng, coll, raw["id"], change, "Failed to set new password.")
    flows.clear_throttle("passwordReset", coll, raw["id"])
    return _no_content()


@post(BASE + "/request-email-change")
async def request_email_change(request: Request, collection_name: str) -> Response:
    eng = engine(request)
    coll = _auth_collection(eng, collection_name)
    if coll.name == SUPERUSERS:
        raise BadRequest("All superusers can change their emails directly.")
    token = bearer_token(request)
    found = await auth_record(eng, token) if token else None
    if found is None:
        raise Unauthorized("The request requires valid record authorization token.")
    if found[0].id != coll.id:
        raise Forbidden(f"The request requires auth record from {coll.name} collection.")
    raw = found[2]
    body = await read_body(request)
    new_email = body.get("newEmail")
    error = flows.email_error(new_email)
    if error is None and new_email.lower() == str(raw.get("email", "")).lower():
        error = FieldError("validation_not_in_invalid", "Must not be in list.")
    if error is None and await eng.db.fetchone(flows.email_taken_sql(coll, eng.db.dialect), [new_email, raw["id"]]):
        error = FieldError("validation_invalid_new_email", "Invalid new email address.")
    fail_form({"newEmail": error})
    eng.tasks.spawn(flows.send_email_change(eng, coll, raw["id"], new_email), "email change email")
    return _no_content()


@post(BASE + "/confirm-email-change")
async def confirm_email_change(request: Request, collection_name: str) -> Response:
    eng = engine(request)
    coll = _auth_collection(eng, collection_name)
    if coll.name == SUPERUSERS:
        raise BadRequest("All superusers can change their emails directly.")
    body = await read_body(request)
    token, password = body.get("token"), body.get("password")
    checked: tuple[dict, dict] | FieldError | None = required(token)
    if checked is None:
        if not (tokens.peek(token) or {}).get("newEmail"):
            checked = FieldError("validation_invalid_token_payload", "Invalid token payload - newEmail must be set.")
        else:
            checked = await _token_field(eng, coll, token, "emailChange")
    if not isinstance(checked, FieldError):
        new_email = checked[1]["newEmail"]
        if await eng.db.fetchone(flows.email_taken_sql(coll, eng.db.dialect), [new_email, checked[0]["id"]]):
            checked = FieldError("validation_invalid_token_email", "The new email address is invalid.")
    pw_error = required(password)
    if pw_error is None and (isinstance(checked, FieldError)
                             or not await verify_password_async(checked[0].get("password", ""), password)):
        pw_error = FieldError("validation_invalid_password", "Missing or invalid auth record password.")
    fail_form({"token": checked if isinstance(checked, FieldError) else None, "password": pw_error})
    raw, claims = checked  # type: ignore[misc]
    # The new address is proven by the mail; a new tokenKey ends every session of the old one.
    await save_as_server(eng, coll, raw["id"], {"email": claims["newEmail"], "verified": True,
                                       "tokenKey": flows.new_token_key()}, "Failed to confirm email change.")
    return _no_content()


ROUTES = [request_verification, confirm_verification, request_password_reset, confirm_password_reset,
          request_email_change, confirm_email_change]
