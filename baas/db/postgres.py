"""PostgreSQL driver on asyncpg: a connection pool, ``?`` placeholders rewritten to ``$n``."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

import asyncpg

from baas.db.base import Conn, Params, Row
from baas.errors import BadRequest

T = TypeVar("T")

# PostgreSQL cannot hold U+0000 in text or jsonb (SQLite can). Whatever path a NUL arrives by — a
# record id in the URL, a sign-in identity, a filter value — the bound parameter is refused here
# with a 400 instead of surfacing as a server error.
_TEXT_ERRORS = (asyncpg.exceptions.CharacterNotInRepertoireError, asyncpg.exceptions.UntranslatableCharacterError)


def _nul_refused() -> BadRequest:
    return BadRequest("Invalid value: text may not contain NUL (\\u0000) characters.")


@lru_cache(maxsize=4096)
def to_pg(sql: str) -> str:
    """Rewrite ``?`` placeholders to ``$1, $2, …`` (statement text holds no literals)."""
    n = 0

    def repl(_: re.Match[str]) -> str:
        nonlocal n
        n += 1
        return f"${n}"

    return re.sub(r"\?", repl, sql)


# The data versions asked for, and under "" the schema mark (the newest _schema_history id).
_VERSIONS = (
    'SELECT \'\', coalesce(max("id"), 0) FROM "_schema_history" UNION ALL '
    'SELECT "collection_id", sum("version") FROM "_data_versions" '
    'WHERE "collection_id" = ANY(?::text[]) GROUP BY "collection_id"'
)


class PgConn:
    """One pooled connection, inside a transaction when used by ``write``."""

    dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._c = conn

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            return [tuple(r) for r in await self._c.fetch(to_pg(sql), *params)]
        except _TEXT_ERRORS:
            raise _nul_refused() from None

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        try:
            row = await self._c.fetchrow(to_pg(sql), *params)
        except _TEXT_ERRORS:
            raise _nul_refused() from None
        return None if row is None else tuple(row)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        try:
            return await self._c.fetchval(to_pg(sql), *params)
        except _TEXT_ERRORS:
            raise _nul_refused() from None

    async def execute(self, sql: str, params: Params = ()) -> int:
        try:
            status = await self._c.execute(to_pg(sql), *params)
        except _TEXT_ERRORS:
            raise _nul_refused() from None
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def executescript(self, sql: str) -> None:
        await self._c.execute(sql)


class PostgresDatabase:
    """PostgreSQL behind the `Database` interface."""

    dialect = "postgresql"

    def __init__(self, url: str, *, max_size: int = 10, timeout: float = 30.0) -> None:
        self.url = url
        self.timeout = timeout
        self.max_size = max_size
        self.pool: asyncpg.Pool | None = None
        self.on_commit: Callable[[], None] | None = None  # called after each commit (the event bus)

    async def connect(self) -> None:
        self.pool = await asyncpg.create_pool(
            self.url,
            min_size=1,
            max_size=self.max_size,
            command_timeout=self.timeout,
            server_settings={"statement_timeout": str(int(self.timeout * 1000))},
        )

    def load(self) -> int:
        return 0 if self.pool is None else self.pool.get_size() - self.pool.get_idle_size()

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        assert self.pool is not None
        try:
            return [tuple(r) for r in await self.pool.fetch(to_pg(sql), *params)]
        except _TEXT_ERRORS:
            raise _nul_refused() from None

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        assert self.pool is not None
        try:
            row = await self.pool.fetchrow(to_pg(sql), *params)
        except _TEXT_ERRORS:
            raise _nul_refused() from None
        return None if row is None else tuple(row)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        assert self.pool is not None
        try:
            return await self.pool.fetchval(to_pg(sql), *params)
        except _TEXT_ERRORS:
            raise _nul_refused() from None

    async def data_versions(self, ids: Sequence[str]) -> dict[str, int] | None:
        """The data versions of the collections ``ids`` (``_data_versions``, see `baas.schema.ddl`),
        as committed now (a missing id: never written), and under ``""`` the schema mark; None
        where there is no such table."""
        try:
            rows = await self.fetch(_VERSIONS, [list(ids)])
        except asyncpg.exceptions.UndefinedTableError:
            return None
        return {r[0]: int(r[1]) for r in rows}

    async def schema_changed(self) -> None:
        """Drop pooled connections: their prepared statements know the old column types."""
        if self.pool is not None:
            await self.pool.expire_connections()

    async def columns(self, sql: str) -> list[str]:
        """The result column names of a SELECT (prepared, not run)."""
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            stmt = await conn.prepare(sql)
            return [a.name for a in stmt.get_attributes()]

    async def write(self, fn: Callable[[Conn], Awaitable[T]], *, heavy: bool = False) -> T:
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                result = await fn(PgConn(conn))
        if self.on_commit is not None:
            self.on_commit()
        return result
