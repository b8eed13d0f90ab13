"""Dead-man leases (issue 18, item 6): one row per upstream principal that opted in.

A principal renews its lease (RenewLease); a lease not renewed by expires_at_us lapses, and one
policy replica claims it (claimed_by, claimed_at_us: a compare-and-set, so two replicas never
both act; a claim not refreshed within dead_man.claim_stale_s is taken over), closes the
principal's scope (scope_closed_at_us), cancels the orders livegate placed for it (attempts
counts the tries) and marks it done (stopped_at_us). Shared by every replica.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "principal_leases",
        sa.Column("principal", sa.String(128), primary_key=True),
        sa.Column("ttl_s", sa.Float, nullable=False),
        sa.Column("started_at_us", sa.BigInteger, nullable=False),
        sa.Column("renewed_at_us", sa.BigInteger, nullable=False),
        sa.Column("expires_at_us", sa.BigInteger, nullable=False),
        sa.Column("released_at_us", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("claimed_by", sa.String(128), nullable=False, server_default=""),
        sa.Column("claimed_at_us", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("scope_closed_at_us", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("stopped_at_us", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lapse_request_id", sa.String(64), nullable=False, server_default=""),
    )
    # The watch's look every second: the leases still watched, by expiry.
    op.create_index(
        "ix_principal_leases_watch", "principal_leases", ["stopped_at_us", "expires_at_us"]
    )


def downgrade() -> None:
    op.drop_index("ix_principal_leases_watch", table_name="principal_leases")
    op.drop_table("principal_leases")
