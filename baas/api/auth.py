"""Auth endpoints of auth collections: auth-methods, auth-with-password, auth-refresh."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from baas.api.clientip import client_ip
from baas.api.deps import (
    HeaderView,
    auth_record,
    bearer_token,
    collection,
    engine,
    json_response,
    read_body,
    reader,
    request_info,
)
from baas.auth import mfa, oauth2, otp, tokens
from baas.auth.passwords import verify_password_async
from baas.core import Engine
from baas.db.tables import email_equals, q
from baas.errors import BadRequest, Forbidden, Unauthorized
from baas.hooks import RecordAuthEvent
from baas.records.query import fetch_one
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
    the record, as PocketBase answers.

    First the collection's ``authRule`` (null: nobody, "": anyone, else a rule the record must
    pass for the requester), then MFA: when it applies (see `baas.auth.mfa`), a first factor is
    answered with 401 ``{"mfaId": …}`` and the second, different method must pass that id back
    (in the body or the query, where PocketBase's SDK puts it).

    A bound ``on_record_auth_request`` chain runs after the authRule, around MFA, the token and
    the answer (`baas.hooks.RecordAuthEvent`)."""
    await _check_auth_rule(request, eng, coll, record)
    hook = eng.hooks.on_record_auth_request
    if hook.bound and (chain := hook.chain_for(coll)):
        event = RecordAuthEvent(coll, record, method, _guest_info(request))

        async def answer(e: RecordAuthEvent) -> None:
            e.status, e.result = await _mfa_and_token(request, eng, coll, e.record, token_key, e.method, mfa_id,
                                                      e.token)
            if e.status == 200:
                e.token = e.result["token"]
                if e.meta is not None:
                    e.result["meta"] = e.meta

        await hook.trigger(event, answer, chain)
        if event.result is None:  # a handler stopped the chain without answering
            raise BadRequest("Failed to authenticate.")
        return json_response(event.result, event.status)
    status, body = await _mfa_and_token(request, eng, coll, record, token_key, method, mfa_id)
    return json_response(body, status)


async def _mfa_and_token(request: Request, eng: Engine, coll: Collection, record: dict[str, Any], token_key: str,
                         method: str, mfa_id: str | None, token: str = "") -> tuple[int, dict[str, Any]]:
    """MFA when it applies (401 ``{mfaId}``), else 200 ``{token, record}`` (``token``: a hook's own)."""
    if method not in mfa.NOT_A_FACTOR:
        needed, needs_totp = await mfa.requirement(eng.db, eng.registry, coll, record["id"],
                                                   _guest_info(request))
        if needed:
            mfa_id = mfa_id or request.query_params.get("mfaId") or None
            if not mfa_id:
                return 401, {"mfaId": await mfa.start(eng.db, coll, record["id"], method)}
            await mfa.complete(eng.db, coll, record["id"], str(mfa_id), method, needs_totp)
    token = token or tokens.issue(eng.secret, record, coll.id, token_key, _duration(coll))
    return 200, await _auth_body(request, coll, record, token)


async def _auth_answer(request: Request, coll: Collection, record: dict[str, Any], token: str) -> Response:
    return json_response(await _auth_body(request, coll, record, token))


async def _auth_body(request: Request, coll: Collection, record: dict[str, Any], token: str) -> dict[str, Any]:
    """``{token, record}`` with the record as its owner sees it: hidden fields only for superusers."""
    req = RequestInfo(auth=record, query=dict(request.query_params.items()))
    shown = dict(record)
    if not req.is_superuser:
        for f in coll.fields:
            if f.hidden:
                shown.pop(f.name, None)
    r = reader(request, req)
    q_ = req.query
    rec = (await r.finish(coll, [shown], q_.get("expand", ""), q_.get("fields", ""), done=True))[0]
    return {"token": token, "record": rec}


def _guest_info(request: Request) -> RequestInfo:
    return RequestInfo(query=dict(request.query_params.items()), headers=HeaderView(request.headers),
                       method=request.method.upper())


async def _check_auth_rule(request: Request, eng: Engine, coll: Collection, record: dict[str, Any]) -> None:
    """PocketBase's ``authRule``: evaluated against the signing-in record for the requester."""
    rule = coll.authRule
    if rule == "":
        return
    req = await request_info(request)
    if rule is None:
        ok = req.is_superuser
    else:
        ok = await fetch_one(reader(request, req), coll, record["id"], rule) is not None
    if not ok:
        raise Forbidden("The request doesn't satisfy the collection requirements to authenticate.")


def _factor_info(enabled: bool, duration: int) -> dict[str, Any]:
    return {"enabled": enabled, "duration": duration if enabled else 0}


@get(BASE + "/auth-methods")
async def auth_methods(request: Request, collection_name: str) -> Response:
    coll = _auth_collection(engine(request), collection_name)
    enabled = coll.passwordAuth.get("enabled", True)
    return json_response({
        "password": {"enabled": enabled, "identityFields": identity_fields(coll)},
        "oauth2": oauth2.auth_methods(coll.oauth2),
        "mfa": _factor_info(*mfa.options(coll)[:2]),
        "otp": _factor_info(*otp.options(coll)[:2]),
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
    throttle = eng.throttle
    throttle.check(coll.id, identity)  # 429 while this identity is locked; before any lookup
    fields = identity_fields(coll)
    wanted = body.get("identityField")
    if isinstance(wanted, str) and wanted:
        fields = [f for f in fields if f == wanted]
    cols, flds = select_list(coll)
    row = None
    for fname in fields:
        cmp = email_equals(eng.db.dialect, "m") if fname == "email" else f"{q('m')}.{q(fname)} = ?"
        row = await eng.db.fetchone(f"SELECT {cols} FROM {q(coll.name)} AS {q('m')} WHERE {cmp}", [identity])
        if row is not None:
            break
    raw = raw_record(coll, flds, row) if row is not None else {}
    # Verify even when nothing matched, so timing does not tell whether the account exists.
    if not await verify_password_async(raw.get("password", ""), password) or row is None:
        throttle.failed(coll.id, identity, client_ip(request, eng.settings_store.cached))
        raise BadRequest("Failed to authenticate.")
    throttle.succeeded(coll.id, identity)
    record = row_to_record(coll, flds, row, None)
    record.pop("tokenKey", None)
    return await finish_auth(request, eng, coll, record, raw["tokenKey"], "password", body.get("mfaId") or None)


@post(BASE + "/auth-refresh")
async def auth_refresh(request: Request, collection_name: str) -> Response:
    eng = engine(request)
    token = bearer_token(request)
    found = await auth_record(eng, token) if token else None
    # PocketBase's order and answers: no valid token 401; a valid token of another collection
    # (a superuser's on users/…) 403, naming the token's own collection as PocketBase does.
    if found is None:
        raise Unauthorized("The request requires valid record authorization token.")
    coll = collection(eng, collection_name)
    if found[0].id != coll.id:
        raise Forbidden(f"The request requires auth record from {found[0].name} collection.")
    _, record, raw = found
    record.pop("tokenKey", None)
    claims = tokens.peek(token) or {}
    if claims.get("refreshable") is False:  # impersonation tokens: answered as they are, as PocketBase
        return await _auth_answer(request, coll, record, token)
    return await finish_auth(request, eng, coll, record, raw["tokenKey"], "refresh")


ROUTES = [auth_methods, auth_with_password, auth_refresh]
