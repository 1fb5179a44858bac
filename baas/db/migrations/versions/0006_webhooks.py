"""Outgoing webhooks (baas/webhooks/, docs/webhooks.md).

``_webhooks``: every webhook, declared in baas.yaml (``source`` yaml, synced at start) or created
over the API (``source`` api); ``config`` is its options as JSON (secrets included: they sign).
``enabled`` and ``failures`` (consecutive failed attempts) are shared by every process.

``_webhook_deliveries``: one row per (webhook, event) — the fan-out of the event stream, written in
the same transaction as the dispatcher's consumer position — plus test sends and replays. ``id`` is
the ``webhook-id`` header of every attempt. ``record_key``/``seq`` order the deliveries of one
record; ``state``: pending, sending (claimed until ``lease_until``), delivered, dead.

``_webhook_attempts``: the delivery log, one row per finished attempt.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    text = sa.Text()
    empty = sa.text("''")
    zero = sa.text("0")
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "_webhooks",
        sa.Column("name", text, primary_key=True),
        sa.Column("source", text, nullable=False),  # yaml | api
        sa.Column("config", text, nullable=False),
        sa.Column("enabled", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("failures", sa.Integer(), nullable=False, server_default=zero),
        sa.Column("disabled_reason", text, nullable=False, server_default=empty),
        sa.Column("created", text, nullable=False, server_default=empty),
        sa.Column("updated", text, nullable=False, server_default=empty),
    )
    op.create_table(
        "_webhook_deliveries",
        sa.Column("id", text, primary_key=True),
        sa.Column("webhook", text, nullable=False),
        sa.Column("origin", text, nullable=False),  # event | replay | test
        sa.Column("event_id", big, nullable=False, server_default=zero),
        sa.Column("seq", big, nullable=False, server_default=zero),
        sa.Column("record_key", text, nullable=False, server_default=empty),  # '' = unordered
        sa.Column("type", text, nullable=False),
        sa.Column("payload", text, nullable=False),
        sa.Column("state", text, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=zero),
        sa.Column("next_attempt", text, nullable=False, server_default=empty),
        sa.Column("lease_until", text, nullable=False, server_default=empty),
        sa.Column("owner", text, nullable=False, server_default=empty),
        sa.Column("last_status", sa.Integer(), nullable=False, server_default=zero),
        sa.Column("last_error", text, nullable=False, server_default=empty),
        sa.Column("replay_of", text, nullable=False, server_default=empty),
        sa.Column("created", text, nullable=False),
        sa.Column("updated", text, nullable=False),
    )
    op.create_index("idx__webhook_deliveries_due", "_webhook_deliveries", ["state", "next_attempt"])
    op.create_index("idx__webhook_deliveries_order", "_webhook_deliveries", ["webhook", "record_key", "seq"])
    op.create_index("idx__webhook_deliveries_log", "_webhook_deliveries", ["webhook", "created"])
    # One delivery per (webhook, event) from the fan-out, however many processes race to write it.
    op.create_index(
        "uq__webhook_deliveries_event",
        "_webhook_deliveries",
        ["webhook", "event_id"],
        unique=True,
        sqlite_where=sa.text("origin = 'event'"),
        postgresql_where=sa.text("origin = 'event'"),
    )
    op.create_table(
        "_webhook_attempts",
        sa.Column("id", text, primary_key=True),
        sa.Column("delivery", text, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started", text, nullable=False),
        sa.Column("status", sa.Integer(), nullable=False, server_default=zero),
        sa.Column("latency_ms", sa.Float(), nullable=False, server_default=zero),
        sa.Column("response", text, nullable=False, server_default=empty),
        sa.Column("error", text, nullable=False, server_default=empty),
    )
    op.create_index("idx__webhook_attempts_delivery", "_webhook_attempts", ["delivery", "attempt"])


def downgrade() -> None:
    op.drop_table("_webhook_attempts")
    op.drop_index("uq__webhook_deliveries_event", "_webhook_deliveries")
    op.drop_index("idx__webhook_deliveries_log", "_webhook_deliveries")
    op.drop_index("idx__webhook_deliveries_order", "_webhook_deliveries")
    op.drop_index("idx__webhook_deliveries_due", "_webhook_deliveries")
    op.drop_table("_webhook_deliveries")
    op.drop_table("_webhooks")
