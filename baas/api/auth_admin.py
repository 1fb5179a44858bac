"""``POST /api/collections/{c}/impersonate/{id}``: a superuser signs in as any auth record.

As PocketBase 0.23+: superusers only; body ``{"duration": seconds}`` (0 or missing: the
collection's auth token duration); the answer is ``{token, record}`` with a token whose
``refreshable`` claim is false, so auth-refresh hands it back unchanged instead of extending it.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from baas.api.auth import auth_body
from baas.api.deps import engine, json_response, read_body, request_info, require_superuser
from baas.auth import accounts, signin
from baas.errors import BadRequest, NotFound

MAX_DURATION = 10 * 365 * 86400  # a bound, so exp stays a sane date
INVALID_FORM = "An error occurred while validating the submitted data."


def _duration(body: dict[str, Any], default: int) -> int:
    value = body.get("duration", 0)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest("An error occurred while loading the submitted data.")
    if value < 0:
        raise BadRequest(
            INVALID_FORM,
            {
                "duration": {
                    "code": "validation_min_greater_equal_than_required",
                    "message": "Must be no less than 0.",
                    "params": {"threshold": 0},
                }
            },
        )
    if value > MAX_DURATION:
        raise BadRequest(
            INVALID_FORM,
            {
                "duration": {
                    "code": "validation_max_less_equal_than_required",
                    "message": f"Must be no greater than {MAX_DURATION}.",
                    "params": {"threshold": MAX_DURATION},
                }
            },
        )
    return value or default


@post("/api/collections/{collection_name:str}/impersonate/{record_id:str}")
async def impersonate(request: Request[Any, Any, Any], collection_name: str, record_id: str) -> Response[bytes]:
    eng = engine(request)
    req = await request_info(request)
    require_superuser(req)
    coll = eng.registry.get(collection_name)
    if coll is None or coll.type != "auth":
        raise NotFound("Missing or invalid auth collection context.")
    duration = _duration(await read_body(request), signin.token_duration(coll))
    account = await accounts.load(eng.db, coll, record_id)
    if account is None:
        raise NotFound()
    # The record as the impersonated account sees itself (as every auth response shows it).
    record = account.own_view()
    token = signin.impersonation_token(eng, account, duration)
    # an auth.signin event naming the method and the superuser (docs/events.md): an audit trail
    await signin.signed_in(eng, coll, record, "impersonate", superuser=str((req.auth or {}).get("id", "")))
    return json_response(await auth_body(request, coll, record, token))


ROUTES = [impersonate]
