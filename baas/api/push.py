"""``/api/push``: push notifications (docs/push.md). Users manage their own devices and preferences;
superusers see every device and the delivery log, and send. The service is ``Engine.push``."""

from __future__ import annotations

from litestar import delete, get, patch, post

from baas.api.deps import ApiRequest, engine, read_body, request_info, require_superuser, to_json
from baas.errors import BadRequest, FieldError
from baas.records.query import ListParams

JSON = "application/json"


def _paging(request: ApiRequest) -> tuple[int, int]:
    """``page`` and ``perPage`` (at most 500), read as the records API reads them."""
    params = ListParams.from_query({k: str(request.query_params.get(k, "")) for k in ("page", "perPage")})
    return max(1, params.page), min(500, max(1, params.perPage))


@get("/api/push/key", media_type=JSON)
async def push_key(request: ApiRequest) -> bytes:
    """The VAPID public key browsers subscribe with (``applicationServerKey``); public."""
    vapid = await engine(request).push.vapid()
    return to_json({"publicKey": vapid.public})


@get("/api/push/subscriptions", media_type=JSON)
async def push_subscriptions(request: ApiRequest) -> bytes:
    req = await request_info(request)
    return to_json(await engine(request).push.subscriptions(req, *_paging(request)))


@post("/api/push/subscriptions", media_type=JSON, status_code=200)
async def push_subscribe(request: ApiRequest) -> bytes:
    req = await request_info(request)
    return to_json(await engine(request).push.subscribe(req, await read_body(request)))


@delete("/api/push/subscriptions/{sub_id:str}", status_code=204)
async def push_unsubscribe(request: ApiRequest, sub_id: str) -> None:
    await engine(request).push.unsubscribe(await request_info(request), sub_id)


@get("/api/push/preferences", media_type=JSON)
async def push_preferences(request: ApiRequest) -> bytes:
    return to_json(await engine(request).push.preferences(await request_info(request)))


@patch("/api/push/preferences", media_type=JSON)
async def push_set_preferences(request: ApiRequest) -> bytes:
    req = await request_info(request)
    return to_json(await engine(request).push.set_preferences(req, await read_body(request)))


@post("/api/push/send", media_type=JSON, status_code=202)
async def push_send(request: ApiRequest) -> bytes:
    req = await request_info(request)
    require_superuser(req)
    return to_json(await engine(request).push.send(req, await read_body(request)))


@get("/api/push/deliveries", media_type=JSON)
async def push_deliveries(request: ApiRequest) -> bytes:
    req = await request_info(request)
    require_superuser(req)
    eng, q = engine(request), request.query_params
    collection_ref, record = str(q.get("collection", "")), str(q.get("record", ""))
    owner = None
    if collection_ref or record:
        coll = eng.registry.get(collection_ref)
        if coll is None or coll.type != "auth" or not record:
            message = "collection and record go together: an auth collection's name or id and a record id"
            raise BadRequest(message + ".", {"collection": FieldError("validation_invalid_value", message)})
        owner = (coll.id, record)
    page, per_page = _paging(request)
    out = await eng.push.deliveries(
        message=str(q.get("message", "")), state=str(q.get("state", "")), owner=owner, page=page, per_page=per_page
    )
    return to_json(out)


ROUTES = [
    push_key,
    push_subscriptions,
    push_subscribe,
    push_unsubscribe,
    push_preferences,
    push_set_preferences,
    push_send,
    push_deliveries,
]
