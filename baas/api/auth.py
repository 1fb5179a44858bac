"""Auth endpoints of auth collections: auth-methods, auth-with-password, auth-refresh."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

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
from baas.auth import mfa, oauth2, otp, signin, tokens
from baas.clientip import client_ip
from baas.core import Engine
from baas.errors import BadRequest, Forbidden, Unauthorized
from baas.hooks import RecordAuthEvent
from baas.rules.context import RequestInfo
from baas.schema.model import Collection

BASE = "/api/collections/{collection_name:str}"


def auth_collection(eng: Engine, name: str) -> Collection:
    """The auth collection ``name``: 404 when missing, 400 when not an auth collection."""
    coll = collection(eng, name)
    if coll.type != "auth":
        raise BadRequest(f"The collection {coll.name!r} is not an auth collection.")
    return coll


def mfa_id_of(body: dict[str, Any]) -> str | None:
    """The ``mfaId`` a second factor sends in its body (the query is read by `finish_auth`)."""
    value = body.get("mfaId")
    return str(value) if value else None


async def finish_auth(
    request: Request[Any, Any, Any],
    eng: Engine,
    coll: Collection,
    record: dict[str, Any],
    token_key: str,
    method: str,
    mfa_id: str | None = None,
) -> Response[bytes]:
    """The end of every sign-in method (``method``: password, otp, oauth2, totp, …): the token and
    the record, as PocketBase answers.

    First the collection's ``authRule``, then MFA: when it applies (see `baas.auth.mfa`), a first
    factor is answered with 401 ``{"mfaId": …}`` and the second, different method must pass that
    id back (in the body or the query, where PocketBase's SDK puts it).

    A bound ``on_record_auth_request`` chain runs after the authRule, around MFA, the token and
    the answer (`baas.hooks.RecordAuthEvent`)."""
    await signin.check_auth_rule(eng, coll, record["id"], lambda: request_info(request))
    hook = eng.hooks.on_record_auth_request
    if hook.bound and (chain := hook.chain_for(coll)):
        event = RecordAuthEvent(coll, record, method, _guest_info(request))

        async def answer(e: RecordAuthEvent) -> None:
            e.status, e.result = await _mfa_and_token(
                request, eng, coll, e.record, token_key, e.method, mfa_id, e.token
            )
            if e.status == 200:
                e.token = e.result["token"]
                if e.meta is not None:
                    e.result["meta"] = e.meta

        await hook.trigger(event, answer, chain)
        if event.result is None:  # a handler stopped the chain without answering
            raise BadRequest(signin.FAILED)
        return json_response(event.result, event.status)
    status, body = await _mfa_and_token(request, eng, coll, record, token_key, method, mfa_id)
    return json_response(body, status)


async def _mfa_and_token(
    request: Request[Any, Any, Any],
    eng: Engine,
    coll: Collection,
    record: dict[str, Any],
    token_key: str,
    method: str,
    mfa_id: str | None,
    token: str = "",
) -> tuple[int, dict[str, Any]]:
    """401 ``{mfaId}`` while MFA needs a second factor, else 200 ``{token, record}`` (``token``: a hook's own)."""
    mfa_id = mfa_id or request.query_params.get("mfaId") or None
    opened, first = await signin.mfa_step(eng, coll, record["id"], method, mfa_id, _guest_info(request))
    if opened is not None:
        return 401, {"mfaId": opened}
    token = token or signin.auth_token(eng, coll, record, token_key)
    # the auth.signin event (docs/events.md), naming the method (``mfa`` and both factors after MFA)
    await signin.signed_in(eng, coll, record, method, first_factor=first)
    return 200, await auth_body(request, coll, record, token)


async def auth_body(
    request: Request[Any, Any, Any], coll: Collection, record: dict[str, Any], token: str
) -> dict[str, Any]:
    """``{token, record}`` with the record as its owner sees it (hidden fields only for superusers),
    expanded and trimmed as the query asks."""
    req = RequestInfo(auth=record, query=dict(request.query_params.items()))
    shown = dict(record)
    if not req.is_superuser:
        for f in coll.fields:
            if f.hidden:
                shown.pop(f.name, None)
    q = req.query
    rec = (await reader(request, req).finish(coll, [shown], q.get("expand", ""), q.get("fields", ""), done=True))[0]
    return {"token": token, "record": rec}


def _guest_info(request: Request[Any, Any, Any]) -> RequestInfo:
    return RequestInfo(
        query=dict(request.query_params.items()), headers=HeaderView(request.headers), method=request.method.upper()
    )


def _factor_info(enabled: bool, duration: int) -> dict[str, Any]:
    return {"enabled": enabled, "duration": duration if enabled else 0}


@get(BASE + "/auth-methods")
async def auth_methods(request: Request[Any, Any, Any], collection_name: str) -> Response[bytes]:
    coll = auth_collection(engine(request), collection_name)
    enabled = coll.passwordAuth.get("enabled", True)
    return json_response(
        {
            "password": {"enabled": enabled, "identityFields": signin.identity_fields(coll)},
            "oauth2": oauth2.auth_methods(coll.oauth2),
            "mfa": _factor_info(*mfa.options(coll)[:2]),
            "otp": _factor_info(*otp.options(coll)[:2]),
        }
    )


@post(BASE + "/auth-with-password")
async def auth_with_password(request: Request[Any, Any, Any], collection_name: str) -> Response[bytes]:
    eng = engine(request)
    coll = auth_collection(eng, collection_name)
    body = await read_body(request)
    identity, password = body.get("identity"), body.get("password")
    if not isinstance(identity, str) or not identity or not isinstance(password, str) or not password:
        raise BadRequest(
            signin.FAILED,
            {
                k: {"code": "validation_required", "message": "Cannot be blank."}
                for k, v in (("identity", identity), ("password", password))
                if not isinstance(v, str) or not v
            },
        )
    account = await signin.with_password(
        eng, coll, identity, password, body.get("identityField"), client_ip(request, eng.settings_store.cached)
    )
    return await finish_auth(request, eng, coll, account.record(), account.token_key, "password", mfa_id_of(body))


@post(BASE + "/auth-refresh")
async def auth_refresh(request: Request[Any, Any, Any], collection_name: str) -> Response[bytes]:
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
    if (tokens.peek(token) or {}).get("refreshable") is False:
        # An impersonation token is answered as it is, as PocketBase does.
        return json_response(await auth_body(request, coll, record, token))
    return await finish_auth(request, eng, coll, record, raw["tokenKey"], "refresh")


ROUTES = [auth_methods, auth_with_password, auth_refresh]
