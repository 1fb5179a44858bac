"""Scheduled jobs: one row per run (baas/jobs/).

``_job_runs``: a tick is claimed by inserting its (job, scheduled) row, which is unique, so one
process in the whole cluster runs it. ``heartbeat`` is refreshed by the process running it
(``owner``); a running row whose heartbeat is older than the lease belongs to a dead process and
is marked ``abandoned`` by the next scheduler that looks.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    text = sa.Text()
    op.create_table(
        "_job_runs",
        sa.Column("id", text, primary_key=True),
        sa.Column("job", text, nullable=False),
        sa.Column("scheduled", text, nullable=False),  # the tick, UTC, format_dt (manual runs: when asked)
        sa.Column("trigger", text, nullable=False, server_default=sa.text("'schedule'")),  # schedule | manual
        sa.Column("status", text, nullable=False),  # queued running success failed timeout skipped abandoned
        sa.Column("attempt", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("owner", text, nullable=False, server_default=sa.text("''")),
        sa.Column("started", text, nullable=False, server_default=sa.text("''")),
        sa.Column("finished", text, nullable=False, server_default=sa.text("''")),
        sa.Column("heartbeat", text, nullable=False, server_default=sa.text("''")),
        sa.Column("output", text, nullable=False, server_default=sa.text("''")),
        sa.Column("error", text, nullable=False, server_default=sa.text("''")),
        sa.UniqueConstraint("job", "scheduled", name="uq__job_runs_tick"),
    )
    op.create_index("idx__job_runs_status", "_job_runs", ["status", "heartbeat"])


def downgrade() -> None:
    op.drop_index("idx__job_runs_status", "_job_runs")
    op.drop_table("_job_runs")
