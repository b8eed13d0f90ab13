"""Scoped REDUCING (issue 18, item 2): a scope's pending loosening records the state it asks for.

A scope may now be OPEN, REDUCING or CLOSED. CLOSED -> REDUCING and REDUCING -> OPEN loosen it,
so both are guarded as the reopen was (VerifyAudit, a second operator): the request a second
operator confirms must say which of the two it is, or a confirmation could open a scope the
first operator only meant to let reduce. "" on a row from before means OPEN (the only target
there was).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite too): no batch copy of the table is needed for a new column.
    op.add_column(
        "scoped_stops",
        sa.Column("reopen_target", sa.String(8), nullable=False, server_default=""),
    )


def downgrade() -> None:
    # A REDUCING scope has no meaning before this revision: it goes back to CLOSED (never
    # looser than what the operator set).
    op.execute("UPDATE scoped_stops SET state = 'CLOSED' WHERE state = 'REDUCING'")
    op.drop_column("scoped_stops", "reopen_target")
