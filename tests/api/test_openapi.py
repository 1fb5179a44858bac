"""``GET /api/openapi.json``: one OpenAPI 3.1 document of the whole API, from the live schema.

The document is checked three ways: every route of the app has an entry in the operation table
(and every entry a route), a real validator accepts it, and its schemas say what the validator
and the serializer do (required, ranges, select values, relations, uploads, no secrets).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from litestar import Litestar
from openapi_spec_validator import validate

from baas.api import realtime
from baas.api.openapi_ops import OPS
from baas.api.routes import ROUTES
from tests.harness import Api

# Routes served in front of Litestar (baas/api/fast.py) that Litestar never sees.
FAST_PATH_ONLY = {("GET", realtime.PATH), ("POST", realtime.PATH)}


def _app_routes() -> set[tuple[str, str]]:
    app = Litestar(route_handlers=ROUTES, openapi_config=None)
    return {(m, re.sub(r"{(\w+):\w+}", r"{\1}", r.path)) for r in app.routes for m in r.methods if m != "OPTIONS"}


def test_every_route_has_an_operation_and_every_operation_a_route() -> None:
    documented = {(op.method, op.path) for op in OPS}
    served = _app_routes() | FAST_PATH_ONLY
    assert not served - documented, f"routes missing from baas/api/openapi_ops.py: {sorted(served - documented)}"
    assert not documented - served, f"operations without a route: {sorted(documented - served)}"
    assert len(documented) == len(OPS), "an operation is declared twice"


async def _doc(api: Api) -> dict[str, Any]:
    r = await api.call("GET", "/api/openapi.json")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


async def test_document_is_valid_openapi_3_1_and_loads_in_schemathesis(api: Api) -> None:
    doc = await _doc(api)
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # openapi-spec-validator: raises on any schema error
    loaded = schemathesis.openapi.from_dict(doc)
    ops = [result.ok() for result in loaded.get_all_operations()]
    assert {(o.method.upper(), o.path) for o in ops} >= {
        ("GET", "/api/collections/posts/records"),
        ("POST", "/api/collections/users/auth-with-password"),
    }


def _at(node: Any, keys: tuple[Any, ...]) -> Any:
    """The value at ``keys`` in the document, or None where a key is absent."""
    for key in keys:
        if isinstance(node, dict) and key not in node:
            return None
        node = node[key]
    return node


def _s(name: str, *keys: Any) -> tuple[Any, ...]:
    return ("components", "schemas", name, *keys)


def _p(path: str, method: str, *keys: Any) -> tuple[Any, ...]:
    return ("paths", path, method, *keys)


POSTS, USERS_AUTH = "/api/collections/posts/records", "/api/collections/users/auth-with-password"
JSON = ("content", "application/json", "schema")
# (what, where in the document, expected value); lists of names compare as sets
CONTENT = [
    ("required text field is required on create", _s("posts_Create", "required"), ["title"]),
    ("text max length", _s("posts_Create", "properties", "title", "maxLength"), 100),
    (
        "text pattern applies to non-empty values",
        _s("posts_Create", "properties", "slug", "anyOf", 1, "pattern"),
        "^[a-z0-9-]+$",
    ),
    ("onlyInt number is an integer", _s("posts_Create", "properties", "views", "type"), "integer"),
    ("number minimum", _s("posts_Create", "properties", "views", "minimum"), 0),
    ("number maximum", _s("posts_Create", "properties", "views", "maximum"), 1000000),
    (
        "multi select items are its values",
        _s("posts_Create", "properties", "tags", "items", "enum"),
        ["a", "b", "c", "d"],
    ),
    ("multi select maxItems is maxSelect", _s("posts_Create", "properties", "tags", "maxItems"), 3),
    ("single select values or empty", _s("posts_Create", "properties", "kind", "anyOf", 1, "enum"), ["news", "blog"]),
    ("relation holds record ids", _s("posts_Create", "properties", "author", "anyOf", 1, "pattern"), "^[a-z0-9]+$"),
    ("update requires nothing", _s("posts_Update", "required"), None),
    ("number modifier on update", _s("posts_Update", "properties", "views+", "type"), "number"),
    ("multi select modifier on update", _s("posts_Update", "properties", "tags-", "maxItems"), 3),
    ("file uploads appended on update", _s("users_UpdateForm", "properties", "avatar+", "format"), "binary"),
    ("file names removed on update", _s("users_Update", "properties", "avatar-", "anyOf", 1, "type"), "string"),
    ("required relation on create", _s("notes_Create", "required"), ["post"]),
    ("unknown body keys refused", _s("posts_Create", "additionalProperties"), False),
    ("file upload in multipart", _s("users_CreateForm", "properties", "avatar", "format"), "binary"),
    ("file names in JSON", _s("users_Create", "properties", "avatar", "anyOf", 1, "type"), "string"),
    (
        "auth create needs password and confirmation",
        _s("users_Create", "required"),
        ["password", "email", "passwordConfirm"],
    ),
    ("record answers no unknown keys", _s("users_Record", "additionalProperties"), False),
    (
        "record single select answers a value or empty",
        _s("posts_Record", "properties", "kind", "enum"),
        ["news", "blog", ""],
    ),
    (
        "list items are the collection's records",
        _s("posts_List", "properties", "items", "items", "$ref"),
        "#/components/schemas/posts_Record",
    ),
    ("a cursor page answers nextCursor", _s("posts_List", "properties", "nextCursor", "type"), ["string", "null"]),
    ("error shape", _s("Error", "required"), ["status", "message", "data"]),
    (
        "view 404 in the error shape",
        _p(POSTS + "/{record_id}", "get", "responses", "404", *JSON, "$ref"),
        "#/components/schemas/Error",
    ),
    (
        "create takes multipart",
        _p(POSTS, "post", "requestBody", "content", "multipart/form-data", "schema", "$ref"),
        "#/components/schemas/posts_CreateForm",
    ),
    ("list query parameters", _p(POSTS, "get", "parameters"), None),
    ("password sign-in answers token and record", _s("users_Auth", "required"), ["token", "record"]),
    (
        "MFA first factor answers 401 mfaId",
        _p(USERS_AUTH, "post", "responses", "401", *JSON, "anyOf", 1, "$ref"),
        "#/components/schemas/MfaRequired",
    ),
]


@pytest.mark.parametrize(("what", "where", "expected"), CONTENT, ids=[c[0] for c in CONTENT])
async def test_document_content(api: Api, what: str, where: tuple[Any, ...], expected: Any) -> None:
    found = _at(await _doc(api), where)
    if where[-1] == "parameters":
        names = ["page", "perPage", "sort", "filter", "expand", "fields", "skipTotal", "cursor", "search"]
        assert [p["name"] for p in found] == names
    elif isinstance(expected, list) and where[-1] == "required":
        assert sorted(found) == sorted(expected)
    else:
        assert found == expected


async def test_secrets_are_never_documented_in_records(api: Api) -> None:
    doc = await _doc(api)
    for name, schema in doc["components"]["schemas"].items():
        if name.endswith("_Record"):
            assert not {"password", "tokenKey"} & set(schema["properties"]), name


async def test_auth_routes_only_for_auth_collections(api: Api) -> None:
    paths = (await _doc(api))["paths"]
    assert "/api/collections/users/auth-with-password" in paths
    assert "/api/collections/_superusers/auth-with-password" in paths
    assert "/api/collections/posts/auth-with-password" not in paths


async def test_document_follows_schema_changes_at_request_time(api: Api) -> None:
    r = await api.call(
        "POST",
        "/api/collections",
        "su",
        json={"name": "gadgets", "type": "base", "fields": [{"name": "size", "type": "select", "values": ["s", "m"]}]},
    )
    assert r.status_code == 200, r.text
    doc = await _doc(api)
    validate(doc)
    assert doc["components"]["schemas"]["gadgets_Create"]["properties"]["size"]["anyOf"][1]["enum"] == ["s", "m"]
    assert "post" in doc["paths"]["/api/collections/gadgets/records"]
