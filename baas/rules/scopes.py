"""API-key scopes: which collections and actions a key may use, as a check on `RequestInfo`.

Next to the rules because every reader and writer applies it before a collection's rule, and the
records layer (expand) needs it without depending on the auth package that issues the keys.
"""

from __future__ import annotations

from baas.errors import Forbidden
from baas.rules.context import RequestInfo

APIKEYS = "_apikeys"  # the collectionName an API key's requests carry (rules see it as @request.auth.collectionName)

__all__ = ["APIKEYS", "check_scope"]


def check_scope(req: RequestInfo, collection_name: str, action: str) -> None:
    """403 unless the requester is not an API key or the key has a scope for (collection, action)."""
    auth = req.auth
    if auth is None or auth.get("collectionName") != APIKEYS:
        return
    for scope in auth.get("scopes") or ():
        if scope.get("collection") in ("*", collection_name) and action in scope.get("actions", ()):
            return
    raise Forbidden(f"The API key has no {action!r} scope for the collection {collection_name!r}.")
