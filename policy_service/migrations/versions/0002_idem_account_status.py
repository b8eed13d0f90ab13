"""Index the in-flight records of an account.

The open-orders limit counts the new orders of an account's PENDING and UNKNOWN records on
every live write. With only (account_hash, created_at_us) indexed that walked every record the
account ever had, so each decision got slower as history grew; with (account_hash, status) it
reads only the few in flight.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_idem_account_status", "idempotency_records", ["account_hash", "status"])


def downgrade() -> None:
    op.drop_index("ix_idem_account_status", table_name="idempotency_records")
