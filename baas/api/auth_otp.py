"""One-time password sign-in, as PocketBase serves it: ``request-otp`` mails a code and answers its
``otpId``; ``auth-with-otp`` trades the id and the code for an auth token (or an MFA step).

``request-otp`` answers ``{"otpId": …}`` at once for any well-formed address: for an unknown one
the id is simply never stored, so neither the answer nor its timing tells whether the account
exists.
"""

from __future__ import annotations

from litestar import Request, Response, post

from baas.api.auth import BASE, _auth_collection, finish_auth
from baas.api.auth_email import fail_form, required, save_as_server
from baas.api.deps import engine, json_response, read_body
from baas.auth import flows, otp
from baas.errors import BadRequest, FieldError, Forbidden
from baas.ids import new_id
from baas.records.query import load_row
from baas.records.serialize import raw_record, row_to_record, select_list
from baas.rules.context import RequestInfo
from baas.schema.model import Collection

DISABLED = "The collection is not configured to allow OTP authentication."


def _otp_collection(request: Request, name: str) -> Collection:
    coll = _auth_collection(engine(request), name)
    if not otp.options(coll)[0]:
        raise Forbidden(DISABLED)
    return coll


def _length(value: object, most: int) -> FieldError | None:
    missing = required(value)
    if missing:
        return missing
    if len(str(value)) > most:
        return FieldError("validation_length_out_of_range", f"The length must be between 1 and {most}.",
                          {"min": 1, "max": most})
    return None


@post(BASE + "/request-otp")
async def request_otp(request: Request, collection_name: str) -> Response:
    eng = engine(request)
    coll = _otp_collection(request, collection_name)
    body = await read_body(request)
    fail_form({"email": flows.email_error(body.get("email"))})
    otp_id = new_id()
    eng.tasks.spawn(flows.send_otp(eng, coll, body["email"], otp_id), "OTP email")
    return json_response({"otpId": otp_id})


@post(BASE + "/auth-with-otp")
async def auth_with_otp(request: Request, collection_name: str) -> Response:
    eng = engine(request)
    coll = _otp_collection(request, collection_name)
    body = await read_body(request)
    otp_id, code = body.get("otpId"), body.get("password")
    fail_form({"otpId": _length(otp_id, 255), "password": _length(code, 71)})
    record_id, sent_to = await otp.consume(eng.db, eng.secret, coll, str(otp_id), str(code))
    row = await load_row(eng.db, coll, record_id)
    if row is None:
        raise BadRequest(otp.INVALID)
    fields = select_list(coll)[1]
    raw = raw_record(coll, fields, row)
    if not raw.get("verified") and sent_to and raw.get("email") == sent_to:
        # The code reached this address, so it is proven (done before MFA, as PocketBase).
        await save_as_server(eng, coll, record_id, {"verified": True}, "Failed to authenticate.")
        row = await load_row(eng.db, coll, record_id) or row
    # The record as its owner sees it (no hidden fields), as every auth response shows it.
    me = RequestInfo(auth={"id": record_id, "collectionId": coll.id, "collectionName": coll.name})
    record = row_to_record(coll, fields, row, me)
    return await finish_auth(request, eng, coll, record, raw["tokenKey"], "otp", body.get("mfaId") or None)


ROUTES = [request_otp, auth_with_otp]
