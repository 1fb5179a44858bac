"""Email flows of auth collections, as PocketBase serves them: verification, password reset and
email change (``request-*`` sends a mail with a token, ``confirm-*`` uses it).

Every ``request-*`` answers 204 at once, whether or not the account exists; the lookup and the
mail happen after the response (``eng.tasks.spawn``), so neither answer nor timing tells.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from baas.api.auth import BASE, auth_collection
from baas.api.deps import auth_record, bearer_token, engine, read_body
from baas.auth import flows
from baas.errors import BadRequest, Forbidden, Unauthorized

SUPERUSERS = "_superusers"


def _no_content() -> Response[bytes]:
    return Response(content=b"", status_code=204)


@post(BASE + "/request-verification")
async def request_verification(request: Request[Any, Any, Any], collection_name: str) -> Response[bytes]:
    eng = engine(request)
    coll = auth_collection(eng, collection_name)
    if coll.name == SUPERUSERS:
        raise BadRequest("All superusers are verified by default.")
    email = (await read_body(request)).get("email")
    flows.fail_form({"email": flows.email_error(email)})
    eng.tasks.spawn(flows.send_verification(eng, coll, str(email)), "verification email")
    return _no_content()


@post(BASE + "/confirm-verification")
async def confirm_verification(request: Request[Any, Any, Any], collection_name: str) -> Response[bytes]:
    eng = engine(request)
    coll = auth_collection(eng, collection_name)
    if coll.name == SUPERUSERS:
        raise BadRequest("All superusers are verified by default.")
    body = await read_body(request)
    await flows.confirm_verification(eng, coll, body.get("token"))
    return _no_content()


@post(BASE + "/request-password-reset")
async def request_password_reset(request: Request[Any, Any, Any], collection_name: str) -> Response[bytes]:
    eng = engine(request)
    coll = auth_collection(eng, collection_name)
    if not coll.passwordAuth.get("enabled", True):
        raise BadRequest("The collection is not configured to allow password authentication.")
    email = (await read_body(request)).get("email")
    flows.fail_form({"email": flows.email_error(email)})
    eng.tasks.spawn(flows.send_password_reset(eng, coll, str(email)), "password reset email")
    return _no_content()


@post(BASE + "/confirm-password-reset")
async def confirm_password_reset(request: Request[Any, Any, Any], collection_name: str) -> Response[bytes]:
    eng = engine(request)
    coll = auth_collection(eng, collection_name)
    body = await read_body(request)
    await flows.confirm_password_reset(eng, coll, body.get("token"), body.get("password"), body.get("passwordConfirm"))
    return _no_content()


@post(BASE + "/request-email-change")
async def request_email_change(request: Request[Any, Any, Any], collection_name: str) -> Response[bytes]:
    eng = engine(request)
    coll = auth_collection(eng, collection_name)
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
    new_email = await flows.check_new_email(eng, coll, raw["id"], str(raw.get("email") or ""), body.get("newEmail"))
    eng.tasks.spawn(flows.send_email_change(eng, coll, raw["id"], new_email), "email change email")
    return _no_content()


@post(BASE + "/confirm-email-change")
async def confirm_email_change(request: Request[Any, Any, Any], collection_name: str) -> Response[bytes]:
    eng = engine(request)
    coll = auth_collection(eng, collection_name)
    if coll.name == SUPERUSERS:
        raise BadRequest("All superusers can change their emails directly.")
    body = await read_body(request)
    await flows.confirm_email_change(eng, coll, body.get("token"), body.get("password"))
    return _no_content()


ROUTES = [
    request_verification,
    confirm_verification,
    request_password_reset,
    confirm_password_reset,
    request_email_change,
    confirm_email_change,
]
