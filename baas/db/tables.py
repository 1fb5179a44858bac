"""Collection tables: how a collection's fields map to columns, and the DDL for them.

Storage contract (shared by the records layer and the rule compiler):
- one table per collection, named as the collection, always quoted with double quotes;
- ``id`` TEXT primary key; each field one column named as the field;
- text-like fields (text, email, url, editor, date, autodate, password, single select /
  relation / file): TEXT NOT NULL DEFAULT ''. Dates are ``YYYY-MM-DD HH:MM:SS.mmmZ`` text;
- number: NUMERIC (SQLite) / DOUBLE PRECISION (PostgreSQL), NOT NULL DEFAULT 0;
- bool: BOOLEAN NOT NULL DEFAULT FALSE (0/1 on SQLite);
- json: JSON text (SQLite) / JSONB (PostgreSQL), NULL when unset;
- multi-value select / relation / file (maxSelect > 1): a JSON array of strings, NOT NULL
  DEFAULT '[]';
- PostgreSQL tables also get ``_rowid BIGSERIAL`` so ``@rowid`` sorts as on SQLite.
"""

from __future__ import annotations

from baas.schema.fields import Field
from baas.schema.model import Collection, Index


def q(name: str) -> str:
    """Quote an identifier (names are validated as ``[A-Za-z_][A-Za-z0-9_]*`` first)."""
    return '"' + name.replace('"', '""') + '"'


def column_type(field: Field, dialect: str) -> str:
    kind = field.kind()
    pg = dialect == "postgresql"
    if kind == "number":
        return "DOUBLE PRECISION DEFAULT 0 NOT NULL" if pg else "NUMERIC DEFAULT 0 NOT NULL"
    if kind == "bool":
        return "BOOLEAN DEFAULT FALSE NOT NULL"
    if kind == "json":
        if field.is_multi():
            return "JSONB DEFAULT '[]'::jsonb NOT NULL" if pg else "JSON DEFAULT '[]' NOT NULL"
        return "JSONB DEFAULT NULL" if pg else "JSON DEFAULT NULL"
    return "TEXT DEFAULT '' NOT NULL"


def create_table_sql(coll: Collection, dialect: str) -> list[str]:
    """CREATE TABLE plus its indexes for a base or auth collection."""
    cols = ['"id" TEXT PRIMARY KEY NOT NULL']
    if dialect == "postgresql":
        cols.append('"_rowid" BIGSERIAL')
    for f in coll.fields:
        if f.name == "id":
            continue
        cols.append(f"{q(f.name)} {column_type(f, dialect)}")
    stmts = [f"CREATE TABLE {q(coll.name)} ({', '.join(cols)})"]
    from baas.schema.model import parse_index

    for idx in coll.indexes:
        stmts.append(create_index_sql(coll.name, parse_index(idx, coll.name)))
    return stmts


def create_index_sql(table: str, idx: Index) -> str:
    name = idx.name or f"idx_{table}_{'_'.join(c.lstrip('-') for c in idx.columns)}"
    cols = ", ".join(f"{q(c[1:])} DESC" if c.startswith("-") else q(c) for c in idx.columns)
    sql = f"CREATE {'UNIQUE ' if idx.unique else ''}INDEX IF NOT EXISTS {q(name)} ON {q(table)} ({cols})"
    # PocketBase writes MySQL-style `quotes` in partial-index conditions; both databases take "".
    return sql + (f" WHERE {idx.where.replace('`', chr(34))}" if idx.where else "")


SYSTEM_TABLES = {
    "sqlite": [
        """CREATE TABLE IF NOT EXISTS "_collections" (
            "id" TEXT PRIMARY KEY NOT NULL, "name" TEXT UNIQUE NOT NULL, "type" TEXT NOT NULL,
            "system" BOOLEAN DEFAULT FALSE NOT NULL, "data" TEXT NOT NULL,
            "created" TEXT DEFAULT '' NOT NULL, "updated" TEXT DEFAULT '' NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS "_schema_history" (
            "id" INTEGER PRIMARY KEY AUTOINCREMENT, "applied" TEXT NOT NULL, "source" TEXT NOT NULL,
            "changes" TEXT NOT NULL, "schema" TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS "_params" (
            "id" TEXT PRIMARY KEY NOT NULL, "value" TEXT NOT NULL, "updated" TEXT DEFAULT '' NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS "_events" (
            "id" INTEGER PRIMARY KEY AUTOINCREMENT, "collection_id" TEXT NOT NULL, "collection" TEXT NOT NULL,
            "record_id" TEXT NOT NULL, "action" TEXT NOT NULL, "record" TEXT NOT NULL, "created" TEXT NOT NULL)""",
    ],
    "postgresql": [
        """CREATE TABLE IF NOT EXISTS "_collections" (
            "id" TEXT PRIMARY KEY NOT NULL, "name" TEXT UNIQUE NOT NULL, "type" TEXT NOT NULL,
            "system" BOOLEAN DEFAULT FALSE NOT NULL, "data" TEXT NOT NULL,
            "created" TEXT DEFAULT '' NOT NULL, "updated" TEXT DEFAULT '' NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS "_schema_history" (
            "id" BIGSERIAL PRIMARY KEY, "applied" TEXT NOT NULL, "source" TEXT NOT NULL,
            "changes" TEXT NOT NULL, "schema" TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS "_params" (
            "id" TEXT PRIMARY KEY NOT NULL, "value" TEXT NOT NULL, "updated" TEXT DEFAULT '' NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS "_events" (
            "id" BIGSERIAL PRIMARY KEY, "collection_id" TEXT NOT NULL, "collection" TEXT NOT NULL,
            "record_id" TEXT NOT NULL, "action" TEXT NOT NULL, "record" TEXT NOT NULL, "created" TEXT NOT NULL)""",
    ],
}
