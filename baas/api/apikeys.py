"""``/api/apikeys``: superusers create, list, view and revoke API keys (see baas/auth/apikeys.py).

POST   /api/apikeys        {name, scopes: [{collection, actions}], expires?} -> key record + "key" (once)
GET    /api/apikeys        ?page=&perPage=  -> list shape, no key material
GET    /api/apikeys/{id}   -> key record (no key material)
DELETE /api/apikeys/{id}   -> 204; the key is refused (401) from then on
"""

from __future__ import annotations

from litestar import Response, delete, get, post

from baas.api.deps import ApiRequest, engine, json_response, read_body, request_info, require_superuser
from baas.auth import apikeys
from baas.errors import NotFound
from baas.records.query import ListParams


@post("/api/apikeys")
async def apikeys_create(request: ApiRequest) -> Response[bytes]:
    req = await request_info(request)
    require_superuser(req)
    eng = engine(request)
    body = await read_body(request)
    name = apikeys.parse_name(body.get("name"))
    scopes = apikeys.parse_scopes(body.get("scopes"), lambda n: eng.registry.get(n) is not None)
    expires = apikeys.parse_expires(body.get("expires"))
    return json_response(await apikeys.create(eng.db, name, scopes, expires, str((req.auth or {}).get("id", ""))))


@get("/api/apikeys")
async def apikeys_list(request: ApiRequest) -> Response[bytes]:
    req = await request_info(request)
    require_superuser(req)
    p = ListParams.from_query(req.query)
    return json_response(await apikeys.list_keys(engine(request).db, p.page, p.perPage))


@get("/api/apikeys/{key_id:str}")
async def apikeys_view(request: ApiRequest, key_id: str) -> Response[bytes]:
    require_superuser(await request_info(request))
    found = await apikeys.view(engine(request).db, key_id)
    if found is None:
        raise NotFound()
    return json_response(found)


@delete("/api/apikeys/{key_id:str}", status_code=204)
async def apikeys_revoke(request: ApiRequest, key_id: str) -> None:
    require_superuser(await request_info(request))
    if not await apikeys.revoke(engine(request).db, key_id):
        raise NotFound()


ROUTES = [apikeys_create, apikeys_list, apikeys_view, apikeys_revoke]
