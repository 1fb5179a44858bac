"""Rows to API records: column lists, value conversion, hidden and email visibility."""

from __future__ import annotations

from typing import Any

from baas.db.tables import q
from baas.rules.context import RequestInfo
from baas.schema.model import Collection


def select_list(coll: Collection, alias: str = "m") -> tuple[str, tuple]:
    """The SELECT list for a collection's records and the fields in the same order.

    Cached on the collection object, which is replaced whenever the schema changes."""
    cache = coll.__dict__.setdefault("_select_cache", {})
    hit = cache.get(alias)
    if hit is None:
        fields = tuple(coll.fields)
        hit = cache[alias] = (", ".join(f"{q(alias)}.{q(f.name)}" for f in fields), fields)
    return hit


def row_to_record(coll: Collection, fields: tuple, row: tuple, req: RequestInfo | None) -> dict[str, Any]:
    """One row as PocketBase shows a record to the requester ``req`` (None: internal use)."""
    rec: dict[str, Any] = {"collectionId": coll.id, "collectionName": coll.name}
    superuser = req is None or req.is_superuser
    for f, raw in zip(fields, row):
        if f.hidden and not superuser:
            continue
        if f.type == "password" or (f.name == "tokenKey" and coll.type == "auth"):
            continue  # secrets never leave the server, not even to superusers
        rec[f.name] = f.to_api(raw)
    if coll.type == "auth" and not superuser and not rec.get("emailVisibility"):
        auth = req.auth if req else None
        if not (auth and auth.get("id") == rec.get("id") and auth.get("collectionId") == coll.id):
            rec.pop("email", None)  # PocketBase leaves the key out
    return rec


def raw_record(coll: Collection, fields: tuple, row: tuple) -> dict[str, Any]:
    """Every stored value (hidden ones included) as Python values, for the write path."""
    return {f.name: f.from_db(raw) for f, raw in zip(fields, row)}
