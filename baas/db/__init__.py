"""Database access: one small interface, a SQLite and a PostgreSQL driver."""

from __future__ import annotations

from baas.db.base import Conn, Database, Params, Reads, Row
from baas.db.postgres import PostgresDatabase
from baas.db.sqlite import SqliteDatabase

__all__ = ["Conn", "Database", "Params", "Reads", "Row", "open_database"]


def open_database(url: str, *, readers: int = 4, timeout: float = 30.0) -> Database:
    """Build (not connect) the database for a URL: ``sqlite:///path`` or ``postgresql://…``."""
    if url.startswith(("postgres://", "postgresql://")):
        return PostgresDatabase(url, max_size=max(readers * 2, 4), timeout=timeout)
    if url.startswith("sqlite:///"):
        return SqliteDatabase(url[len("sqlite:///") :], readers=readers, timeout=timeout)
    raise ValueError(f"unsupported database URL: {url!r} (use sqlite:///path or postgresql://…)")
