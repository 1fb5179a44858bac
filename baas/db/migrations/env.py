"""Alembic environment: runs on the connection handed over by `baas.db.migrate`."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection, target_metadata=None, version_table="_migrations", transaction_per_migration=False
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # Two nodes starting together: one migrates, the other waits and then finds nothing to do.
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(724311)")
    context.run_migrations()
