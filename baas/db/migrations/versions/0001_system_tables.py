"""System tables: collections, schema history, params, the event stream.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def _serial() -> sa.types.TypeEngine[int]:
    # INTEGER PRIMARY KEY AUTOINCREMENT on SQLite, BIGSERIAL on PostgreSQL.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    false, empty = sa.text("FALSE"), sa.text("''")
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if {"_collections", "_schema_history", "_params", "_events"} <= existing:
        return  # a data dir made before migrations were tracked: adopt it as is
    op.create_table(
        "_collections",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), unique=True, nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("system", sa.Boolean(), nullable=False, server_default=false),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created", sa.Text(), nullable=False, server_default=empty),
        sa.Column("updated", sa.Text(), nullable=False, server_default=empty),
    )
    op.create_table(
        "_schema_history",
        sa.Column("id", _serial(), primary_key=True, autoincrement=True),
        sa.Column("applied", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("schema", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "_params",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated", sa.Text(), nullable=False, server_default=empty),
    )
    # The durable event stream: one row per record write, in the write's own transaction.
    op.create_table(
        "_events",
        sa.Column("id", _serial(), primary_key=True, autoincrement=True),
        sa.Column("collection_id", sa.Text(), nullable=False),
        sa.Column("collection", sa.Text(), nullable=False),
        sa.Column("record_id", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("created", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    for name in ("_events", "_params", "_schema_history", "_collections"):
        op.drop_table(name)
