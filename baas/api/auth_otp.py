"""One-time password sign-in, as PocketBase serves it: ``request-otp`` mails a code and answers its
``otpId``; ``auth-with-otp`` trades the id and the code for an auth token (or an MFA step).

``request-otp`` answers ``{"otpId": …}`` at once for any well-formed address: for an unknown one
the id is simply never stored, so neither the answer nor its timing tells whether the account
exists.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from baas.api.auth import BASE, auth_collection, finish_auth, mfa_id_of
from baas.api.deps import engine, json_response, read_body
from baas.auth import flows, otp
from baas.errors import Forbidden
from baas.ids import new_id
from baas.schema.model import Collection

DISABLED = "The collection is not configured to allow OTP authentication."


def _otp_collection(request: Request[Any, Any, Any], name: str) -> Collection:
    coll = auth_collection(engine(request), name)
    if not otp.options(coll)[0]:
        raise Forbidden(DISABLED)
    return coll


@post(BASE + "/request-otp")
async def request_otp(request: Request[Any, Any, Any], collection_name: str) -> Response[bytes]:
    eng = engine(request)
    coll = _otp_collection(request, collection_name)
    email = (await read_body(request)).get("email")
    flows.fail_form({"email": flows.email_error(email)})
    otp_id = new_id()
    eng.tasks.spawn(flows.send_otp(eng, coll, str(email), otp_id), "OTP email")
    return json_response({"otpId": otp_id})


@post(BASE + "/auth-with-otp")
async def auth_with_otp(request: Request[Any, Any, Any], collection_name: str) -> Response[bytes]:
    eng = engine(request)
    coll = _otp_collection(request, collection_name)
    body = await read_body(request)
    otp_id, code = body.get("otpId"), body.get("password")
    flows.fail_form({"otpId": flows.length_error(otp_id, 255), "password": flows.length_error(code, 71)})
    account = await otp.sign_in(eng.db, eng.registry, eng.secret, coll, str(otp_id), str(code), eng.hooks)
    return await finish_auth(request, eng, coll, account.own_view(), account.token_key, "otp", mfa_id_of(body))


ROUTES = [request_otp, auth_with_otp]
