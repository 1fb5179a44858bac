"""Fixtures for the rule tests: the dataset seeded into the backend under test."""

from __future__ import annotations

from typing import Any

import pytest

from baas.db.tables import create_table_sql
from tests.rules.dataset import COLLECTIONS, ROWS, record


async def seed(database: Any) -> None:
    """Create the dataset's tables and insert its rows with plain SQL."""
    dialect = database.dialect

    async def run(conn: Any) -> None:
        for coll in COLLECTIONS:
            for stmt in create_table_sql(coll, dialect):
                await conn.execute(stmt)
            for row in ROWS[coll.name]:
                rec = record(coll, row)
                cols = ["id"] + [f.name for f in coll.fields if f.name in rec]
                values = [rec["id"]] + [coll.field(c).to_db(coll.field(c).prepare(rec[c]), dialect) for c in cols[1:]]
                marks = ", ".join("?" for _ in cols)
                names = ", ".join(f'"{c}"' for c in cols)
                await conn.execute(f'INSERT INTO "{coll.name}" ({names}) VALUES ({marks})', values)

    await database.write(run)


@pytest.fixture
async def seeded(database: Any) -> Any:
    await seed(database)
    return database
