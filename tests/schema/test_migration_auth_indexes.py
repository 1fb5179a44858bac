"""Migration 0004 on a data dir made before it: auth collections without their system indexes
(or with the old case-sensitive email index) get them; duplicates stop it with a clear error."""

from __future__ import annotations

import json

import pytest

from baas.core import Engine
from baas.db import open_database
from baas.db.migrate import migrate
from baas.errors import SchemaError
from baas.schema.loader import dump_schema, load_schema_text
from baas.settings import Settings
from tests.harness import db_indexes

MEMBERS = "collections:\n  - name: members\n    type: auth\n    fields: [{name: nick, type: text}]\n"
OLD_USERS_EMAIL = "CREATE UNIQUE INDEX `idx_email_users` ON `users` (`email`) WHERE \"email\" != ''"


async def _make_old_data_dir(eng: Engine) -> None:
    """What a data dir looked like at revision 0003: members made with no indexes, users with
    a case-sensitive email index; records that share an address in different case."""
    await eng.apply(load_schema_text(MEMBERS).collections)

    async def run(conn) -> None:
        for name in ("idx_email_members", "idx_tokenKey_members", "idx_email_users"):
            await conn.execute(f'DROP INDEX IF EXISTS "{name}"')
        await conn.execute('CREATE UNIQUE INDEX "idx_email_users" ON "users" ("email") WHERE "email" != \'\'')
        for table, indexes in (("members", "[]"), ("users", None)):
            data = await conn.fetchval('SELECT "data" FROM "_collections" WHERE "name" = ?', [table])
            d = json.loads(data)
            d["indexes"] = [] if indexes == "[]" else [d["indexes"][0], OLD_USERS_EMAIL]
            await conn.execute('UPDATE "_collections" SET "data" = ? WHERE "name" = ?', [json.dumps(d), table])
        for rid, email, key in (
            ("m1", "bob@example.com", "k1"),
            ("m2", "Bob@Example.com", "k2"),
            ("m3", "carol@example.com", "k3"),
            ("u1", "dan@example.com", "k4"),
            ("u2", "DAN@example.com", "k5"),
        ):
            table = "members" if rid.startswith("m") else "users"
            await conn.execute(
                f'INSERT INTO "{table}" ("id", "email", "tokenKey", "password") VALUES (?, ?, ?, ?)',
                [rid, email, key, "x"],
            )
        # The tables of later revisions (0005 jobs, 0006 webhooks, 0007 inbound webhooks) were not there at 0003.
        for table in ("_job_runs", "_webhook_attempts", "_webhook_deliveries", "_webhooks", "_inbound_messages"):
            await conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        await conn.execute('UPDATE "_migrations" SET "version_num" = \'0003\'')

    await eng.db.write(run)


async def test_migration_adds_auth_indexes_and_names_duplicates(tmp_path, db_url) -> None:
    settings = Settings(data_dir=str(tmp_path), db_url=db_url)
    eng = Engine(settings)
    await eng.start()
    try:
        await _make_old_data_dir(eng)
    finally:
        await eng.stop()

    with pytest.raises(SchemaError) as info:
        await migrate(db_url)
    message = str(info.value)
    assert "'members': 1 email addresses (ignoring case) held by more than one record (records m1, m2)" in message
    assert "'users': 1 email addresses (ignoring case) held by more than one record (records u1, u2)" in message
    assert "example.com" not in message  # ids, never the addresses

    db = open_database(db_url)
    await db.connect()
    try:
        assert await db.fetchval('SELECT "version_num" FROM "_migrations"') == "0003"  # nothing changed
        await db.write(lambda c: c.execute('UPDATE "members" SET "email" = \'bob2@example.com\' WHERE "id" = \'m2\''))
        await db.write(lambda c: c.execute('DELETE FROM "users" WHERE "id" = \'u2\''))
    finally:
        await db.close()

    eng = Engine(settings)
    await eng.start()  # migrates to head
    try:
        assert {"idx_email_members", "idx_tokenKey_members"} <= await db_indexes(eng, "members")
        for name in ("members", "users"):
            coll = eng.registry.get(name)
            assert coll.indexes[:2] == [
                f"CREATE UNIQUE INDEX `idx_tokenKey_{name}` ON `{name}` (`tokenKey`)",
                f"CREATE UNIQUE INDEX `idx_email_{name}` ON `{name}` (`email` COLLATE NOCASE) WHERE `email` != ''",
            ]
        # What the migration stored is what the planner would make: nothing left to change.
        plan = await eng.plan(load_schema_text(dump_schema(eng.registry.all())).collections)
        assert plan.changes == [], plan.describe()
        source = await eng.db.fetchval('SELECT "source" FROM "_schema_history" ORDER BY "id" DESC LIMIT 1')
        assert source == "migration 0004"
        for table, email in (("members", "BOB@example.com"), ("users", "Dan@Example.com")):
            # The driver's IntegrityError type differs per backend.
            with pytest.raises(Exception):  # noqa: B017
                await eng.db.write(
                    lambda c, table=table, email=email: c.execute(
                        f'INSERT INTO "{table}" ("id", "email", "tokenKey", "password") VALUES (?, ?, ?, ?)',
                        ["zz", email, "k9", "x"],
                    )
                )
    finally:
        await eng.stop()
