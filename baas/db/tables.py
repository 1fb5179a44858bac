"""SQL text helpers shared by every layer that writes SQL: identifier quoting and the
email lookup that matches auth collections' unique email index.

How a collection's fields map to columns, and the DDL for them, is the schema's business:
``baas/schema/ddl.py``.
"""

from __future__ import annotations


def q(name: str) -> str:
    """Quote an identifier (names are validated as ``[A-Za-z_][A-Za-z0-9_]*`` first)."""
    return '"' + name.replace('"', '""') + '"'


def contains_pattern(text: str) -> str:
    """A LIKE pattern (used with ``ESCAPE '\\'``) matching any value that contains ``text`` as it is:
    its ``\\``, ``%`` and ``_`` escaped."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def email_equals(dialect: str, alias: str = "") -> str:
    """``email = ?`` as auth collections' unique email index is built (case-insensitive, non-empty),
    so that sign-in and address lookups search that index instead of scanning the table."""
    col = f"{q(alias)}.{q('email')}" if alias else q("email")
    if dialect == "postgresql":
        return f"lower({col}) = lower(?) AND {col} != ''"
    return f"{col} = ? COLLATE NOCASE AND {col} != ''"  # NOCASE folds ASCII, as SQLite's lower()
