"""Alembic environment: runs on the connection the service hands over in config.attributes."""

from __future__ import annotations

from alembic import context

from policy_service.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through policy_service.storage.engine.migrate()")
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
