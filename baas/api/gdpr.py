"""A user's personal data (docs/gdpr.md): ``GET …/records/{id}/export`` (a zip of everything about
them) and ``POST …/records/{id}/erase``, on auth collections. The work is `baas.gdpr`'s."""

from __future__ import annotations

from litestar import Response, get, post

from baas import gdpr
from baas.api.deps import ApiRequest, collection, engine, json_response, request_info
from baas.core import Engine
from baas.errors import BadRequest, Forbidden, NotFound, Unauthorized
from baas.logs import AUTH_KEY, URL_KEY
from baas.records.query import fetch_one
from baas.rules.context import RequestInfo
from baas.schema.model import Collection

BASE = "/api/collections/{collection_name:str}/records/{record_id:str}"


def _actor(req: RequestInfo, coll: Collection, record_id: str) -> str:
    """Who may act on the user's data: a superuser, or the user; else 401/403 (404 for an unknown
    id is the service's, once allowed)."""
    if req.is_superuser:
        return f"_superusers:{(req.auth or {}).get('id', '')}"
    if not req.auth:
        raise Unauthorized("The request requires valid record authorization token.")
    if req.auth.get("collectionName") != coll.name or req.auth.get("id") != record_id:
        raise Forbidden("Only the user or a superuser can perform this action.")
    return "self"


async def _subject(
    request: ApiRequest, collection_name: str, record_id: str
) -> tuple[Engine, Collection, RequestInfo, str]:
    """The engine, the auth collection, the requester and who they are to the user (else 400/401/403)."""
    eng = engine(request)
    coll = collection(eng, collection_name)
    if coll.type != "auth":
        raise BadRequest("Only the records of auth collections are users with personal data.")
    req = await request_info(request)
    return eng, coll, req, _actor(req, coll, record_id)


@get(BASE + "/export")
async def records_export(request: ApiRequest, collection_name: str, record_id: str) -> Response[bytes]:
    """The user's data as a zip: their record, every record referring to them, the files of all."""
    eng, coll, req, actor = await _subject(request, collection_name, record_id)
    # The user sees the records that refer to them as their collections' view rules let them;
    # a superuser sees them all.
    body = await gdpr.export_user(eng, coll, record_id, actor, None if actor != "self" else req)
    name = f"{coll.name}-{record_id}-export.zip"
    return Response(
        content=body,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@post(BASE + "/erase", status_code=200)
async def records_erase(request: ApiRequest, collection_name: str, record_id: str) -> Response[bytes]:
    """Erase the user (a superuser; or the user, where the collection's delete rule lets them delete
    their own record): what went, counted."""
    eng, coll, req, actor = await _subject(request, collection_name, record_id)
    if actor == "self" and (
        coll.deleteRule is None or await fetch_one(eng.reader(req), coll, record_id, coll.deleteRule) is None
    ):
        raise Forbidden("The collection's delete rule doesn't let you delete your record.")
    # This request's own log entry must not name the user either.
    request.scope[URL_KEY] = f"/api/collections/{coll.name}/records/***/erase"
    if actor == "self":
        request.scope[AUTH_KEY] = (coll.name, "")
    try:
        counts = await gdpr.erase_user(eng, coll, record_id, actor)
    except NotFound:
        raise NotFound("The requested resource wasn't found.") from None
    return json_response(counts)


ROUTES = [records_export, records_erase]
