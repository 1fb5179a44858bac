"""An auth record's OAuth2 links and TOTP status, for superusers (the console's record page) and,
for the links, the record itself — the routes PocketBase had before 0.23 for the same job.

    GET    /api/collections/{c}/records/{id}/external-auths             -> [_externalAuths record]
    DELETE /api/collections/{c}/records/{id}/external-auths/{provider}  -> 204
    GET    /api/collections/{c}/totp/{id}   (superuser)                 -> {enabled, pending, recoveryCodesLeft}
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get

from baas.admin import auth_links
from baas.api.deps import auth_record, bearer_token, collection, engine, json_response, request_info, require_superuser
from baas.core import Engine
from baas.errors import NotFound
from baas.schema.model import Collection

R = "/api/collections/{collection_name:str}/records/{record_id:str}/external-auths"


async def _record(
    request: Request[Any, Any, Any], eng: Engine, name: str, record_id: str, owner_ok: bool
) -> Collection:
    """The auth collection of an existing record the requester may manage: a superuser, or (when
    ``owner_ok``) the record's own token. 401/403 before anything about the record is told."""
    req = await request_info(request)
    coll = collection(eng, name)
    if coll.type != "auth":
        raise NotFound("Missing or invalid auth collection context.")
    if not (owner_ok and req.auth and not req.is_superuser):
        require_superuser(req)
    else:
        found = await auth_record(eng, bearer_token(request))
        if found is None or found[0].id != coll.id or found[1]["id"] != record_id:
            require_superuser(req)  # not the owner: the answer a non-superuser gets
    if not await auth_links.record_exists(eng.db, coll, record_id):
        raise NotFound()
    return coll


@get(R)
async def external_auths_list(request: Request[Any, Any, Any], collection_name: str, record_id: str) -> Response[bytes]:
    eng = engine(request)
    coll = await _record(request, eng, collection_name, record_id, owner_ok=True)
    return json_response(await auth_links.external_auths(eng.db, coll, record_id))


@delete(R + "/{provider:str}", status_code=204)
async def external_auth_unlink(
    request: Request[Any, Any, Any], collection_name: str, record_id: str, provider: str
) -> None:
    eng = engine(request)
    coll = await _record(request, eng, collection_name, record_id, owner_ok=True)
    if not await auth_links.unlink(eng.db, coll, record_id, provider):
        raise NotFound()


@get("/api/collections/{collection_name:str}/totp/{record_id:str}")
async def totp_status_of(request: Request[Any, Any, Any], collection_name: str, record_id: str) -> Response[bytes]:
    eng = engine(request)
    coll = await _record(request, eng, collection_name, record_id, owner_ok=False)
    return json_response(await auth_links.totp_status(eng.db, coll, record_id))


ROUTES = [external_auths_list, external_auth_unlink, totp_status_of]
