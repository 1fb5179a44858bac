"""Inbound webhooks: the message ids already received, for replay protection (baas/functions/inbound.py).

``_inbound_messages``: one row per (webhook, message id). ``state`` is ``processing`` while the
function runs (until ``lease``, after which a retry may take it over: the process died) and
``done`` once it returned; only ``done`` makes a delivery a duplicate. Rows of a failed call are
deleted, so the sender's retry runs. Old rows are pruned after the replay window. (Changed in place
before release: 0007 had not shipped.)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    text = sa.Text()
    op.create_table(
        "_inbound_messages",
        sa.Column("webhook", text, nullable=False),
        sa.Column("message_id", text, nullable=False),
        sa.Column("received", text, nullable=False),  # UTC, format_dt
        sa.Column("state", text, nullable=False),  # processing | done
        sa.Column("lease", text, nullable=False),  # UTC, format_dt: a processing claim is stale after it
        sa.PrimaryKeyConstraint("webhook", "message_id", name="pk__inbound_messages"),
    )
    op.create_index("idx__inbound_messages_received", "_inbound_messages", ["received"])


def downgrade() -> None:
    op.drop_index("idx__inbound_messages_received", "_inbound_messages")
    op.drop_table("_inbound_messages")
