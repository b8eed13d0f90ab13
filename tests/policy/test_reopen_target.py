"""Migration 0012: a reopen request's target state, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from policy_service.domain import model as m
from policy_service.domain.audit_chain import ChainKeeper
from policy_service.domain.audit_keys import new_keyring
from policy_service.storage.engine import MIGRATIONS_DIR, make_engines, migrate
from policy_service.storage.store import SqlStore

_INSERT = sa.text(
    "INSERT INTO kill_switch_reopens (reopen_id, requested_by, reason, request_id, "
    "requested_at_us, expires_at_us, switch_version, state, resolved_by) "
    "VALUES ('r-old', 'alice', 'all clear', 'rid', 1, 2, 3, 'PENDING', '')"
)


def test_migration_when_a_reopen_was_pending_before_it_then_it_targets_open_and_downgrades(
    db_url: str,
) -> None:
    write, read = make_engines(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with write.connect() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0009")
            conn.execute(_INSERT)
            conn.commit()
        migrate(write)
        store = SqlStore(write, read, ChainKeeper(new_keyring()))
        pending = store.pending_reopen()
        assert pending is not None and pending.reopen_id == "r-old"
        assert pending.target is m.SwitchState.OPEN
        store.close()
        with write.connect() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0009")
            conn.commit()
            columns = {c["name"] for c in sa.inspect(conn).get_columns("kill_switch_reopens")}
        assert "target_state" not in columns
        migrate(write)  # and up again
    finally:
        write.dispose()
        if read is not write:
            read.dispose()
