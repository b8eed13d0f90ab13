"""A reopen request's target state (issue 18, REDUCING): OPEN, or REDUCING from CLOSED.

Both loosen the kill switch, so both go through the guarded reopen; the request records which
state its confirmation applies. Rows from before this migration asked for OPEN.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "kill_switch_reopens",
        sa.Column("target_state", sa.String(16), nullable=False, server_default="OPEN"),
    )


def downgrade() -> None:
    with op.batch_alter_table("kill_switch_reopens") as batch:
        batch.drop_column("target_state")
