"""Scheduled jobs created over the API or the console (baas/jobs/defs.py, docs/jobs.md).

``_jobs``: one row per API job; ``config`` is its options as JSON (the ``Job`` of
baas/schema/jobs.py). The jobs of baas.yaml are not stored here: every process reads them from the
file. Every scheduler reloads this table about once a second, so a change made through one worker
or node reaches all of them without a restart.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    text = sa.Text()
    empty = sa.text("''")
    # if_not_exists: a data dir taken back to an older revision by hand (tests do) keeps the table.
    op.create_table(
        "_jobs",
        sa.Column("name", text, primary_key=True),
        sa.Column("config", text, nullable=False),
        sa.Column("created", text, nullable=False, server_default=empty),  # UTC, format_dt
        sa.Column("updated", text, nullable=False, server_default=empty),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("_jobs")
