"""Push notifications (baas/push, docs/push.md): the devices users registered, their preferences,
and the delivery log that is also the outbox.

``_push_subscriptions``: one row per device (a browser's Web Push subscription, or a provider
plugin's token), owned by an auth record (``collectionRef``/``recordRef``, removed with it).
``endpoint`` is unique per provider: a browser that re-subscribes after another user signs in
moves its subscription to that user. ``keys`` is JSON (Web Push: ``p256dh`` and ``auth``).

``_push_preferences``: a user's opt-out (``enabled`` 0) and muted topics (JSON list).

``_push_deliveries``: one row per message and subscription, written in the transaction that
accepts the message (``notify``), claimed and sent by the server processes like webhook
deliveries; final states stay as the delivery log until pruned.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    text, integer = sa.Text(), sa.Integer()
    op.create_table(
        "_push_subscriptions",
        sa.Column("id", text, primary_key=True),
        sa.Column("collectionRef", text, nullable=False),
        sa.Column("recordRef", text, nullable=False),
        sa.Column("provider", text, nullable=False),
        sa.Column("endpoint", text, nullable=False),
        sa.Column("keys", text, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("label", text, nullable=False, server_default=sa.text("''")),
        sa.Column("expires", text, nullable=False, server_default=sa.text("''")),
        sa.Column("lastSent", text, nullable=False, server_default=sa.text("''")),
        sa.Column("created", text, nullable=False),
        sa.Column("updated", text, nullable=False),
        if_not_exists=True,
    )
    op.create_index(
        "_push_subscriptions_endpoint_idx",
        "_push_subscriptions",
        ["provider", "endpoint"],
        unique=True,
        if_not_exists=True,
    )
    op.create_index(
        "_push_subscriptions_owner_idx", "_push_subscriptions", ["collectionRef", "recordRef"], if_not_exists=True
    )
    op.create_table(
        "_push_preferences",
        sa.Column("collectionRef", text, primary_key=True),
        sa.Column("recordRef", text, primary_key=True),
        sa.Column("enabled", integer, nullable=False, server_default=sa.text("1")),
        sa.Column("muted", text, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("updated", text, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "_push_deliveries",
        sa.Column("id", text, primary_key=True),
        sa.Column("message", text, nullable=False),
        sa.Column("subscription", text, nullable=False),
        sa.Column("collectionRef", text, nullable=False),
        sa.Column("recordRef", text, nullable=False),
        sa.Column("provider", text, nullable=False),
        sa.Column("topic", text, nullable=False, server_default=sa.text("''")),
        sa.Column("collapse", text, nullable=False, server_default=sa.text("''")),  # Web Push's Topic header
        sa.Column("payload", text, nullable=False),
        sa.Column("ttl", integer, nullable=False),
        sa.Column("urgency", text, nullable=False),
        sa.Column("state", text, nullable=False),  # pending | sending | delivered | expired | failed
        sa.Column("attempts", integer, nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt", text, nullable=False),
        sa.Column("lease_until", text, nullable=False, server_default=sa.text("''")),
        sa.Column("owner", text, nullable=False, server_default=sa.text("''")),
        sa.Column("last_status", integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", text, nullable=False, server_default=sa.text("''")),
        sa.Column("created", text, nullable=False),
        sa.Column("updated", text, nullable=False),
        if_not_exists=True,
    )
    op.create_index("_push_deliveries_due_idx", "_push_deliveries", ["state", "next_attempt"], if_not_exists=True)
    op.create_index("_push_deliveries_message_idx", "_push_deliveries", ["message"], if_not_exists=True)
    op.create_index(
        "_push_deliveries_owner_idx", "_push_deliveries", ["collectionRef", "recordRef"], if_not_exists=True
    )


def downgrade() -> None:
    op.drop_table("_push_deliveries")
    op.drop_table("_push_preferences")
    op.drop_table("_push_subscriptions")
