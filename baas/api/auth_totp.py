"""TOTP endpoints (an addition to PocketBase's API): enrol, confirm, status, disable, reset, and
``auth-with-totp`` as the second factor of an MFA sign-in.

    POST   /api/collections/{c}/totp/enroll      (record token)  -> {secret, uri}
    POST   /api/collections/{c}/totp/confirm     {code}          -> {recoveryCodes: [10]}
    GET    /api/collections/{c}/totp             (record token)  -> {enabled, pending, recoveryCodesLeft}
    DELETE /api/collections/{c}/totp             {code} | {password}            -> 204
    DELETE /api/collections/{c}/totp/{recordId}  (superuser: lost device)        -> 204
    POST   /api/collections/{c}/auth-with-totp   {mfaId, code} | {mfaId, recoveryCode} -> {token, record}
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, post

from baas.api.auth import finish_auth
from baas.api.deps import (
    auth_record,
    bearer_token,
    collection,
    engine,
    json_response,
    read_body,
    request_info,
    require_superuser,
)
from baas.auth import mfa, totp
from baas.core import Engine
from baas.errors import BadRequest, NotFound, Unauthorized
from baas.schema.model import Collection

BASE = "/api/collections/{collection_name:str}"


def _auth_coll(eng: Engine, name: str) -> Collection:
    coll = collection(eng, name)
    if coll.type != "auth":
        raise NotFound("Missing or invalid auth collection context.")
    return coll


async def _requester(
    request: Request[Any, Any, Any], eng: Engine, coll: Collection
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The record (API view, stored values) whose token authorises this request; it must belong to ``coll``."""
    token = bearer_token(request)
    found = await auth_record(eng, token) if token else None
    if found is None or found[0].id != coll.id:
        raise Unauthorized("The request requires valid record authorization token.")
    return found[1], found[2]


def _required(body: dict[str, Any], *names: str) -> dict[str, str]:
    """The named body values as non-empty strings; a 400 naming every missing or invalid one."""
    errors = {
        n: {"code": "validation_required", "message": "Cannot be blank."}
        for n in names
        if not isinstance(body.get(n), str) or not body.get(n)
    }
    if errors:
        raise BadRequest("An error occurred while validating the submitted data.", errors)
    return {n: body[n] for n in names}


@post(BASE + "/totp/enroll")
async def totp_enroll(request: Request[Any, Any, Any], collection_name: str) -> Response[bytes]:
    eng = engine(request)
    coll = _auth_coll(eng, collection_name)
    record, _ = await _requester(request, eng, coll)
    secret = await totp.enroll(eng.db, eng.secret, coll.id, record["id"])
    issuer = (await eng.settings_store.load())["meta"].get("appName") or "baas"
    account = record.get("email") or record["id"]
    # The only time the secret leaves the server: the authenticator app needs it once.
    return json_response({"secret": secret, "uri": totp.provisioning_uri(secret, account, issuer)})


@post(BASE + "/totp/confirm")
async def totp_confirm(request: Request[Any, Any, Any], collection_name: str) -> Response[bytes]:
    eng = engine(request)
    coll = _auth_coll(eng, collection_name)
    record, _ = await _requester(request, eng, coll)
    code = _required(await read_body(request), "code")["code"]
    codes = await totp.confirm(eng.db, eng.secret, coll.id, record["id"], code)
    return json_response({"recoveryCodes": codes})


@get(BASE + "/totp")
async def totp_status(request: Request[Any, Any, Any], collection_name: str) -> Response[bytes]:
    eng = engine(request)
    coll = _auth_coll(eng, collection_name)
    record, _ = await _requester(request, eng, coll)
    return json_response(await totp.status(eng.db, coll.id, record["id"]))


@delete(BASE + "/totp", status_code=204)
async def totp_disable(request: Request[Any, Any, Any], collection_name: str) -> None:
    """Turn TOTP off, proving presence with a current code or the account password."""
    eng = engine(request)
    coll = _auth_coll(eng, collection_name)
    record, raw = await _requester(request, eng, coll)
    body = await read_body(request)
    await totp.disable(
        eng.db,
        eng.secret,
        coll.id,
        record["id"],
        code=body.get("code"),
        password=body.get("password"),
        password_hash=str(raw.get("password") or ""),
    )


@delete(BASE + "/totp/{record_id:str}", status_code=204)
async def totp_reset(request: Request[Any, Any, Any], collection_name: str, record_id: str) -> None:
    """A superuser removes a record's enrolment (lost device and recovery codes)."""
    require_superuser(await request_info(request))
    eng = engine(request)
    coll = _auth_coll(eng, collection_name)
    if not await totp.remove(eng.db, coll.id, record_id):
        raise NotFound()


@post(BASE + "/auth-with-totp")
async def auth_with_totp(request: Request[Any, Any, Any], collection_name: str) -> Response[bytes]:
    """The second factor: a current TOTP code (or a recovery code) for the record of ``mfaId``."""
    eng = engine(request)
    coll = _auth_coll(eng, collection_name)
    body = await read_body(request)
    mfa_id = _required(body, "mfaId")["mfaId"]
    code, recovery = body.get("code"), body.get("recoveryCode")
    has_code, has_recovery = isinstance(code, str) and bool(code), isinstance(recovery, str) and bool(recovery)
    if has_code == has_recovery:
        raise BadRequest(
            "An error occurred while validating the submitted data.",
            {"code": {"code": "validation_required", "message": "Send either code or recoveryCode."}},
        )
    account = await mfa.session_account(eng.db, coll, mfa_id)
    await totp.verify(
        eng.db,
        eng.secret,
        coll.id,
        account.id,
        code=code if has_code else None,
        recovery_code=recovery if has_recovery else None,
    )
    return await finish_auth(request, eng, coll, account.own_view(), account.token_key, "totp", mfa_id)


ROUTES = [totp_enroll, totp_confirm, totp_status, totp_disable, totp_reset, auth_with_totp]
