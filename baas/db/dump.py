"""A consistent copy of a whole database taken while writes go on, and its way back in (the backups
of baas/backups build on this).

- SQLite: the database file itself, copied with SQLite's online backup API: one read snapshot, and in
  WAL mode writers are not held up while it is taken.
- PostgreSQL: every table's rows as JSON lines (``row_to_json``), all read in one ``REPEATABLE READ
  READ ONLY`` transaction, so every table is seen at the same instant. They load back with
  ``json_populate_recordset``: each column comes back as PostgreSQL itself encoded it (booleans,
  numbers, jsonb, bytea), with no type mapping of ours in between.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import asyncpg

from baas.db.postgres import PgConn

T = TypeVar("T")

# Alembic's own table (baas/db/migrations/env.py): a restore makes it by migrating to the backup's
# revision (kept in the manifest). The request log keeps its own retention (logs.maxDays) and is
# left out of backups, so that a backup holds no one's request history (docs/backups.md); on
# SQLite it is a file of its own (logs.db), which a backup does not copy.
SKIP_TABLES = ("_migrations", "_logs")
BATCH = 500  # rows per INSERT when loading a table back


async def sqlite_copy(source: str, dest: str) -> None:
    """Copy the SQLite database ``source`` (a path) to the new file ``dest``, consistent, online."""

    def run() -> None:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(dest)
            try:
                src.backup(dst)  # all pages in one step: one snapshot of the source
            finally:
                dst.close()
        finally:
            src.close()

    await asyncio.to_thread(run)


def sqlite_check(path: str) -> str:
    """``PRAGMA integrity_check`` of a SQLite file: 'ok' or what it found."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return "; ".join(str(row[0]) for row in conn.execute("PRAGMA integrity_check").fetchall())
    finally:
        conn.close()


class PgSnapshot:
    """One read-only, repeatable-read view of a PostgreSQL database (see `pg_snapshot`)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def revision(self) -> str:
        """The Alembic revision of the system tables."""
        value = await self._conn.fetchval('SELECT version_num FROM "_migrations"')
        return str(value or "")

    async def tables(self) -> list[str]:
        """The tables of the current schema, Alembic's left out."""
        rows = await self._conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        )
        return [r[0] for r in rows if r[0] not in SKIP_TABLES]

    async def rows(self, table: str) -> AsyncIterator[str]:
        """Each row of ``table`` as a JSON object (text), streamed."""
        async for row in self._conn.cursor(f'SELECT row_to_json(t)::text FROM "{_name(table)}" AS t', prefetch=BATCH):
            yield row[0]


@asynccontextmanager
async def pg_snapshot(url: str) -> AsyncIterator[PgSnapshot]:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            yield PgSnapshot(conn)
    finally:
        await conn.close()


async def pg_tables(url: str) -> list[str]:
    """The tables of the database's current schema (a restore refuses a database that has any)."""
    async with pg_snapshot(url) as snap:
        return await snap.tables()


async def pg_load(url: str, fill: Callable[[PgConn, PgLoader], Awaitable[T]]) -> T:
    """Run ``fill`` in one transaction on ``url``: it creates tables through the `PgConn` and loads
    rows through the `PgLoader`; all of it commits, or none of it."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            return await fill(PgConn(conn), PgLoader(conn))
    finally:
        await conn.close()


class PgLoader:
    """Loads JSON rows (as `PgSnapshot.rows` gave them) into existing tables."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._columns: dict[str, str] = {}

    async def load(self, table: str, rows: list[str]) -> None:
        if not rows:
            return
        cols = self._columns.get(table)
        if cols is None:  # generated columns (a search's tsvector) are computed again, not loaded
            names = await self._conn.fetch(
                "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0"
                " AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
                f'"{_name(table)}"',
            )
            cols = self._columns[table] = ", ".join(f'"{_name(r[0])}"' for r in names)
        await self._conn.execute(
            f'INSERT INTO "{_name(table)}" ({cols}) SELECT {cols} '
            f'FROM json_populate_recordset(NULL::"{_name(table)}", $1::json)',
            "[" + ",".join(rows) + "]",
        )

    async def count(self, table: str) -> int:
        return int(await self._conn.fetchval(f'SELECT COUNT(*) FROM "{_name(table)}"'))

    async def reset_sequences(self) -> None:
        """Every sequence owned by a column (serial ids: the event stream's, whatever its default
        calls) continues after the highest value loaded."""
        rows = await self._conn.fetch(
            "SELECT s.oid, t.relname, a.attname FROM pg_class s"
            " JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')"
            " JOIN pg_class t ON t.oid = d.refobjid"
            " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid"
            " WHERE s.relkind = 'S' AND t.relnamespace = current_schema()::regnamespace"
        )
        for seq, table, column in rows:
            await self._conn.execute(
                f'SELECT setval($1::oid, COALESCE((SELECT MAX("{_name(column)}") FROM "{_name(table)}"), 0) + 1, false)',
                seq,
            )


def _name(name: str) -> str:
    """A table or column name for a quoted identifier (names come from the catalog, never a client)."""
    if '"' in name or "\x00" in name:
        raise ValueError(f"unexpected identifier {name!r}")
    return name
