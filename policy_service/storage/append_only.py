# ruff: noqa: S608  (the only names formatted in are the schema and role, quoted as identifiers)
"""The audit tables append-only at the database: triggers, the one purge function, grants.

Set up by migration 0004. On PostgreSQL the service's role as deployed does not own the tables:
it may INSERT and SELECT audit rows, move the chain head's last event (column grant), and purge
only through livegate_audit_purge(), a SECURITY DEFINER function that checks retention by the
database's clock and a verified export's manifest digest, records the purge, and is the only
path the delete trigger lets through. Triggers refuse UPDATE, DELETE and TRUNCATE to everybody
else, the owner included (an owner or superuser can still drop them: the keyed chain and the
anchors outside the database are what catch that).
"""

from __future__ import annotations

import re
from typing import Final

from sqlalchemy import Connection, text

from policy_service.storage import tables

# Seven years: the same floor as the service's config (policy_service.config), enforced again
# here so that a purge with a smaller retention cannot run even by calling the function.
MIN_RETENTION_DAYS: Final = 2555
PURGE_FUNCTION: Final = "livegate_audit_purge(bigint, text, text, text, bigint, integer)"
# Transaction-local setting the purge function sets for its own DELETE and head update.
_PURGE_SETTING: Final = "livegate.audit_purge_through"

_ROLE_RE: Final = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_REFUSE = "AUDIT_APPEND_ONLY: audit rows are never updated or deleted outside a recorded purge"

SQLITE: Final = (
    f"""CREATE TRIGGER trg_audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END""",
    f"""CREATE TRIGGER trg_audit_events_no_delete BEFORE DELETE ON audit_events
    WHEN OLD.event_id > (SELECT coalesce(max(through_event_id), 0) FROM audit_purges)
    BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END""",
    f"""CREATE TRIGGER trg_audit_head_purge_pointer
    BEFORE UPDATE OF purged_through_event_id, purged_through_hash ON audit_head
    WHEN NEW.purged_through_event_id != OLD.purged_through_event_id
      AND NEW.purged_through_event_id != (SELECT coalesce(max(through_event_id), 0)
                                           FROM audit_purges)
    BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END""",
    *(
        f"""CREATE TRIGGER trg_{table}_no_{op.lower()} BEFORE {op} ON {table}
        BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"""
        for table in ("audit_purges", "audit_exports")
        for op in ("UPDATE", "DELETE")
    ),
    "CREATE TRIGGER trg_audit_head_no_delete BEFORE DELETE ON audit_head "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END",
)


def _purge_through() -> str:
    return f"coalesce(nullif(current_setting('{_PURGE_SETTING}', true), '')::bigint, -1)"


