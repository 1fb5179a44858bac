"""The one parser of collection-scoped URL paths (``/api/collections/{collection}/…``).

The record fast path (`baas.api.fast`), the rate limiter (`baas.api.ratelimit`) and batch
requests (`baas.api.batch`) all ask the same question of a path — which collection, which
action, which record — and answer it here, the same way::

    parse_collection_path("/api/collections/posts/records/abc")
    # CollectionPath(collection="posts", action="records", record_id="abc", rest="", canonical=True)
    parse_collection_path("/api/collections/users/auth-with-password")
    # CollectionPath(collection="users", action="auth-with-password", record_id=None, rest="", canonical=True)

The path is taken as the ASGI server hands it (``scope["path"]``: already percent-decoded, no
query string); nothing is decoded again, so an id is exactly the characters of its segment. For a
URL written by a client (a batch item), pass ``urlsplit(url).path``; `record_route` takes only
the record CRUD routes, as batch and the fast path serve them.
"""

from __future__ import annotations

from typing import NamedTuple

PREFIX = "/api/collections/"
_START = len(PREFIX)


class CollectionPath(NamedTuple):
    """A parsed ``/api/collections/{collection}[/{action}[/{record_id}[/{rest}]]]`` path."""

    collection: str  # the name or id as written in the URL (never empty)
    action: str  # "records", "auth-with-password", … ; "" for the collection itself
    record_id: str | None  # the segment after the action (``records/{id}``, ``impersonate/{id}``)
    rest: str  # whatever follows the record id, slashes included ("" when nothing does)
    canonical: bool  # written without empty segments or a trailing slash

    @property
    def is_records(self) -> bool:
        """The record CRUD routes: ``…/records`` (list, create) or ``…/records/{id}`` (view,
        update, delete)."""
        return self.action == "records" and not self.rest


_make = CollectionPath._make


def parse_collection_path(path: str) -> CollectionPath | None:
    """The parts of a collection-scoped path, or None when ``path`` is not one.

    Segments are read as Litestar routes them: repeated and trailing slashes do not count
    (``/api//collections/posts//records/`` is the records list of ``posts``), and such a path is
    reported as not ``canonical`` — the fast path and batch take canonical paths only, the rate
    limiter labels a request by the route that will serve it.
    """
    canonical = "//" not in path and not path.endswith("/")
    if not canonical:
        path = "/" + "/".join([s for s in path.split("/") if s])
    if not path.startswith(PREFIX):
        return None
    tail = path[_START:]
    segments = tail.split("/", 3)
    n = len(segments)
    # _make: the NamedTuple's generated __new__ costs twice as much, on every record request
    return _make(
        (
            segments[0],
            segments[1] if n > 1 else "",
            segments[2] if n > 2 else None,
            segments[3] if n > 3 else "",
            canonical,
        )
    )


def record_route(path: str) -> CollectionPath | None:
    """The parsed path if it is a record CRUD route written canonically — what the fast path and
    batch requests serve (``/api/collections/{c}/records`` or ``…/records/{id}``) — else None."""
    target = parse_collection_path(path)
    return target if target is not None and target.canonical and target.is_records else None
