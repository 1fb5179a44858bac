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
- PostgreSQL tables also get an identity column ``_rowid`` so ``@rowid`` sorts as on SQLite;
- every collection table has triggers that count its writes in ``_data_versions`` (see
  `data_version_sql`): the query cache's way of knowing, in every process, that its data changed.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateColumn, CreateIndex, CreateTable

from baas.db.tables import q
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
    """CREATE TABLE plus its data-version triggers and its indexes for a base or auth collection."""
    stmts = [_compile(CreateTable(table(coll, dialect)), dialect), *data_version_sql(coll, dialect)]
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


# Data versions (docs/cache.md). Each collection table counts its committed writes in
# ``_data_versions``, bumped by triggers inside the writing transaction, whoever writes (the API,
# a hook, a plugin's raw SQL, a schema change's backfill). A reader that reads a collection's
# version before reading its rows knows that a cached result stored under the same version is
# what the rows would give now: the query cache (baas/db/cache.py) checks it on every read.
#
# The version is a sum over shards: on PostgreSQL concurrent writers to one collection bump
# different rows (see `versions_table_sql`), so they never queue on one row lock. A sum of
# committed increments only grows, whatever order transactions commit in.
VERSIONS_TABLE = "_data_versions"
_PG_BUMP_FUNCTION = "baas_data_version"  # the trigger's
_PG_BUMP = "baas_bump_version"  # (collection id): the trigger's work, and a schema change's


def versions_table_sql(dialect: str) -> list[str]:
    """The ``_data_versions`` table (and on PostgreSQL the trigger function), if missing."""
    stmts = [
        f'CREATE TABLE IF NOT EXISTS "{VERSIONS_TABLE}" ("collection_id" TEXT NOT NULL, "shard" INTEGER NOT NULL, '
        '"version" BIGINT NOT NULL, PRIMARY KEY ("collection_id", "shard"))'
    ]
    if dialect == "postgresql":
        stmts += [
            # Adds one to a shard of the collection's version that no other transaction holds
            # (SKIP LOCKED: a writer never waits for another, so no new lock waits or deadlocks
            # between transactions writing the same collections); when every shard is held, a new
            # one: keys made from this backend's pid, which no other running transaction inserts,
            # an existing (held) one skipped without waiting.
            f'CREATE OR REPLACE FUNCTION "{_PG_BUMP}"(cid text) RETURNS void LANGUAGE plpgsql '
            "SET search_path FROM CURRENT AS $body$ BEGIN "
            f'UPDATE "{VERSIONS_TABLE}" SET "version" = "version" + 1 WHERE ctid = ('
            f'SELECT ctid FROM "{VERSIONS_TABLE}" WHERE "collection_id" = cid LIMIT 1 FOR UPDATE SKIP LOCKED); '
            "IF FOUND THEN RETURN; END IF; "
            "FOR n IN 0..63 LOOP "
            f'INSERT INTO "{VERSIONS_TABLE}" ("collection_id", "shard", "version") '
            "VALUES (cid, pg_backend_pid() * 64 + n, 1) ON CONFLICT DO NOTHING; "
            "IF FOUND THEN RETURN; END IF; END LOOP; "
            f'INSERT INTO "{VERSIONS_TABLE}" ("collection_id", "shard", "version") VALUES (cid, -1, 1) '
            f'ON CONFLICT ("collection_id", "shard") DO UPDATE SET "version" = "{VERSIONS_TABLE}"."version" + 1; '
            "END $body$",
            f'CREATE OR REPLACE FUNCTION "{_PG_BUMP_FUNCTION}"() RETURNS trigger LANGUAGE plpgsql '
            f'SET search_path FROM CURRENT AS $body$ BEGIN PERFORM "{_PG_BUMP}"(TG_ARGV[0]); RETURN NULL; END $body$',
        ]
    return stmts


def data_version_sql(coll: Collection, dialect: str) -> list[str]:
    """The triggers that bump ``coll``'s data version on every write to its table (idempotent;
    `versions_table_sql` ran first: migration 0012, or `baas.planner.create_collections`).
    Keyed by the collection's id, so a renamed table keeps counting under the same key."""
    cid = coll.id.replace("'", "''")
    t = q(coll.name)
    if dialect == "postgresql":  # once per statement, TRUNCATE included
        return [
            f'DROP TRIGGER IF EXISTS "_data_version" ON {t}',
            f'CREATE TRIGGER "_data_version" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {t} '
            f"FOR EACH STATEMENT EXECUTE FUNCTION \"{_PG_BUMP_FUNCTION}\"('{cid}')",
        ]
    bump = (
        f'INSERT INTO "{VERSIONS_TABLE}" ("collection_id", "shard", "version") VALUES (\'{cid}\', 0, 1) '
        'ON CONFLICT ("collection_id", "shard") DO UPDATE SET "version" = "version" + 1'
    )
    names = data_version_triggers(coll, dialect)
    return [
        *versions_table_sql(dialect),  # a bare database (one file of tests) works too: it costs nothing here
        *(f"DROP TRIGGER IF EXISTS {q(name)}" for name in names),
        *(
            f"CREATE TRIGGER {q(name)} AFTER {op} ON {t} BEGIN {bump}; END"
            for name, op in zip(names, ("INSERT", "UPDATE", "DELETE"), strict=True)
        ),
    ]


def data_version_triggers(coll: Collection, dialect: str) -> list[str]:
    """The names of ``coll``'s data-version triggers (a table without them is never cached)."""
    if dialect == "postgresql":
        return ["_data_version"]
    return [f"_dv_{coll.id}_{op}" for op in ("i", "u", "d")]


# (table, trigger) of every trigger in the database that might be a data-version one.
VERSION_TRIGGERS_SQL = {
    "sqlite": 'SELECT "tbl_name", "name" FROM "sqlite_master" '
    "WHERE \"type\" = 'trigger' AND \"name\" LIKE '\\_dv\\_%' ESCAPE '\\'",
    "postgresql": "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "WHERE t.tgname = '_data_version' AND c.relnamespace = current_schema()::regnamespace",
}


def bump_version_sql(dialect: str) -> str:
    """One statement that bumps the data version of the collection whose id is bound (a schema
    change does, for every collection it touches)."""
    if dialect == "postgresql":
        return f'SELECT "{_PG_BUMP}"(?::text)'
    return (
        f'INSERT INTO "{VERSIONS_TABLE}" ("collection_id", "shard", "version") VALUES (?, 0, 1) '
        f'ON CONFLICT ("collection_id", "shard") DO UPDATE SET "version" = "{VERSIONS_TABLE}"."version" + 1'
    )