def postgres(schema: str) -> tuple[str, ...]:
    """The functions and triggers, with SCHEMA pinned into the SECURITY DEFINER's search path."""
    path = f'"{schema}", pg_temp'
    return (
        f"""CREATE FUNCTION livegate_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_events' THEN
                IF OLD.event_id <= {_purge_through()} THEN
                    RETURN OLD;
                END IF;
            END IF;
            RAISE EXCEPTION '{_REFUSE} (% on %)', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END $$""",
        f"""CREATE FUNCTION livegate_audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (NEW.purged_through_event_id, NEW.purged_through_hash)
               IS DISTINCT FROM (OLD.purged_through_event_id, OLD.purged_through_hash)
               AND NEW.purged_through_event_id <> {_purge_through()} THEN
                RAISE EXCEPTION '{_REFUSE} (purge pointer)'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END $$""",
        """CREATE TRIGGER trg_audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION livegate_audit_refuse()""",
        """CREATE TRIGGER trg_audit_head_purge_pointer
        BEFORE UPDATE OF purged_through_event_id, purged_through_hash ON audit_head
        FOR EACH ROW EXECUTE FUNCTION livegate_audit_head_guard()""",
        *(
            f"""CREATE TRIGGER trg_{table}_append_only BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION livegate_audit_refuse()"""
            for table in ("audit_purges", "audit_exports")
        ),
        *(
            f"""CREATE TRIGGER trg_{table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION livegate_audit_refuse()"""
            for table in ("audit_events", "audit_head", "audit_purges", "audit_exports")
        ),
        """CREATE TRIGGER trg_audit_head_no_delete BEFORE DELETE ON audit_head
        FOR EACH ROW EXECUTE FUNCTION livegate_audit_refuse()""",
        f"""CREATE FUNCTION livegate_audit_purge(
            p_through bigint, p_through_hash text, p_export_id text, p_manifest_sha256 text,
            p_purged_at_us bigint, p_retention_days integer
        ) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = {path} AS $$
        DECLARE
            v_start bigint;
            v_count bigint;
            v_cutoff bigint := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
                - greatest(p_retention_days, {MIN_RETENTION_DAYS})::bigint * 86400000000;
        BEGIN
            SELECT purged_through_event_id INTO v_start FROM audit_head WHERE id = 1 FOR UPDATE;
            IF p_through <= v_start THEN
                RETURN 0;
            END IF;
            IF NOT EXISTS (SELECT 1 FROM audit_events
                           WHERE event_id = p_through AND hash = p_through_hash) THEN
                RAISE EXCEPTION 'AUDIT_PURGE_POINT_UNKNOWN' USING ERRCODE = 'check_violation';
            END IF;
            IF EXISTS (SELECT 1 FROM audit_events WHERE event_id > v_start
                       AND event_id <= p_through AND occurred_at_us >= v_cutoff) THEN
                RAISE EXCEPTION 'AUDIT_RETENTION_NOT_REACHED' USING ERRCODE = 'check_violation';
            END IF;
            IF NOT EXISTS (SELECT 1 FROM audit_exports WHERE export_id = p_export_id
                           AND verified AND manifest_sha256 = p_manifest_sha256
                           AND first_event_id <= v_start + 1 AND last_event_id >= p_through) THEN
                RAISE EXCEPTION 'AUDIT_EXPORT_REQUIRED' USING ERRCODE = 'check_violation';
            END IF;
            INSERT INTO audit_purges
                (through_event_id, through_hash, export_id, manifest_sha256, purged_at_us)
            VALUES (p_through, p_through_hash, p_export_id, p_manifest_sha256, p_purged_at_us);
            PERFORM set_config('{_PURGE_SETTING}', p_through::text, true);
            DELETE FROM audit_events WHERE event_id > v_start AND event_id <= p_through;
            GET DIAGNOSTICS v_count = ROW_COUNT;
            UPDATE audit_head SET purged_through_event_id = p_through,
                                  purged_through_hash = p_through_hash
            WHERE id = 1;
            PERFORM set_config('{_PURGE_SETTING}', '', true);
            RETURN v_count;
        END $$""",
        f"REVOKE ALL ON FUNCTION {PURGE_FUNCTION} FROM PUBLIC",
        # Nobody but the owner (and whom grant_app_role names) may touch the audit rows.
        "REVOKE ALL ON audit_events, audit_head, audit_purges, audit_exports FROM PUBLIC",
    )


# Tables the service changes freely (its working state): every table but the audit ones, so a
# table a later migration adds is granted too instead of failing on PostgreSQL as deployed.
_WORKING_TABLES: Final = tuple(
    sorted(name for name in tables.metadata.tables if not name.startswith("audit_"))
)


def grant_app_role(conn: Connection, role: str) -> None:
    """What the service's own database role may do, as deployed (a DBA runs this as owner)."""
    if not _ROLE_RE.match(role):
        raise ValueError(f"not a plain role name: {role!r}")
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    q = f'"{role}"'
    for statement in (
        f'GRANT USAGE ON SCHEMA "{schema}" TO {q}',
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(_WORKING_TABLES)} TO {q}",
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {q}',
        f"GRANT SELECT ON alembic_version TO {q}",
        f"REVOKE ALL ON audit_events, audit_head, audit_purges, audit_exports FROM {q}",
        f"GRANT SELECT, INSERT ON audit_events, audit_exports TO {q}",
        f"GRANT SELECT ON audit_purges TO {q}",
        # The head's last event moves with every append; its purge pointer only by the purge.
        f"GRANT SELECT, UPDATE (last_event_id, last_hash, key_id) ON audit_head TO {q}",
        f"GRANT EXECUTE ON FUNCTION {PURGE_FUNCTION} TO {q}",
    ):
        conn.execute(text(statement))
