"""``/api/webhooks``: outgoing webhooks (superusers only; docs/webhooks.md). Secrets are
write-only: accepted on create/update, never answered. The service is ``Engine.webhooks``."""

from __future__ import annotations

from litestar import delete, get, patch, post

from baas.api.deps import ApiRequest, read_body, superuser_engine, to_json
from baas.errors import BadRequest

JSON = "application/json"


@get("/api/webhooks", media_type=JSON)
async def webhooks_list(request: ApiRequest) -> bytes:
    eng = await superuser_engine(request)
    items = await eng.webhooks.all()
    return to_json({"page": 1, "perPage": len(items), "totalItems": len(items), "items": items})


@post("/api/webhooks", media_type=JSON, status_code=200)
async def webhooks_create(request: ApiRequest) -> bytes:
    eng = await superuser_engine(request)
    return to_json(await eng.webhooks.create(await read_body(request)))


@get("/api/webhooks/{name:str}", media_type=JSON)
async def webhooks_view(request: ApiRequest, name: str) -> bytes:
    return to_json(await (await superuser_engine(request)).webhooks.get(name))


@patch("/api/webhooks/{name:str}", media_type=JSON)
async def webhooks_update(request: ApiRequest, name: str) -> bytes:
    eng = await superuser_engine(request)
    return to_json(await eng.webhooks.update(name, await read_body(request)))


@delete("/api/webhooks/{name:str}", status_code=204)
async def webhooks_delete(request: ApiRequest, name: str) -> None:
    await (await superuser_engine(request)).webhooks.delete(name)


@get("/api/webhooks/{name:str}/deliveries", media_type=JSON)
async def webhooks_deliveries(request: ApiRequest, name: str) -> bytes:
    eng = await superuser_engine(request)
    try:
        page = max(1, int(request.query_params.get("page", "1")))
        per_page = min(500, max(1, int(request.query_params.get("perPage", "30"))))
    except ValueError:
        raise BadRequest("Invalid page or perPage value: must be an integer.") from None
    state = str(request.query_params.get("state", ""))
    if state not in ("", "pending", "sending", "delivered", "dead"):
        raise BadRequest("state must be pending, sending, delivered or dead.")
    items = await eng.webhooks.deliveries(name, state=state, page=page, per_page=per_page)
    return to_json({"page": page, "perPage": per_page, "items": items})


@post("/api/webhooks/{name:str}/deliveries/{delivery_id:str}/replay", media_type=JSON, status_code=202)
async def webhooks_replay(request: ApiRequest, name: str, delivery_id: str) -> bytes:
    return to_json(await (await superuser_engine(request)).webhooks.replay(name, delivery_id))


@post("/api/webhooks/{name:str}/replay", media_type=JSON, status_code=202)
async def webhooks_replay_range(request: ApiRequest, name: str) -> bytes:
    eng = await superuser_engine(request)
    return to_json(await eng.webhooks.replay_range(name, await read_body(request)))


@post("/api/webhooks/{name:str}/test", media_type=JSON, status_code=202)
async def webhooks_test(request: ApiRequest, name: str) -> bytes:
    return to_json(await (await superuser_engine(request)).webhooks.send_test(name))


ROUTES = [
    webhooks_list,
    webhooks_create,
    webhooks_view,
    webhooks_update,
    webhooks_delete,
    webhooks_deliveries,
    webhooks_replay,
    webhooks_replay_range,
    webhooks_test,
]
