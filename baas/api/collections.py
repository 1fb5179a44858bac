"""``/api/collections``: superusers manage collections; every change goes through the planner
(`baas.admin.collections` builds the change, `Engine.apply` plans and applies it)."""

from __future__ import annotations

from typing import Any

from litestar import Response, delete, get, patch, post, put

from baas.admin import collections as admin
from baas.api.deps import ApiRequest, json_response, query_dict, read_body, request_info, superuser_engine
from baas.records.query import ListParams

BASE = "/api/collections"


def _flag(request: ApiRequest, body: dict[str, Any], name: str) -> bool:
    return str(request.query_params.get(name, "")).lower() in ("1", "true") or body.pop(name, False) is True


@get(BASE)
async def collections_list(request: ApiRequest) -> Response[bytes]:
    eng = await superuser_engine(request)
    query = query_dict(request)
    items = admin.listed(eng, query.get("filter", ""))
    paging = ListParams.from_query(query)
    page, per_page = paging.page, paging.perPage
    chunk = items[(page - 1) * per_page : page * per_page]
    return json_response(
        {
            "page": page,
            "perPage": per_page,
            "totalItems": len(items),
            "totalPages": (len(items) + per_page - 1) // per_page,
            "items": chunk,
        }
    )


@get(BASE + "/{collection_name:str}")
async def collections_view(request: ApiRequest, collection_name: str) -> Response[bytes]:
    eng = await superuser_engine(request)
    return json_response(admin.shown(admin.find(eng, collection_name)))


@post(BASE)
async def collections_create(request: ApiRequest) -> Response[bytes]:
    eng = await superuser_engine(request)
    body = await read_body(request)
    accept = _flag(request, body, "acceptDataLoss")
    message = "Failed to create collection."
    change = admin.create_change(eng, body, message)
    await admin.apply_change(eng, change, message, accept_data_loss=accept)
    return json_response(admin.shown(admin.find(eng, change.own)))


@patch(BASE + "/{collection_name:str}")
async def collections_update(request: ApiRequest, collection_name: str) -> Response[bytes]:
    eng = await superuser_engine(request)
    old = admin.find(eng, collection_name)
    body = await read_body(request)
    accept = _flag(request, body, "acceptDataLoss")
    message = "Failed to update collection."
    await admin.apply_change(eng, admin.update_change(eng, old, body, message), message, accept_data_loss=accept)
    return json_response(admin.shown(admin.find(eng, old.id)))


@delete(BASE + "/{collection_name:str}", status_code=204)
async def collections_delete(request: ApiRequest, collection_name: str) -> None:
    eng = await superuser_engine(request)
    change = admin.delete_change(eng, admin.find(eng, collection_name))
    # An explicit DELETE is the acceptance: dropping the data is the point of the request, and
    # PocketBase clients (its SDK, its admin UI) never send acceptDataLoss here.
    await admin.apply_change(eng, change, "Failed to delete collection.", accept_data_loss=True)


@delete(BASE + "/{collection_name:str}/truncate", status_code=204)
async def collections_truncate(request: ApiRequest, collection_name: str) -> None:
    eng = await superuser_engine(request)
    await admin.truncate(eng, admin.find(eng, collection_name), await request_info(request))


@put(BASE + "/import", status_code=204)
async def collections_import(request: ApiRequest) -> None:
    eng = await superuser_engine(request)
    body = await read_body(request)
    accept = _flag(request, body, "acceptDataLoss")
    message = "Failed to import collections."
    change = admin.import_change(eng, body.get("collections"), message, prune=bool(body.get("deleteMissing")))
    await admin.apply_change(eng, change, message, accept_data_loss=accept)


ROUTES = [
    collections_list,
    collections_view,
    collections_create,
    collections_update,
    collections_delete,
    collections_truncate,
    collections_import,
]
