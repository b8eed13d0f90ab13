"""The limit checks of a decision must not read an account's whole history."""

from __future__ import annotations

import sqlalchemy as sa

from policy_service.storage import raw
from policy_service.storage.engine import make_engines, migrate

PARAMS = {"b_account": "a", "b_since_s": 0, "b_own": 0, "b_exclude": "", "b_day": "2026-01-01"}


def test_usage_figures_are_read_by_index_not_by_walking_history(db_url: str) -> None:
    write, read = make_engines(db_url)
    try:
        migrate(write)
        indexes = {ix["name"] for ix in sa.inspect(write).get_indexes("idempotency_records")}
        assert "ix_idem_account_status" in indexes
        if write.dialect.name != "sqlite":
            return  # the plan check below is SQLite's EXPLAIN QUERY PLAN
        usage = raw.Statements("sqlite").usage_all.sql
        with read.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + usage, PARAMS).all()
        details = [row[-1] for row in plan]
        # The in-flight sum searches (account_hash, status); without the index it searched
        # by account_hash alone and walked every record the account ever had.
        assert any("ix_idem_account_status" in d and "status=?" in d for d in details), details
        # The rate and the open orders come from the trigger-kept counts (migration 0003):
        # neither walks the account's records of the last minute nor its open orders.
        assert not any("ix_idem_account_time" in d for d in details), details
        assert not any(" open_orders " in f" {d} " for d in details), details
        assert any("rate_buckets" in d for d in details), details
        assert any("open_order_counts" in d for d in details), details
    finally:
        write.dispose()
        read.dispose()
