"""The one record-path parser (baas/api/paths.py) and the rate limiter's labels built on it.

The parser reads a path as Litestar routes it (repeated and trailing slashes do not count) and says
whether it was written canonically: the fast path and batch take canonical paths only, the rate
limiter labels every spelling by the route that serves it.
"""

from __future__ import annotations

from typing import Any

import pytest

from baas.api.paths import CollectionPath, parse_collection_path, record_route
from baas.api.ratelimit import route_labels

C = "/api/collections/"


def cp(
    collection: str, action: str = "", record_id: str | None = None, rest: str = "", canonical: bool = True
) -> CollectionPath:
    return CollectionPath(collection, action, record_id, rest, canonical)


# (name, path, parsed)
PATHS: list[tuple[str, str, CollectionPath | None]] = [
    ("records list", C + "posts/records", cp("posts", "records")),
    ("one record", C + "posts/records/abc123", cp("posts", "records", "abc123")),
    ("by collection id", C + "pbc_123/records/x", cp("pbc_123", "records", "x")),
    ("the collection itself", C + "posts", cp("posts")),
    ("auth action", C + "users/auth-with-password", cp("users", "auth-with-password")),
    ("action with an id", C + "users/impersonate/u1", cp("users", "impersonate", "u1")),
    ("deeper path", C + "users/records/u1/external-auths", cp("users", "records", "u1", "external-auths")),
    ("deeper still: rest keeps its slashes", C + "a/records/r/b/c", cp("a", "records", "r", "b/c")),
    # what the ASGI server hands over is already percent-decoded: nothing is decoded again
    ("decoded space in an id", C + "posts/records/a b", cp("posts", "records", "a b")),
    ("a literal percent stays", C + "posts/records/a%2Fb", cp("posts", "records", "a%2Fb")),
    ("non-ASCII id", C + "posts/records/é", cp("posts", "records", "é")),
    ("query characters are plain characters", C + "posts/records/a?b", cp("posts", "records", "a?b")),
    # trailing and repeated slashes: routed as without them (Litestar), but not canonical
    ("trailing slash on the list", C + "posts/records/", cp("posts", "records", canonical=False)),
    ("trailing slash on a record", C + "posts/records/abc/", cp("posts", "records", "abc", canonical=False)),
    ("two trailing slashes", C + "posts/records//", cp("posts", "records", canonical=False)),
    ("double slash inside", C + "posts//records", cp("posts", "records", canonical=False)),
    ("double slash before the collection", C + "/posts/records", cp("posts", "records", canonical=False)),
    ("double slash in the prefix", "/api//collections/posts/records", cp("posts", "records", canonical=False)),
    ("empty collection: the next segment is the collection", C + "/records", cp("records", canonical=False)),
    # not collection-scoped
    ("the collections list", "/api/collections", None),
    ("the collections list, trailing slash", C, None),
    ("only slashes after the prefix", C + "//", None),
    ("another API", "/api/files/posts/abc/a.png", None),
    ("a prefix of the prefix", "/api/collectionsX/posts/records", None),
    ("no leading slash", "api/collections/posts/records", None),
    ("empty", "", None),
    ("root", "/", None),
]


@pytest.mark.parametrize(("path", "parsed"), [p[1:] for p in PATHS], ids=[p[0] for p in PATHS])
def test_parse_collection_path(path: str, parsed: CollectionPath | None) -> None:
    assert parse_collection_path(path) == parsed


# (name, path, is a record CRUD route, record id)
RECORD_ROUTES: list[tuple[str, str, bool, str | None]] = [
    ("list", C + "posts/records", True, None),
    ("view", C + "posts/records/abc", True, "abc"),
    ("trailing slash: still the list", C + "posts/records/", True, None),
    ("deeper path", C + "posts/records/abc/x", False, "abc"),
    ("auth action", C + "users/auth-refresh", False, None),
    ("another action with an id", C + "users/impersonate/abc", False, "abc"),
    ("the collection", C + "posts", False, None),
]


@pytest.mark.parametrize(
    ("path", "is_records", "record_id"), [r[1:] for r in RECORD_ROUTES], ids=[r[0] for r in RECORD_ROUTES]
)
def test_record_routes(path: str, is_records: bool, record_id: str | None) -> None:
    parsed = parse_collection_path(path)
    assert parsed is not None
    assert parsed.is_records is is_records
    assert parsed.record_id == record_id


