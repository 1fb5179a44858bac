"""``/api/collections``: superusers manage collections; every change goes through the planner."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, patch, post, put

from baas.api.deps import collection, engine, json_response, query_dict, read_body, request_info, require_superuser
from baas.auth import oauth2
from baas.core import Engine
from baas.db.tables import q
from baas.errors import BadRequest, SchemaError
from baas.records.query import ListParams, Reader
from baas.records.write import delete_record
from baas.schema.model import Collection

BASE = "/api/collections"


def _decode(data: Any, message: str) -> Collection:
    try:
        return msgspec.convert(data, Collection)
    except msgspec.ValidationError as exc:
        raise BadRequest(message, {"collection": {"code": "validation_invalid_collection", "message": str(exc)}}) from None


def _flag(request: Request, body: dict[str, Any], name: str) -> bool:
    return str(request.query_params.get(name, "")).lower() in ("1", "true") or body.pop(name, False) is True


async def _apply(eng: Engine, wanted: Callable[[], list[Collection]], message: str, *, accept: bool, prune: bool = False,
                 own: str = "") -> None:
    try:
        await eng.apply(wanted, prune=prune, accept_data_loss=accept)
    except SchemaError as exc:
        errors = dict(exc.errors)
        if own in errors:
            # The planner keys errors by collection; a one-collection request answers in
            # PocketBase's flat form shape (data.name, data.fields.N.option) that clients read.
            errors.update(errors.pop(own))
        raise BadRequest(f"{message} {exc.message}" if not errors else message, errors) from None


async def _superuser(request: Request) -> Engine:
    require_superuser(await request_info(request))
    return engine(request)


@get(BASE)
async def collections_list(request: Request) -> Response:
    eng = await _superuser(request)
    q_ = query_dict(request)
    items = [_shown(c) for c in sorted(eng.registry.all(), key=lambda c: (c.created, c.name))]
    if q_.get("filter"):
        # Common console filters only: name/type equality and ~ (the full language is for records).
        items = [i for i in items if _match_simple(i, q_["filter"])]
    paging = ListParams.from_query(q_)
    page, per_page = paging.page, paging.perPage
    chunk = items[(page - 1) * per_page: page * per_page]
    return json_response({"page": page, "perPage": per_page, "totalItems": len(items),
                          "totalPages": (len(items) + per_page - 1) // per_page, "items": chunk})


def _match_simple(item: dict, expr: str) -> bool:
    for key, op, value in re.findall(r"(\w+)\s*(~|=)\s*['\"]([^'\"]*)['\"]", expr):
        got = str(item.get(key, ""))
        if (op == "=" and got != value) or (op == "~" and value.lower() not in got.lower()):
            return False
    return True


@get(BASE + "/{collection_name:str}")
async def collections_view(request: Request, collection_name: str) -> Response:
    eng = await _superuser(request)
    return json_response(_shown(collection(eng, collection_name)))


@post(BASE)
async def collections_create(request: Request) -> Response:
    eng = await _superuser(request)
    body = await read_body(request)
    accept = _flag(request, body, "acceptDataLoss")
    new = _decode(body, "Failed to create collection.")
    if eng.registry.get(new.name) is not None or (new.id and eng.registry.get(new.id) is not None):
        raise BadRequest("Failed to create collection.",
                         {"name": {"code": "validation_collection_name_exists", "message": "Collection name must be unique."}})
    await _apply(eng, lambda: [*eng.registry.all(), new], "Failed to create collection.", accept=accept, own=new.name)
    return json_response(_shown(collection(eng, new.name)))


def _shown(coll: Collection) -> dict[str, Any]:
    """A collection as the API shows it: OAuth2 client secrets never leave the server, as PocketBase."""
    out = coll.to_api()
    if coll.type == "auth":
        out["oauth2"] = oauth2.redact(coll.oauth2)
    return out


@patch(BASE + "/{collection_name:str}")
async def collections_update(request: Request, collection_name: str) -> Response:
    eng = await _superuser(request)
    old = collection(eng, collection_name)
    body = await read_body(request)
    accept = _flag(request, body, "acceptDataLoss")
    current = old.to_api()
    if old.system and any(k in body and body[k] != current[k] for k in ("name", "type", "system", "fields")):
        raise BadRequest("Failed to update collection.", {"system": {
            "code": "validation_system_collection", "message": "Only the rules of a system collection can change."}})
    if isinstance(body.get("oauth2"), dict):  # an echoed, redacted collection keeps its client secrets
        body["oauth2"] = oauth2.keep_secrets(body["oauth2"], old.oauth2)
    merged = {**current, **body, "id": old.id}
    new = _decode(merged, "Failed to update collection.")
    await _apply(eng, lambda: [*(c for c in eng.registry.all() if c.id != old.id), new],
                 "Failed to update collection.", accept=accept, own=new.name)
    return json_response(_shown(collection(eng, old.id)))


@delete(BASE + "/{collection_name:str}", status_code=204)
async def collections_delete(request: Request, collection_name: str) -> None:
    eng = await _superuser(request)
    old = collection(eng, collection_name)
    # An explicit DELETE is the acceptance: dropping the data is the point of the request, and
    # PocketBase clients (its SDK, its admin UI) never send acceptDataLoss here.
    accept = True
    if old.system:
        raise BadRequest("System collections cannot be deleted.")
    await _apply(eng, lambda: [c for c in eng.registry.all() if c.id != old.id], "Failed to delete collection.",
                 accept=accept, prune=True)


@delete(BASE + "/{collection_name:str}/truncate", status_code=204)
async def collections_truncate(request: Request, collection_name: str) -> None:
    eng = await _superuser(request)
    coll = collection(eng, collection_name)
    if coll.type == "view":
        raise BadRequest("View collections cannot be truncated.")
    r = Reader(eng.db, eng.registry, await request_info(request))

    async def run(conn: Any) -> None:
        for (rid,) in await conn.fetch(f'SELECT "id" FROM {q(coll.name)}'):
            await delete_record(conn, r, coll, rid)

    await eng.db.write(run, heavy=True)


@put(BASE + "/import", status_code=204)
async def collections_import(request: Request) -> None:
    eng = await _superuser(request)
    body = await read_body(request)
    accept = _flag(request, body, "acceptDataLoss")
    raw = body.get("collections")
    if not isinstance(raw, list) or not raw:
        raise BadRequest("Failed to import collections.",
                         {"collections": {"code": "validation_required", "message": "Cannot be blank."}})
    # PocketBase's own internal collections (_otps, _mfas, _authOrigins, _externalAuths) have no
    # meaning here; _superusers is matched by name to ours.
    raw = [c for c in raw if not (isinstance(c, dict) and c.get("system") and str(c.get("name", "")).startswith("_")
                                  and c.get("name") != "_superusers")]
    wanted = [_decode(c, "Failed to import collections.") for c in raw]
    prune = bool(body.get("deleteMissing"))

    def target() -> list[Collection]:
        if prune:
            return wanted
        names, ids = {c.name for c in wanted}, {c.id for c in wanted}
        return wanted + [c for c in eng.registry.all() if c.name not in names and c.id not in ids]

    await _apply(eng, target, "Failed to import collections.", accept=accept, prune=prune)


ROUTES = [collections_list, collections_view, collections_create, collections_update, collections_delete,
          collections_truncate, collections_import]
