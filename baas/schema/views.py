"""View collections: a read-only collection over a SELECT, its fields inferred from the query.

A view may read collections (and other views) created or changed in the same plan, so the
planner asks for its columns inside a scratch transaction where those tables already have
their new shape (`view_columns`), and creates views in dependency order (`view_order`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import msgspec

from baas.db import Conn, Database
from baas.errors import SchemaError
from baas.schema import defaults
from baas.schema.fields import AnyField, JSONField
from baas.schema.model import NAME_RE, Collection

_FROM = re.compile(r"\b(?:FROM|JOIN)\s+[`\"\[]?(\w+)", re.I)
_FORBIDDEN = re.compile(r";|\b(INSERT|UPDATE|DELETE|DROP|ALTER|CREATE|ATTACH|PRAGMA|REPLACE|GRANT|TRUNCATE)\b", re.I)

Columns = Callable[[Collection, str], Awaitable[list[str]]]
_STORAGE_COLUMNS = {"_rowid", "_search"}  # baas/schema/ddl.py's row order, baas/rules/fulltext.py's vectors


def _query_error(name: str, message: str) -> SchemaError:
    return SchemaError(
        f"View {name!r}: {message}", errors={"viewQuery": {"code": "validation_invalid_view_query", "message": message}}
    )


def view_query(coll: Collection) -> str:
    """The view's SELECT, checked to be one read-only statement."""
    query = coll.viewQuery.strip().rstrip(";")
    if not query.lower().startswith(("select", "with")) or _FORBIDDEN.search(query):
        raise _query_error(coll.name, "viewQuery must be a single SELECT statement.")
    return query


def sources(query: str) -> list[str]:
    """Names of the tables and views a query reads (FROM / JOIN)."""
    return _FROM.findall(query)


def view_order(views: list[Collection]) -> list[Collection]:
    """``views`` ordered so that a view comes after the views it reads; a cycle is an error."""
    by_name = {v.name: v for v in views}
    done: list[Collection] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(v: Collection) -> None:
        if state.get(v.name) == 2:
            return
        if state.get(v.name) == 1:
            raise _query_error(v.name, "views must not read each other in a cycle.")
        state[v.name] = 1
        for dep in sources(v.viewQuery):
            if dep in by_name and dep != v.name:
                visit(by_name[dep])
        state[v.name] = 2
        done.append(v)

    for v in views:
        visit(v)
    return done


def db_columns(db: Database) -> Columns:
    """Columns of a view's query read from the applied database (nothing changes in the plan)."""

    async def columns(coll: Collection, query: str) -> list[str]:
        return await db.columns(query)

    return columns


def scratch_columns(conn: Conn) -> Columns:
    """Columns of a view's query inside a scratch transaction: the view is created there (so
    later views can read it) and its columns read back from the catalogue."""

    async def columns(coll: Collection, query: str) -> list[str]:
        name = '"' + coll.name.replace('"', '""') + '"'
        await conn.execute(f"DROP VIEW IF EXISTS {name}")
        await conn.execute(f"CREATE VIEW {name} AS {query}")
        if conn.dialect == "postgresql":
            rows = await conn.fetch(
                "SELECT attname FROM pg_attribute WHERE attrelid = CAST(? AS regclass) "
                "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                [name],
            )
            return [r[0] for r in rows]
        return [r[1] for r in await conn.fetch(f"PRAGMA table_info({name})")]

    return columns


