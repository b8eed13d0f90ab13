"""The audit trail against someone who can write the database: keyed links, append-only rows.

Events get the id of the key that linked them (HMAC-SHA256; "" for the events linked with plain
sha256 before, which stay verifiable as they are: the service closes that legacy segment with a
rotation event naming its last link before it appends anything). Purges are recorded in their
own table, and triggers (plus, on PostgreSQL, one SECURITY DEFINER purge function and revoked
privileges) make the audit tables append-only. The grants to the service's own role follow at
head, in the same step (`livegate-policy-db migrate --app-role ROLE`, run by the tables' owner);
this migration itself runs whether or not the connecting role is the one the service will use.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from policy_service.storage import append_only

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "audit_events", sa.Column("key_id", sa.String(32), nullable=False, server_default="")
    )
    op.add_column(
        "audit_head", sa.Column("key_id", sa.String(32), nullable=False, server_default="")
    )
    op.add_column(
        "audit_exports",
        sa.Column("manifest_sha256", sa.String(64), nullable=False, server_default=""),
    )
    op.create_table(
        "audit_purges",
        sa.Column("purge_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("through_event_id", sa.BigInteger, nullable=False),
        sa.Column("through_hash", sa.String(64), nullable=False),
        sa.Column("export_id", sa.String(64), nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("purged_at_us", sa.BigInteger, nullable=False),
    )
    bind = op.get_bind()
    # A legacy purge moved the pointer without a record: record it, or no delete below it
    # would ever be explained to the triggers (the events are gone already).
    op.execute(
        "INSERT INTO audit_purges (through_event_id, through_hash, export_id, manifest_sha256, "
        "purged_at_us) SELECT purged_through_event_id, purged_through_hash, '', '', 0 "
        "FROM audit_head WHERE purged_through_event_id > 0"
    )
    if bind.dialect.name == "postgresql":
        schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
        statements = append_only.postgres(schema)
    else:
        statements = append_only.SQLITE
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table, trigger in (
            ("audit_events", "trg_audit_events_append_only"),
            ("audit_head", "trg_audit_head_purge_pointer"),
            ("audit_head", "trg_audit_head_no_delete"),
            ("audit_purges", "trg_audit_purges_append_only"),
            ("audit_exports", "trg_audit_exports_append_only"),
            *[
                (t, f"trg_{t}_no_truncate")
                for t in ("audit_events", "audit_head", "audit_purges", "audit_exports")
            ],
        ):
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
        op.execute(f"DROP FUNCTION {append_only.PURGE_FUNCTION}")
        op.execute("DROP FUNCTION livegate_audit_head_guard()")
        op.execute("DROP FUNCTION livegate_audit_refuse()")
    else:
        for name in bind.execute(
            sa.text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'trg_audit%'"
            )
        ).scalars():
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("audit_purges")
    op.drop_column("audit_exports", "manifest_sha256")
    op.drop_column("audit_head", "key_id")
    op.drop_column("audit_events", "key_id")
