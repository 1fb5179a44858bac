"""Auth system tables: one-time passwords, MFA sessions, linked OAuth2 accounts, TOTP, API keys.

Kept as plain tables (not collections): only the auth endpoints read and write them.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    false, empty = sa.text("FALSE"), sa.text("''")
    # request-otp / auth-with-otp: the code is stored hashed, like a password.
    op.create_table(
        "_otps",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("collectionRef", sa.Text(), nullable=False),
        sa.Column("recordRef", sa.Text(), nullable=False),
        sa.Column("password", sa.Text(), nullable=False),
        sa.Column("sentTo", sa.Text(), nullable=False, server_default=empty),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("created", sa.Text(), nullable=False),
    )
    op.create_index("idx_otps_record", "_otps", ["collectionRef", "recordRef"])
    # A first factor passed: the second must name this id (mfaId) before it expires.
    op.create_table(
        "_mfas",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("collectionRef", sa.Text(), nullable=False),
        sa.Column("recordRef", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("created", sa.Text(), nullable=False),
    )
    op.create_index("idx_mfas_record", "_mfas", ["collectionRef", "recordRef"])
    # OAuth2 accounts linked to auth records: a provider account links to one record, and a record
    # links at most one account per provider (PocketBase's two unique indexes).
    op.create_table(
        "_externalAuths",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("collectionRef", sa.Text(), nullable=False),
        sa.Column("recordRef", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("providerId", sa.Text(), nullable=False),
        sa.Column("created", sa.Text(), nullable=False),
        sa.Column("updated", sa.Text(), nullable=False),
        sa.UniqueConstraint("collectionRef", "provider", "providerId", name="uq_externalauths_provider"),
    )
    op.create_index(
        "idx_externalauths_record", "_externalAuths", ["collectionRef", "recordRef", "provider"], unique=True
    )
    # TOTP enrolment per auth record (an extra MFA method PocketBase lacks). ``secret`` is sealed
    # (AES-GCM, key derived from the install secret); recovery codes are kept as keyed hashes;
    # ``lastStep`` is the last accepted time step (replay guard); ``attempts``/``lockedUntil``
    # bound guessing.
    op.create_table(
        "_totp",
        sa.Column("collectionRef", sa.Text(), primary_key=True),
        sa.Column("recordRef", sa.Text(), primary_key=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False, server_default=false),
        sa.Column("recoveryCodes", sa.Text(), nullable=False, server_default=sa.text("'[]'")),
        sa.Column("lastStep", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("lockedUntil", sa.Text(), nullable=False, server_default=empty),
        sa.Column("created", sa.Text(), nullable=False),
        sa.Column("updated", sa.Text(), nullable=False),
    )
    # API keys: only a hash is kept; the key is shown once on creation.
    op.create_table(
        "_apikeys",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False, unique=True),
        sa.Column("scopes", sa.Text(), nullable=False, server_default=sa.text("'[]'")),
        sa.Column("createdBy", sa.Text(), nullable=False, server_default=empty),
        sa.Column("created", sa.Text(), nullable=False),
        sa.Column("lastUsed", sa.Text(), nullable=False, server_default=empty),
        sa.Column("expires", sa.Text(), nullable=False, server_default=empty),
        sa.Column("revoked", sa.Boolean(), nullable=False, server_default=false),
    )


def downgrade() -> None:
    for name in ("_apikeys", "_totp", "_externalAuths", "_mfas", "_otps"):
        op.drop_table(name)
