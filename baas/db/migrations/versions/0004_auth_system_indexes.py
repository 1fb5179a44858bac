"""Auth collections' system indexes: a unique ``tokenKey`` and a unique, case-insensitive ``email``.

Auth collections created from ``baas.yaml`` or ``POST /api/collections`` before this revision
had no such indexes (two sign-ups could take one address), and the default ones compared email
case-sensitively. This revision gives every auth collection its system indexes, in the table and
in the stored schema, exactly as the planner now keeps them.

When a table already holds the same address twice (ignoring case) or the same token key, no
index can be made: the upgrade stops, nothing is changed, and the error names the collection,
how many addresses are taken more than once and the ids of the records holding them (never the
addresses), so an operator can merge or change them and start again.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from baas.errors import SchemaError
from baas.ids import now_str
from baas.schema import defaults
from baas.schema.ddl import create_index_sql
from baas.schema.model import Index, index_sql, parse_index

revision = "0004"
down_revision = "0003"

_MAX_IDS = 50  # record ids listed per collection in the error


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _duplicates(bind: sa.Connection, table: str, column: str, fold: bool) -> tuple[int, list[str]]:
    """(how many values are held by more than one record, the ids of those records)."""
    key = f"lower({_q(column)})" if fold else _q(column)
    rows = bind.execute(
        sa.text(
            f"SELECT {_q('id')}, {key} FROM {_q(table)} WHERE {_q(column)} != '' AND {key} IN "
            f"(SELECT {key} FROM {_q(table)} WHERE {_q(column)} != '' GROUP BY {key} HAVING count(*) > 1) "
            f"ORDER BY 2, 1"
        )
    ).fetchall()
    return len({r[1] for r in rows}), [r[0] for r in rows]


def upgrade() -> None:
    # The schema package knows the canonical index text the planner compares against.
    bind = op.get_bind()
    dialect = bind.dialect.name
    tables = set(sa.inspect(bind).get_table_names())
    rows = bind.execute(
        sa.text('SELECT "id", "name", "type", "data" FROM "_collections" ORDER BY "created", "name"')
    ).fetchall()
    problems: list[str] = []
    updates: list[tuple[str, str, list[Index], list[Index]]] = []  # (id, name, old indexes, new indexes)
    for cid, name, ctype, data in rows:
        if ctype != "auth" or name not in tables:
            continue
        for column, fold, what in (
            ("email", True, "email addresses (ignoring case)"),
            ("tokenKey", False, "token keys"),
        ):
            count, ids = _duplicates(bind, name, column, fold)
            if count:
                shown = ", ".join(ids[:_MAX_IDS]) + (f" and {len(ids) - _MAX_IDS} more" if len(ids) > _MAX_IDS else "")
                problems.append(f"collection {name!r}: {count} {what} held by more than one record (records {shown})")
        old = [parse_index(i, name) for i in json.loads(data).get("indexes") or []]
        updates.append((cid, name, old, defaults.with_auth_indexes(name, old)))
    if problems:
        raise SchemaError(
            "Cannot add the unique email/tokenKey indexes of auth collections: "
            + "; ".join(problems)
            + ". Merge or change those records, then start again."
        )
    for cid, name, old, new in updates:
        wanted = {index_sql(name, i) for i in new}
        for i in old:
            if index_sql(name, i) not in wanted:
                bind.execute(sa.text(f"DROP INDEX IF EXISTS {_q(i.name)}"))
        for i in new[:2]:  # the system indexes: replace whatever carried their names before
            bind.execute(sa.text(f"DROP INDEX IF EXISTS {_q(i.name)}"))
            bind.execute(sa.text(create_index_sql(name, i, dialect)))
        data = json.loads(
            bind.execute(sa.text('SELECT "data" FROM "_collections" WHERE "id" = :id'), {"id": cid}).scalar_one()
        )
        data["indexes"] = [index_sql(name, i) for i in new]
        bind.execute(
            sa.text('UPDATE "_collections" SET "data" = :data WHERE "id" = :id'),
            {"data": json.dumps(data, separators=(",", ":"), ensure_ascii=False), "id": cid},
        )
    if updates:
        # A schema history entry, so running processes reload the collections (their watch).
        schema = [
            json.loads(r[0])
            for r in bind.execute(sa.text('SELECT "data" FROM "_collections" ORDER BY "created", "name"')).fetchall()
        ]
        bind.execute(
            sa.text(
                'INSERT INTO "_schema_history" ("applied", "source", "changes", "schema") '
                "VALUES (:applied, 'migration 0004', :changes, :schema)"
            ),
            {
                "applied": _now(),
                "changes": json.dumps([f"~ {u[1]}: indexes (auth system indexes)" for u in updates]),
                "schema": json.dumps(schema, separators=(",", ":"), ensure_ascii=False),
            },
        )


def _now() -> str:
    return now_str()


def downgrade() -> None:
    """Nothing to undo: the indexes are part of what an auth collection is."""
