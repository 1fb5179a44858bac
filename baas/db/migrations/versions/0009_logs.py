"""The request log (baas/logs, docs/logs.md) on PostgreSQL: one row per answered API request.

``_logs`` holds PocketBase's log shape: ``id``, ``created`` (UTC, format_dt), ``level`` (0 info,
4 a 4xx answer, 8 a 5xx) and ``data``, the request's details as JSONB (the API's ``message``,
``GET /api/...``, is made from them when read). Rows are written in
batches by each server process and deleted past the ``logs.maxDays`` setting. Backups leave this
table out: the log keeps its own retention.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    # On SQLite the log has a file of its own (<data dir>/logs.db, created by baas/logs/store.py):
    # its stream of writes would otherwise grow data.db's write-ahead log, which every read of the
    # records has to look through.
    if op.get_bind().dialect.name != "postgresql":
        return
    text = sa.Text()
    op.create_table(
        "_logs",
        sa.Column("id", text, primary_key=True),  # time-ordered: the insertion order and the retention cut
        sa.Column("created", text, nullable=False),
        sa.Column("level", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("data", pg.JSONB(), nullable=False, server_default=sa.text("'{}'")),
        if_not_exists=True,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_table("_logs")
