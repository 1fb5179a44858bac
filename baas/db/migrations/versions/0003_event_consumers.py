"""Event stream: durable consumers' positions; on PostgreSQL, event ids taken after a transaction id.

``_event_consumers``: one row per named durable consumer (baas/events/consumer.py); ``position``
is the highest event id it has processed. Retention never deletes past the lowest live position.

PostgreSQL only: ``_events.id`` defaults to ``baas_next_event_id()``, which makes sure the
inserting transaction has a transaction id *before* it takes an event id. Readers rely on it to
tell an id that may still commit from one that never will (baas/events/stream.py): any
transaction holding an id then shows in every later snapshot until it ends.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "_event_consumers",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            server_default=sa.text("0"),
        ),
        sa.Column("updated", sa.Text(), nullable=False, server_default=sa.text("''")),
    )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    seq = bind.execute(sa.text("SELECT pg_get_serial_sequence('\"_events\"', 'id')")).scalar()
    op.execute(f"""
CREATE OR REPLACE FUNCTION baas_next_event_id() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  PERFORM txid_current();  -- a transaction id first, then the event id (see the docstring)
  RETURN nextval('{seq}');
END
$fn$""")
    op.execute('ALTER TABLE "_events" ALTER COLUMN "id" SET DEFAULT baas_next_event_id()')


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        seq = bind.execute(sa.text("SELECT pg_get_serial_sequence('\"_events\"', 'id')")).scalar()
        op.execute(f'ALTER TABLE "_events" ALTER COLUMN "id" SET DEFAULT nextval(\'{seq}\'::regclass)')
        op.execute("DROP FUNCTION IF EXISTS baas_next_event_id()")
    op.drop_table("_event_consumers")
