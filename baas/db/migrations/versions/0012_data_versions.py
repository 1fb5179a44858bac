"""Data versions for the query cache (docs/cache.md): ``_data_versions`` and the triggers that bump
a collection's version in every transaction that writes its table.

Collections created from now on get their triggers with their table (`baas.schema.ddl`); this
revision gives them to the tables that exist already. Views have no table of their own and no
triggers: statements that read one are never cached.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baas.db.tables import q
from baas.schema.ddl import VERSIONS_TABLE, data_version_sql, versions_table_sql
from baas.schema.model import Collection

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    for stmt in versions_table_sql(dialect):
        bind.exec_driver_sql(stmt)
    tables = set(sa.inspect(bind).get_table_names())
    rows = bind.execute(sa.text('SELECT "id", "name", "type" FROM "_collections"')).fetchall()
    for cid, name, ctype in rows:
        if ctype != "view" and name in tables:
            for stmt in data_version_sql(Collection(name=name, id=cid), dialect):
                bind.exec_driver_sql(stmt)


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text('SELECT "id", "name", "type" FROM "_collections"')).fetchall()
    for cid, name, ctype in rows:
        if ctype == "view":
            continue
        if bind.dialect.name == "postgresql":
            bind.exec_driver_sql(f'DROP TRIGGER IF EXISTS "_data_version" ON {q(name)}')
        else:
            for op_ in ("i", "u", "d"):
                bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {q(f'_dv_{cid}_{op_}')}")
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql('DROP FUNCTION IF EXISTS "baas_data_version"()')
    op.drop_table(VERSIONS_TABLE)
