"""View collections: a read-only collection over a SELECT, its fields inferred from the query."""

from __future__ import annotations

import re
from typing import Any, Callable

import msgspec

from baas.errors import SchemaError
from baas.schema import defaults
from baas.schema.fields import JSONField
from baas.schema.model import NAME_RE, Collection

_FROM = re.compile(r"\b(?:FROM|JOIN)\s+[`\"\[]?(\w+)", re.I)
_FORBIDDEN = re.compile(r";|\b(INSERT|UPDATE|DELETE|DROP|ALTER|CREATE|ATTACH|PRAGMA|REPLACE|GRANT|TRUNCATE)\b", re.I)


async def view_fields(db: Any, coll: Collection, lookup: Callable[[str], Collection | None],
                      old: Collection | None) -> list:
    """Fields of a view: a column named like a field of a queried collection copies that field
    (so types, relations and rules keep working); any other column is ``json``."""
    query = coll.viewQuery.strip().rstrip(";")
    if not query.lower().startswith(("select", "with")) or _FORBIDDEN.search(query):
        raise SchemaError(f"View {coll.name!r}: viewQuery must be a single SELECT statement.",
                          errors={"viewQuery": {"code": "validation_invalid_view_query",
                                                "message": "Must be a single SELECT statement."}})
    try:
        columns = await db.columns(query)
    except Exception as exc:  # the database names the problem
        raise SchemaError(f"View {coll.name!r}: invalid viewQuery: {exc}",
                          errors={"viewQuery": {"code": "validation_invalid_view_query", "message": str(exc)}}) from None
    if "id" not in columns:
        raise SchemaError(f"View {coll.name!r}: the query must select an id column.",
                          errors={"viewQuery": {"code": "validation_invalid_view_query",
                                                "message": "The query must select an id column."}})
    sources = [c for c in (lookup(n) for n in _FROM.findall(query)) if c is not None]
    declared = {f.name: f for f in coll.fields}
    old_ids = {f.name: f.id for f in old.fields} if old else {}
    fields = []
    for col in columns:
        if not NAME_RE.match(col):
            raise SchemaError(f"View {coll.name!r}: column {col!r} needs a plain alias (AS name).")
        f = declared.get(col) or next((s.field(col) for s in sources if s.field(col) is not None), None)
        if col == "id":
            f = defaults.id_field(coll.name)
        if f is None:
            f = JSONField(name=col)
        fid = old_ids.get(col) or defaults.stable_id(f.type, coll.name, col)
        fields.append(msgspec.structs.replace(f, id=fid, system=col == "id", name=col))
    return fields
