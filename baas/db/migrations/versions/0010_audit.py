"""The audit trail of personal-data operations (baas/gdpr, docs/gdpr.md): one row per export or
erase of a user's data.

``subject`` is never the user's id: it is an HMAC of ``<collection>:<id>`` under the install
secret, so the trail proves what happened to a given account (whoever knows the id can compute
it) without keeping an identifier that an erase must remove. ``actor`` is who asked
(``_superusers:<id>``, or ``self``), ``data`` the operation's counts as JSON.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    text = sa.Text()
    op.create_table(
        "_audit",
        sa.Column("id", text, primary_key=True),
        sa.Column("created", text, nullable=False),  # UTC, format_dt
        sa.Column("action", text, nullable=False),  # gdpr.export | gdpr.erase
        sa.Column("collection", text, nullable=False),
        sa.Column("subject", text, nullable=False),
        sa.Column("actor", text, nullable=False),
        sa.Column("data", text, nullable=False, server_default=sa.text("'{}'")),
        if_not_exists=True,
    )
    op.create_index("_audit_subject_idx", "_audit", ["subject"], if_not_exists=True)


def downgrade() -> None:
    op.drop_table("_audit")
