"""Which of a batch's records a group of subscribers may receive: one SQL query per group.

The records are checked as the events carry them — the values committed by each write — not as
the table holds them now: a deleted record is no longer in its table, and a record updated twice
in one batch must be judged by each version. So the query reads the batch from an inline row
source shaped like the collection's table (same column names, types and, on SQLite, the same
type affinities, with each value converted exactly as the write path stores it), aliased as the
table would be, and the collection's rule and the subscriber's filter — compiled by
`baas.rules` through `Reader.where` — run on it unchanged. Whatever a rule reads elsewhere
(relations, ``@collection``, back-relations) it reads from the database as it is now, which is
what PocketBase does too.

    SELECT "m"."__rt_n" FROM (SELECT CAST(? AS TEXT) AS "id", … , ? AS "__rt_n"
                              UNION ALL SELECT …) AS "m"
    WHERE (<list or view rule>) AND (<filter>)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from baas.db.tables import q
from baas.errors import ApiError
from baas.records.layout import Fields, layout
from baas.records.query import Reader
from baas.rules.context import RequestInfo
from baas.rules.scopes import check_scope
from baas.schema.model import Collection
from baas.schema.registry import Registry

# Bound parameters per statement stay under SQLite's and PostgreSQL's limit (32766 / 32767).
MAX_PARAMS = 30000
ORDINAL = "__rt_n"

_CASTS = {
    "sqlite": {
        "text": "CAST(? AS TEXT)",
        "number": "CAST(? AS NUMERIC)",
        "bool": "CAST(? AS NUMERIC)",
        "json": "?",
    },  # a JSON column has NUMERIC affinity, which leaves JSON text as text
    "postgresql": {
        "text": "CAST(? AS text)",
        "number": "CAST(? AS double precision)",
        "bool": "CAST(? AS boolean)",
        "json": "CAST(? AS jsonb)",
    },
}
_ORDINAL_CAST = {"sqlite": "?", "postgresql": "CAST(? AS bigint)"}


def _selects(fields: Fields, dialect: str) -> tuple[str, str]:
    """(first row's SELECT, later rows' SELECT) of the inline source for ``fields``."""
    casts = _CASTS[dialect]
    exprs = [casts.get(f.kind(), casts["text"]) for f in fields] + [_ORDINAL_CAST[dialect]]
    names = [q(f.name) for f in fields] + [q(ORDINAL)]
    first = "SELECT " + ", ".join(f"{e} AS {n}" for e, n in zip(exprs, names))
    later = "SELECT " + ", ".join(exprs)
    return first, later


def _row(fields: Fields, record: dict[str, Any], n: int, dialect: str) -> list[Any]:
    out: list[Any] = []
    for f in fields:
        value = record.get(f.name)
        if value is None:
            value = f.default()
        out.append(f.to_db(value, dialect))
    out.append(n)
    return out


def source(coll: Collection, records: list[tuple[int, dict[str, Any]]], dialect: str) -> tuple[str, list[Any]]:
    """The inline row source (without alias) for ``(ordinal, record)`` pairs, and its params."""
    lay = layout(coll)  # the source's SELECTs are cached per collection version
    fields = lay.fields
    first, later = lay.rt_source(dialect, _selects)
    parts: list[str] = []
    params: list[Any] = []
    for n, record in records:
        parts.append(later if parts else first)
        params.extend(_row(fields, record, n, dialect))
    return " UNION ALL ".join(parts), params


def chunks(coll: Collection, records: list[tuple[int, dict[str, Any]]]) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    per = max(1, MAX_PARAMS // (len(coll.fields) + 1) - 100)
    for i in range(0, len(records), per):
        yield records[i : i + per]


async def passing(
    db: Any,
    registry: Registry,
    coll: Collection,
    rule: str | None,
    req: RequestInfo,
    action: str,
    records: list[tuple[int, dict[str, Any]]],
) -> set[int]:
    """The ordinals of ``records`` that ``req`` may see under ``rule`` and its topic's filter.

    ``action`` is ``list`` or ``view`` (for API keys' scopes). A locked rule (None) passes only
    superusers; a broken filter passes nothing (PocketBase answers the same)."""
    if not records:
        return set()
    if req.is_superuser:
        rule = ""
    elif rule is None:
        return set()
    try:
        check_scope(req, coll.name, action)
        conds, cond_params = await Reader(db, registry, req, stored=False).where(
            coll, rule, req.query.get("filter", "")
        )
    except ApiError:
        return set()
    if not conds:
        return {n for n, _ in records}
    out: set[int] = set()
    where = " AND ".join(conds)
    for part in chunks(coll, records):
        src, params = source(coll, part, db.dialect)
        sql = f"SELECT {q('m')}.{q(ORDINAL)} FROM ({src}) AS {q('m')} WHERE {where}"
        out.update(int(row[0]) for row in await db.fetch(sql, [*params, *cond_params]))
    return out