def test_record_route() -> None:
    """What batch and the fast path accept: canonical record routes, as batch's old pattern
    ``^/api/collections/([^/?#]+)/records(?:/([^/?#]+))?$`` did."""

    def accepted(path: str) -> tuple[str, str | None] | None:
        p = record_route(path)
        return (p.collection, p.record_id) if p is not None else None

    assert accepted(C + "posts/records") == ("posts", None)
    assert accepted(C + "posts/records/r1") == ("posts", "r1")
    for refused in (
        C + "posts/records/",
        C + "posts/records/r1/",
        C + "/records",
        C + "posts/records/r1/x",
        C + "posts/auth-refresh",
        C + "posts",
        "/api/batch",
    ):
        assert accepted(refused) is None, refused


class _Coll:
    def __init__(self, name: str) -> None:
        self.name, self.id = name, "id_" + name


class _Registry:
    """The part of `baas.schema.registry.Registry` that labelling reads."""

    def __init__(self, *names: str) -> None:
        self._by = {n: _Coll(n) for n in names}

    def get(self, name: str) -> Any:
        return self._by.get(name)


REG: Any = _Registry("posts", "users")

# (name, method, path, labels before the two path labels, counter id)
LABELS: list[tuple[str, str, str, list[str], str | None]] = [
    (
        "list",
        "GET",
        C + "posts/records",
        ["posts:list", "*:list"],
        "id_posts GET /api/collections/{collection}/records list",
    ),
    (
        "view",
        "GET",
        C + "posts/records/r1",
        ["posts:view", "*:view"],
        "id_posts GET /api/collections/{collection}/records/{id} view",
    ),
    (
        "create",
        "POST",
        C + "posts/records",
        ["posts:create", "*:create"],
        "id_posts POST /api/collections/{collection}/records create",
    ),
    (
        "update",
        "PATCH",
        C + "posts/records/r1",
        ["posts:update", "*:update"],
        "id_posts PATCH /api/collections/{collection}/records/{id} update",
    ),
    (
        "delete",
        "DELETE",
        C + "posts/records/r1",
        ["posts:delete", "*:delete"],
        "id_posts DELETE /api/collections/{collection}/records/{id} delete",
    ),
    (
        "a trailing slash is the list Litestar serves",
        "GET",
        C + "posts/records/",
        ["posts:list", "*:list"],
        "id_posts GET /api/collections/{collection}/records list",
    ),
    (
        "a double slash is the same route",
        "GET",
        C + "posts//records",
        ["posts:list", "*:list"],
        "id_posts GET /api/collections/{collection}/records list",
    ),
    ("no record route for PUT", "PUT", C + "posts/records/r1", [], None),
    (
        "auth with password",
        "POST",
        C + "users/auth-with-password",
        ["users:authWithPassword", "users:auth", "*:authWithPassword", "*:auth"],
        "id_users POST /api/collections/{collection}/auth-with-password authWithPassword/auth",
    ),
    (
        "a provider's auth-with route",
        "POST",
        C + "users/auth-with-magic-link",
        ["users:authWithMagicLink", "users:auth", "*:authWithMagicLink", "*:auth"],
        "id_users POST /api/collections/{collection}/auth-with-magic-link authWithMagicLink/auth",
    ),
    ("unknown action", "POST", C + "users/nothing-here", [], None),
    ("action with an id: no tags", "POST", C + "users/impersonate/u1", [], None),
    ("deeper record path: no tags", "GET", C + "users/records/u1/external-auths", [], None),
    ("unknown collection: a plain path", "GET", C + "nope/records", [], None),
    (
        "file",
        "GET",
        "/api/files/posts/r1/a.png",
        ["posts:file", "*:file"],
        "id_posts GET /api/files/{collection}/{id}/{filename} file",
    ),
    ("file: only GET", "DELETE", "/api/files/posts/r1/a.png", [], None),
    ("another route", "GET", "/api/health", [], None),
]


@pytest.mark.parametrize(("method", "path", "tagged", "route_id"), [x[1:] for x in LABELS], ids=[x[0] for x in LABELS])
def test_route_labels(method: str, path: str, tagged: list[str], route_id: str | None) -> None:
    assert route_labels(method, path, REG) == ([*tagged, f"{method} {path}", path], route_id)
