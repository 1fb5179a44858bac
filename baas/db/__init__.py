"""Database access: one small interface, a SQLite and a PostgreSQL driver."""

from baas.db.base import Conn, Database, open_database

__all__ = ["Conn", "Database", "open_database"]
