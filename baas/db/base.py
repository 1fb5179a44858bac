"""The one small `Database` interface the engine runs its SQL on.

Every statement is written with ``?`` placeholders; the PostgreSQL driver rewrites them to
``$n`` once per statement text (values are always bound, never pasted, so a ``?`` can only be
a placeholder). Rows come back as tuples in select order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
Params = Sequence[Any]
Row = tuple[Any, ...]  # one result row, values in select order


class Reads(Protocol):
    """What a read needs: the database itself, or a write transaction's `Conn` (a read inside a
    write sees the transaction's own changes). `baas.records.query.Reader` takes either."""

    @property
    def dialect(self) -> str: ...  # "sqlite" | "postgresql"

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]: ...
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...
    async def fetchval(self, sql: str, params: Params = ()) -> Any: ...


class Conn(Reads, Protocol):
    """A connection inside one write transaction: what ``Database.write`` hands its job, and what
    the record-write path (`baas.records.write`) runs on. Implemented by `baas.db.sqlite.SqliteConn`
    and `baas.db.postgres.PgConn`."""

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def executescript(self, sql: str) -> None:
        """Run several ``;``-separated statements (DDL) inside the transaction."""
        ...


class Database(Reads, Protocol):
    """Reads run on a pool; writes run as ``write(fn)`` inside one transaction."""

    url: str
    on_commit: Callable[[], None] | None  # called after each write transaction commits (the event bus)

    async def connect(self) -> None: ...
    async def close(self) -> None: ...
    async def schema_changed(self) -> None:
        """Forget anything prepared against the old schema (called after DDL)."""
        ...

    async def columns(self, sql: str) -> list[str]:
        """The result column names of a SELECT."""
        ...

    async def data_versions(self, ids: Sequence[str]) -> dict[str, int] | None:
        """The committed data versions of collections, by id (at least ``ids``; an id never
        written may be missing: version 0), and under ``""`` the schema mark (the newest
        ``_schema_history`` id, 0 for none); None when the database keeps none."""
        ...

    def load(self) -> int:
        """Writes waiting now: SQLite's writer queue, or PostgreSQL's pool connections in use (a metric)."""
        ...

    async def write(self, fn: Callable[[Conn], Awaitable[T]], *, heavy: bool = False) -> T:
        """Run ``fn`` in a write transaction; commit if it returns, roll back if it raises.
        ``heavy`` marks long jobs (schema changes, bulk deletes) that must stay off the event loop."""
        ...
