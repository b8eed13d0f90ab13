"""Approvals die with a close: a revocation time, and an index to find the unexpired ones.

An approval granted before a kill-switch close used to work again after the reopen, so a
caller could send, after an incident, what was approved before it. A close now revokes every
approval outstanding, in its own transaction; the expiry index keeps that a short range scan
(approvals live minutes), whatever the table's history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("approvals", sa.Column("revoked_at_us", sa.BigInteger, nullable=True))
    op.create_index("ix_approvals_expires", "approvals", ["expires_at_us"])


def downgrade() -> None:
    op.drop_index("ix_approvals_expires", table_name="approvals")
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("revoked_at_us")
