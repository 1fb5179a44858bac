"""Full-text search indexes (docs/search.md): built, filled and dropped by the schema planner.
How they are read, and why they are shaped so, is `baas.rules.fulltext`'s."""

from __future__ import annotations

from collections.abc import Callable

from baas.db import Conn
from baas.db.tables import q
from baas.rules.fulltext import FTS5_TOKENIZER, PG_COLUMN, config, fts_column, fts_table, pg_vector, sqlite_value
from baas.schema.model import Collection


def create_sql(coll: Collection, dialect: str) -> list[str]:
    """The statements that build ``coll``'s search index (on PostgreSQL over the rows it holds
    now; on SQLite `fill` indexes them)."""
    cfg = config(coll)
    if cfg is None:
        return []
    if dialect == "postgresql":
        return [
            f"ALTER TABLE {q(coll.name)} ADD COLUMN {q(PG_COLUMN)} tsvector "
            f"GENERATED ALWAYS AS ({pg_vector(coll)}) STORED",
            f"CREATE INDEX {q(fts_table(coll))} ON {q(coll.name)} USING GIN ({q(PG_COLUMN)})",
        ]
    fts, table = q(fts_table(coll)), q(coll.name)
    cols = ", ".join(fts_column(i) for i in range(len(cfg.fields)))
    watched = ", ".join(q(n) for n in cfg.fields)
    tokenizer = FTS5_TOKENIZER[cfg.language]

    def values(row: str) -> str:
        return ", ".join(sqlite_value(coll, n, row) for n in cfg.fields)

    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, tokenize = '{tokenizer}')",
        f"CREATE TRIGGER {q(fts_table(coll) + '_i')} AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts} (rowid, {cols}) VALUES (new.rowid, {values('new.')}); END",
        f"CREATE TRIGGER {q(fts_table(coll) + '_d')} AFTER DELETE ON {table} BEGIN "
        f"DELETE FROM {fts} WHERE rowid = old.rowid; END",
        f"CREATE TRIGGER {q(fts_table(coll) + '_u')} AFTER UPDATE OF {watched} ON {table} BEGIN "
        f"DELETE FROM {fts} WHERE rowid = old.rowid; "
        f"INSERT INTO {fts} (rowid, {cols}) VALUES (new.rowid, {values('new.')}); END",
    ]


FILL_CHUNK = 20_000
Progress = Callable[[str, int, "int | None"], None]  # (step, done, total), as backups report


async def fill(conn: Conn, coll: Collection, progress: Progress | None = None) -> None:
    """Index the rows ``coll`` holds now (after `create_sql`), ``FILL_CHUNK`` rows at a time
    so that ``progress`` can tell how far it got. PostgreSQL's index was built by its CREATE."""
    cfg = config(coll)
    if cfg is None or conn.dialect == "postgresql":
        return
    step = f"search index of {coll.name}"
    total = int(await conn.fetchval(f"SELECT count(*) FROM {q(coll.name)}") or 0)
    fts, cols = q(fts_table(coll)), ", ".join(fts_column(i) for i in range(len(cfg.fields)))
    values = ", ".join(sqlite_value(coll, n, "") for n in cfg.fields)
    done, last = 0, -(2**63)  # below every rowid
    while True:
        if progress is not None:
            progress(step, done, total)
        bound = await conn.fetchval(
            f"SELECT max(rowid) FROM (SELECT rowid FROM {q(coll.name)} WHERE rowid > ? ORDER BY rowid LIMIT ?)",
            [last, FILL_CHUNK],
        )
        if bound is None:
            return
        await conn.execute(
            f"INSERT INTO {fts} (rowid, {cols}) SELECT rowid, {values} FROM {q(coll.name)} "
            "WHERE rowid > ? AND rowid <= ?",
            [last, bound],
        )
        done += int(await conn.fetchval("SELECT changes()") or 0)
        last = bound


def drop_sql(coll: Collection, dialect: str) -> list[str]:
    """The statements that remove ``coll``'s search index (whatever its configuration was)."""
    name = fts_table(coll)
    if dialect == "postgresql":  # the index goes with the column
        return [f"ALTER TABLE {q(coll.name)} DROP COLUMN IF EXISTS {q(PG_COLUMN)}"]
    return [
        *(f"DROP TRIGGER IF EXISTS {q(name + s)}" for s in ("_i", "_d", "_u")),
        f"DROP TABLE IF EXISTS {q(name)}",
    ]
