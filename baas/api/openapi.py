"""``GET /api/openapi.json``: an OpenAPI 3.1 document of the whole API, built at request time.

The record routes run on the fast path (baas/api/fast.py), outside Litestar's generator, and
their shapes depend on the collections, so the document is built here from the schema registry
(per collection: record, create and update schemas, see `openapi_records`) and the table of
operations in `openapi_ops`. It is rebuilt when the schema changes (cached per registry version).
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Response, get

from baas import __version__
from baas.api.deps import ApiRequest, engine, json_response
from baas.api.openapi_ops import OPS, Op, Ref, Schema
from baas.api.openapi_records import collection_components, schema_name
from baas.schema.model import Collection
from baas.schema.registry import Registry

PATH = "/api/openapi.json"
_PARAM = re.compile(r"{(\w+)}")

ERROR = {
    "type": "object",
    "required": ["status", "message", "data"],
    "properties": {
        "status": {"type": "integer"},
        "message": {"type": "string"},
        "data": {"type": "object", "description": "Field errors: {field: {code, message}}."},
    },
}
# Statuses any operation may answer in the error shape: invalid input, a refused or invalid token,
# a failed rule, a missing resource, a rate limit (settings.rateLimits covers every route).
ERRORS = (400, 401, 403, 404, 429)
_REASONS = {
    200: "OK",
    204: "No content",
    400: "Invalid request",
    401: "Missing or invalid authorization",
    403: "Not allowed",
    404: "Not found",
    413: "Body too large",
    429: "Too many requests",
}

_OBJECT = {"type": "object"}


def _page(item: Schema, cursor: bool = False) -> Schema:
    """A paged list as every list route answers it (PocketBase's shape), holding ``item``s; with
    ``cursor``, a records list, which answers ``?cursor=`` with ``nextCursor`` instead of ``page``."""
    out: Schema = {
        "type": "object",
        "required": ["page", "perPage", "totalItems", "totalPages", "items"],
        "properties": {
            "page": {"type": "integer"},
            "perPage": {"type": "integer"},
            "totalItems": {"type": "integer"},
            "totalPages": {"type": "integer"},
            "items": {"type": "array", "items": item},
        },
    }
    if cursor:
        out["required"] = out["required"][1:]
        out["properties"]["nextCursor"] = {
            "type": ["string", "null"],
            "description": "With ?cursor: the next page's cursor, null after the last page.",
        }
    return out


SHARED: dict[str, Schema] = {
    "Error": ERROR,
    "Health": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}, "data": _OBJECT},
    },
    "AuthMethods": {
        "type": "object",
        "required": ["password", "oauth2", "mfa", "otp"],
        "properties": {
            "password": {
                "type": "object",
                "properties": {
                    "enabled": {"type": "boolean"},
                    "identityFields": {"type": "array", "items": {"type": "string"}},
                },
            },
            "oauth2": {
                "type": "object",
                "properties": {"enabled": {"type": "boolean"}, "providers": {"type": "array", "items": _OBJECT}},
            },
            "mfa": {"type": "object", "properties": {"enabled": {"type": "boolean"}, "duration": {"type": "integer"}}},
            "otp": {"type": "object", "properties": {"enabled": {"type": "boolean"}, "duration": {"type": "integer"}}},
        },
    },
    "MfaRequired": {"type": "object", "required": ["mfaId"], "properties": {"mfaId": {"type": "string"}}},
    "FileToken": {"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}},
    "TotpEnroll": {
        "type": "object",
        "required": ["secret", "uri"],
        "properties": {"secret": {"type": "string"}, "uri": {"type": "string"}},
    },
    "TotpStatus": {
        "type": "object",
        "properties": {
            "enabled": {"type": "boolean"},
            "pending": {"type": "boolean"},
            "recoveryCodesLeft": {"type": "integer"},
        },
    },
    "ApiKey": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "scopes": {"type": "array", "items": _OBJECT},
            "key": {"type": "string", "description": "Only when created."},
        },
    },
    "ApiKeyList": {"$ref": "#/components/schemas/Page"},
    "Page": _page(_OBJECT),
    "Collection": {
        "type": "object",
        "description": "A collection as PocketBase exports it (docs/schema.md).",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "type": {"enum": ["base", "auth", "view"]},
            "fields": {"type": "array", "items": _OBJECT},
        },
    },
    "CollectionList": {"$ref": "#/components/schemas/Page"},
    "Settings": {"type": "object", "description": "Server settings (docs/api.md)."},
    "BatchRequest": {
        "type": "object",
        "required": ["requests"],
        "properties": {
            "requests": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["method", "url"],
                    "properties": {
                        "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                        "url": {"type": "string"},
                        "headers": _OBJECT,
                        "body": _OBJECT,
                    },
                },
            }
        },
    },
}

PARAMS: dict[str, Schema] = {
    "page": {"type": "integer", "minimum": 1, "description": "The page (1-based)."},
    "perPage": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Items per page."},
    "sort": {"type": "string", "description": "e.g. `-created,title`; `@random`, `@rowid`."},
    "filter": {"type": "string", "description": "A filter expression, e.g. `title ~ 'abc' && views > 10`."},
    "expand": {"type": "string", "description": "Relations to expand, e.g. `author,comments_via_post`."},
    "fields": {"type": "string", "description": "Fields to return, e.g. `id,title,body:excerpt(200,true)`."},
    "skipTotal": {"type": "boolean", "description": "Skip counting: totalItems and totalPages are -1."},
    "thumb": {"type": "string", "description": "A thumb size the field declares, e.g. `100x100`."},
    "download": {"type": "boolean", "description": "Serve as an attachment."},
    "token": {"type": "string", "description": "A file token (POST /api/files/token) for protected files."},
    "cursor": {
        "type": "string",
        "description": "Cursor paging: empty for the first page, then the answer's nextCursor (not with page).",
    },
    "search": {
        "type": "string",
        "description": 'Full-text search (collections with search options): words, "phrases", prefix*; all required.',
    },
    "groupBy": {
        "type": "string",
        "description": "Group keys: fields, or paths through single relations, e.g. `status,author.name`.",
    },
    "sum": {"type": "string", "description": "Fields to sum (number or bool), e.g. `views,price`."},
    "avg": {"type": "string", "description": "Fields to average (number or bool)."},
    "min": {"type": "string", "description": "Fields whose least value to give (empty text is left out)."},
    "max": {"type": "string", "description": "Fields whose greatest value to give (empty text is left out)."},
    "distinct": {"type": "string", "description": "Fields whose distinct non-empty values to count."},
    "having": {"type": "string", "description": "A filter over the groups, e.g. `count > 2 && sum.views >= 100`."},
    "message": {"type": "string", "description": "A push message's id (what notify answered)."},
    "state": {"type": "string", "description": "A delivery state: pending, sending, delivered, expired or failed."},
    "collection": {"type": "string", "description": "An auth collection's name or id (with record)."},
    "record": {"type": "string", "description": "A user's record id (with collection)."},
    "from": {
        "type": "string",
        "description": "The window's start, UTC, e.g. `2026-12-01 10:00:00Z` (default: `to` - 1 h).",
    },
    "to": {"type": "string", "description": "The window's end, UTC (default: now)."},
    "step": {
        "type": "integer",
        "minimum": 10,
        "description": "Seconds per step (default: 60 steps at most, whole minutes).",
    },
    "since": {
        "type": "string",
        "pattern": "^[0-9]+[smhd]$",
        "description": "How far back to read the request log: `30m`, `24h`, `7d` (default 24h, 31 days at most).",
    },
    "minMs": {
        "type": "number",
        "minimum": 0,
        "description": "From how many milliseconds a request is slow (default 100).",
    },
}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _schema(ref: Ref, coll: Collection | None) -> Schema | None:
    """An `Op` body or answer as a schema: ``"@Suffix"`` is the collection's component."""
    if ref is None or isinstance(ref, dict):
        return ref
    if ref.startswith("@"):
        assert coll is not None, ref
        return _ref(schema_name(coll, ref[1:]))
    return _ref(ref)


def _operation(op: Op, path: str, coll: Collection | None) -> Schema:
    out: Schema = {
        "tags": [op.tag],
        "summary": op.summary,
        "operationId": re.sub(r"\W+", "_", f"{op.method.lower()}{path}").strip("_"),
    }
    params = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for n in _PARAM.findall(path)
    ]
    params += [{"name": n, "in": "query", "required": False, "schema": PARAMS[n]} for n in op.query]
    if params:
        out["parameters"] = params
    content: Schema = {}
    if (body := _schema(op.body, coll)) is not None:
        content["application/json"] = {"schema": body}
    if (form := _schema(op.form, coll)) is not None:
        content["multipart/form-data"] = {"schema": form}
    if content:
        out["requestBody"] = {"required": op.body_required, "content": content}
    ok: Schema = {"description": _REASONS.get(op.status, "OK")}
    if op.status != 204 and op.method != "HEAD":
        answer = _schema(op.answer, coll)
        ok["content"] = {op.media: {"schema": answer if answer is not None else {}}}
    responses: Schema = {str(op.status): ok}
    for status in (*ERRORS, *((413,) if content else ())):
        responses[str(status)] = {
            "description": _REASONS[status],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
    if op.answer == "@Auth":  # a first factor of an MFA sign-in answers 401 {mfaId}
        responses["401"]["content"]["application/json"]["schema"] = {"anyOf": [_ref("Error"), _ref("MfaRequired")]}
    out["responses"] = responses
    if op.auth != "optional":
        out["security"] = [{"authToken": []}]
        out["description"] = "Superusers only." if op.auth == "superuser" else "Needs an auth record's token."
    return out


def _collection_schemas(coll: Collection) -> dict[str, Schema]:
    out = collection_components(coll)
    record = _ref(schema_name(coll, "Record"))
    out[schema_name(coll, "List")] = _page(record, cursor=True)
    if coll.type == "auth":
        out[schema_name(coll, "Auth")] = {
            "type": "object",
            "required": ["token", "record"],
            "properties": {"token": {"type": "string"}, "record": record, "meta": _OBJECT},
        }
    return out


def _targets(op: Op, collections: list[Collection]) -> list[Collection | None]:
    if op.per == "collection":
        return list(collections)
    if op.per == "writable":
        return [c for c in collections if c.type != "view"]
    if op.per == "auth":
        return [c for c in collections if c.type == "auth"]
    return [None]


def build_document(registry: Registry, server_url: str = "/") -> dict[str, Any]:
    """The OpenAPI 3.1 document for the collections in ``registry``."""
    collections = sorted(registry.all(), key=lambda c: c.name)
    schemas: dict[str, Schema] = dict(SHARED)
    for each in collections:
        schemas.update(_collection_schemas(each))
    paths: dict[str, dict[str, Schema]] = {}
    for op in OPS:
        for coll in _targets(op, collections):
            path = op.path.replace("{collection_name}", coll.name) if coll is not None else op.path
            paths.setdefault(path, {})[op.method.lower()] = _operation(op, path, coll)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "baas",
            "version": __version__,
            "description": "PocketBase-compatible API (docs/api.md). Send auth tokens as "
            "`Authorization: <token>`; errors are `{status, message, data}`.",
        },
        "servers": [{"url": server_url}],
        "tags": [{"name": t} for t in dict.fromkeys(op.tag for op in OPS)],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "authToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "A record's or superuser's auth token, or an API key.",
                }
            },
        },
    }


@get(PATH, media_type="application/json")
async def openapi_json(request: ApiRequest) -> Response[bytes]:
    """The document for the schema this process knows now. Built per request: it is not on a hot
    path, and a cache would have to follow schema changes made by other processes."""
    return json_response(build_document(engine(request).registry))


ROUTES = [openapi_json]