async def view_fields(
    columns_of: Columns, coll: Collection, lookup: Callable[[str], Collection | None], old: Collection | None
) -> list[AnyField]:
    """Fields of a view: a column named like a field of a queried collection copies that field
    (so types, relations and rules keep working); any other column is ``json``."""
    query = view_query(coll)
    try:
        columns = await columns_of(coll, query)
    except SchemaError:
        raise
    except Exception as exc:  # the database names the problem
        raise _query_error(coll.name, f"invalid viewQuery: {exc}") from None
    if "id" not in columns:
        raise _query_error(coll.name, "The query must select an id column.")
    found = [c for c in (lookup(n) for n in sources(query)) if c is not None]
    declared = {f.name: f for f in coll.fields}
    old_ids = {f.name: f.id for f in old.fields} if old else {}
    fields: list[AnyField] = []
    for col in columns:
        if col in _STORAGE_COLUMNS:  # PostgreSQL's bookkeeping columns a `SELECT *` brings along
            continue
        if not NAME_RE.match(col):
            raise _query_error(coll.name, f"column {col!r} needs a plain alias (AS name).")
        f = declared.get(col) or _field_in(found, col)
        if col == "id":
            f = defaults.id_field(coll.name)
        if f is None:
            f = JSONField(name=col)
        fid = old_ids.get(col) or defaults.stable_id(f.type, coll.name, col)
        fields.append(msgspec.structs.replace(f, id=fid, system=col == "id", name=col))
    return fields


def _field_in(colls: list[Collection], name: str) -> AnyField | None:
    """The field ``name`` of the first of ``colls`` that has one (as `Collection.field` finds it)."""
    for c in colls:
        for f in reversed(c.fields):  # field_map keeps the last of a name
            if f.name == name:
                return f
    return None


async def _infer_in_order(
    ordered: list[Collection],
    olds: dict[str, Collection | None],
    by_name: dict[str, Collection],
    columns_of: Columns,
    done: list[tuple[Collection | None, Collection]],
    *,
    scratch: bool,
) -> None:
    """Infer the fields of the views named in ``olds``, in ``ordered`` order, into ``done``; each
    inferred view replaces its entry in ``by_name``, so the views after it see its fields."""

    def lookup(key: str) -> Collection | None:
        return by_name.get(key) or next((c for c in by_name.values() if c.id == key), None)

    for v in ordered:
        if v.name not in olds:
            if scratch:  # an applied view left as it is: later views may read it
                await columns_of(v, view_query(v))
            continue
        nv = msgspec.structs.replace(v, fields=await view_fields(columns_of, v, lookup, olds[v.name]))
        by_name[v.name] = nv
        done.append((olds[v.name], nv))


class _Rollback(Exception):
    """Ends a scratch transaction: nothing it did is kept."""


async def infer_views(
    db: Database,
    known: list[Collection],
    views: list[tuple[Collection | None, Collection]],
    *,
    tables_change: bool,
    shape: Callable[[Conn], Awaitable[None]],
) -> list[tuple[Collection | None, Collection]]:
    """``views`` (applied, wanted) with their fields inferred, in dependency order.

    ``known``: the plan's other collections (tables, and applied views it does not name). When
    tables or views change, the columns are read in a scratch transaction that is rolled back:
    ``shape`` gives the tables their new shape there, then each view is created in order, so a
    view can read what the same file creates (tables, fields, other views)."""
    if not views:
        return []
    olds = {n.name: o for o, n in views}
    by_name = {c.name: c for c in known}
    ordered = view_order([n for _, n in views] + [c for c in known if c.type == "view"])
    done: list[tuple[Collection | None, Collection]] = []

    async def infer(columns_of: Columns, scratch: bool = False) -> None:
        done.clear()
        await _infer_in_order(ordered, olds, by_name, columns_of, done, scratch=scratch)

    if not tables_change and all(o is not None and o.name == n.name and o.viewQuery == n.viewQuery for o, n in views):
        await infer(db_columns(db))  # nothing they read changes: the applied database answers
        return done

    async def scratch(conn: Conn) -> None:
        await shape(conn)
        await infer(scratch_columns(conn), scratch=True)
        raise _Rollback

    try:
        await db.write(scratch, heavy=True)
    except _Rollback:
        pass
    except SchemaError:
        raise
    except Exception as exc:  # the database refused the plan's own DDL
        raise SchemaError(f"The database refused the change: {exc}") from None
    return done
