"""Auth endpoints of auth collections: auth-methods, auth-with-password, auth-refresh."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from baas.api.deps import auth_record, bearer_token, collection, engine, json_response, read_body, reader
from baas.auth import tokens
from baas.auth.passwords import verify_password_async
from baas.core import Engine
from baas.db.tables import q
from baas.errors import BadRequest, Unauthorized
from baas.records.serialize import raw_record, row_to_record, select_list
from baas.rules.context import RequestInfo
from baas.schema.model import Collection

BASE = "/api/collections/{collection_name:str}"
DEFAULT_DURATION = {"_superusers": 86400}


def _auth_collection(eng: Engine, name: str) -> Collection:
    coll = collection(eng, name)
    if coll.type != "auth":
        raise BadRequest(f"The collection {coll.name!r} is not an auth collection.")
    return coll


def _duration(coll: Collection) -> int:
    return int(coll.authToken.get("duration") or DEFAULT_DURATION.get(coll.name, 604800))


def identity_fields(coll: Collection) -> list[str]:
    fields = coll.passwordAuth.get("identityFields") or ["email"]
    return [f for f in fields if coll.field(f) is not None]


async def finish_auth(request: Request, eng: Engine, coll: Collection, record: dict[str, Any],
                      token_key: str, method: str, mfa_id: str | None = None) -> Response:
    """The end of every sign-in method (``method``: password, otp, oauth2, totp, …): the token and
    the record, as PocketBase answers. MFA hooks in here: a collection with MFA on answers the first
    factor with 401 and an ``mfaId`` that the second method must pass back."""
    token = tokens.issue(eng.secret, record, coll.id, token_key, _duration(coll))
    req = RequestInfo(auth=record, query=dict(request.query_params.items()))
    r = reader(request, req)
    q_ = req.query
    rec = (await r.finish(coll, [dict(record)], q_.get("expand", ""), q_.get("fields", "")))[0]
    return json_response({"token": token, "record": rec})


@get(BASE + "/auth-methods")
async def auth_methods(request: Request, collection_name: str) -> Response:
    coll = _auth_collection(engine(request), collection_name)
    enabled = coll.passwordAuth.get("enabled", True)
    return json_response({
        "password": {"enabled": enabled, "identityFields": identity_fields(coll)},
        "oauth2": {"enabled": False, "providers": []},
        "mfa": {"enabled": False, "duration": 0},
        "otp": {"enabled": False, "duration": 0},
    })


@post(BASE + "/auth-with-password")
async def auth_with_password(request: Request, collection_name: str) -> Response:
    eng = engine(request)
    coll = _auth_collection(eng, collection_name)
    body = await read_body(request)
    identity, password = body.get("identity"), body.get("password")
    if not isinstance(identity, str) or not identity or not isinstance(password, str) or not password:
        raise BadRequest("Failed to authenticate.", {
            k: {"code": "validation_required", "message": "Cannot be blank."}
            for k, v in (("identity", identity), ("password", password)) if not isinstance(v, str) or not v})
    fields = identity_fields(coll)
    wanted = body.get("identityField")
    if isinstance(wanted, str) and wanted:
        fields = [f for f in fields if f == wanted]
    cols, flds = select_list(coll)
    row = None
    for fname in fields:
        cmp = f"lower({q('m')}.{q(fname)}) = lower(?)" if fname == "email" else f"{q('m')}.{q(fname)} = ?"
        row = await eng.db.fetchone(f"SELECT {cols} FROM {q(coll.name)} AS {q('m')} WHERE {cmp}", [identity])
        if row is not None:
            break
    raw = raw_record(coll, flds, row) if row is not None else {}
    # Verify even when nothing matched, so timing does not tell whether the account exists.
    if not await verify_password_async(raw.get("password", ""), password) or row is None:
        raise BadRequest("Failed to authenticate.")
    record = row_to_record(coll, flds, row, None)
    record.pop("tokenKey", None)
    return await finish_auth(request, eng, coll, record, raw["tokenKey"], "password", body.get("mfaId") or None)


@post(BASE + "/auth-refresh")
async def auth_refresh(request: Request, collection_name: str) -> Response:
    eng = engine(request)
    coll = _auth_collection(eng, collection_name)
    token = bearer_token(request)
    found = await auth_record(eng, token) if token else None
    if found is None or found[0].id != coll.id:
        raise Unauthorized("The request requires valid record authorization token.")
    _, record, raw = found
    record.pop("tokenKey", None)
    return await finish_auth(request, eng, coll, record, raw["tokenKey"], "refresh")


ROUTES = [auth_methods, auth_with_password, auth_refresh]
