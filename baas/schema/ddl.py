"""Collection tables: how a collection's fields map to columns, and the DDL for them
(identifier quoting and other SQL helpers every layer shares are in ``baas/db/tables.py``).

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
- PostgreSQL tables also get an identity column ``_rowid`` so ``@rowid`` sorts as on SQLite.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateColumn, CreateIndex, CreateTable

from baas.schema.fields import Field
from baas.schema.model import Collection, Index, parse_index

# SQLAlchemy Core builds every DDL statement; it is compiled to text once per change and run
# on the thin driver layer (no SQLAlchemy engine is involved).
DIALECTS: dict[str, sa.Dialect] = {
    "sqlite": sqlite.dialect(),
    "postgresql": pg.dialect(),  # type: ignore[no-untyped-call]  # SQLAlchemy's psycopg dialect has an untyped __init__
}


def _compile(element: sa.sql.ClauseElement | sa.schema.DDLElement, dialect: str) -> str:
    return str(element.compile(dialect=DIALECTS[dialect])).strip()


def column(field: Field, dialect: str) -> sa.Column[Any]:
    """The column a field is stored in (see the storage contract above)."""
    kind = field.kind()
    is_pg = dialect == "postgresql"
    if kind == "number":
        return sa.Column(
            field.name, pg.DOUBLE_PRECISION() if is_pg else sa.Numeric(), nullable=False, server_default=sa.text("0")
        )
    if kind == "bool":
        return sa.Column(field.name, sa.Boolean(), nullable=False, server_default=sa.text("FALSE"))
    if kind == "json":
        json_type = pg.JSONB() if is_pg else sa.JSON()
        if field.is_multi():
            default = "'[]'::jsonb" if is_pg else "'[]'"
            return sa.Column(field.name, json_type, nullable=False, server_default=sa.text(default))
        return sa.Column(field.name, json_type, nullable=True, server_default=sa.text("NULL"))
    return sa.Column(field.name, sa.Text(), nullable=False, server_default=sa.text("''"))


def column_type(field: Field, dialect: str) -> str:
    """The column's type and constraints as DDL text, for ``ALTER TABLE … ADD COLUMN``."""
    sa.Table("_t", sa.MetaData(), col := column(field, dialect))
    spec = _compile(CreateColumn(col), dialect)
    name = DIALECTS[dialect].identifier_preparer.format_column(col)
    return spec[len(name) :].strip()


def table(coll: Collection, dialect: str) -> sa.Table:
    cols: list[sa.Column[Any]] = [sa.Column("id", sa.Text(), primary_key=True, nullable=False)]
    if dialect == "postgresql":
        cols.append(sa.Column("_rowid", sa.BigInteger(), sa.Identity(), nullable=False))
    cols += [column(f, dialect) for f in coll.fields if f.name != "id"]
    return sa.Table(coll.name, sa.MetaData(), *cols)


def create_table_sql(coll: Collection, dialect: str) -> list[str]:
    """CREATE TABLE plus its indexes for a base or auth collection."""
    stmts = [_compile(CreateTable(table(coll, dialect)), dialect)]
    for idx in coll.indexes:
        stmts.append(create_index_sql(coll.name, parse_index(idx, coll.name), dialect))
    return stmts


def create_index_sql(table_name: str, idx: Index, dialect: str = "sqlite") -> str:
    """CREATE INDEX IF NOT EXISTS for a structured index. A ``nocase`` column is compared with
    SQLite's NOCASE collation, or as ``lower(col)`` on PostgreSQL (which has no such collation)."""
    name = idx.name or f"idx_{table_name}_{'_'.join(c.lstrip('-') for c in idx.columns)}"
    where: dict[str, Any] = {}
    if idx.where:
        # PocketBase writes MySQL-style `quotes` in partial-index conditions; both databases take "".
        cond = sa.text(idx.where.replace("`", chr(34)))
        where = {"sqlite_where": cond, "postgresql_where": cond}
    t = sa.Table(table_name, sa.MetaData(), *(sa.Column(c.lstrip("-")) for c in idx.columns))

    def element(col: str) -> sa.ColumnElement[Any]:
        c: sa.ColumnElement[Any] = t.c[col.lstrip("-")]
        if col.lstrip("-") in idx.nocase:
            c = sa.func.lower(c) if dialect == "postgresql" else c.collate("NOCASE")
        return c.desc() if col.startswith("-") else c

    index = sa.Index(name, *[element(c) for c in idx.columns], unique=idx.unique, **where)
    return _compile(CreateIndex(index, if_not_exists=True), dialect)
