"""Append-only at the database: the service's own role cannot change or remove audit rows;
only the recorded purge path can remove them, and only what retention and an export allow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from livegate_api.v1 import policy_pb2
from tests.policy.fake_writer import RunningFakeWriter
from tests.policy.harness import FakeClock, Harness, built
from tests.support.postgres import DeployedDatabase, PostgresCluster

EIGHT_YEARS_S = 8 * 365 * 86400
REFUSED_BY_ROLE = (
    "UPDATE audit_events SET reason = 'X' WHERE event_id = 1",
    "DELETE FROM audit_events WHERE event_id = 1",
    "TRUNCATE audit_events",
    "UPDATE audit_head SET purged_through_event_id = 1 WHERE id = 1",
    "INSERT INTO audit_purges (through_event_id, through_hash, export_id, manifest_sha256, "
    "purged_at_us) VALUES (5, '', '', '', 0)",
    "UPDATE audit_exports SET verified = true",
    "DELETE FROM audit_exports",
)


@pytest.fixture()
def deployed(pg: PostgresCluster) -> DeployedDatabase:
    # As the runbook has the DBA do it: `livegate-policy-db migrate --app-role ...` as owner.
    return pg.create_deployed_database(via_cli=True)


@pytest.fixture()
def service_as_app_role(
    dev_pki: Path, tmp_path: Path, writer: RunningFakeWriter, deployed: DeployedDatabase
) -> Iterator[Harness]:
    """The policy service connecting as its own role, which owns nothing (as deployed)."""
    clock = FakeClock(offset_s=-EIGHT_YEARS_S)
    with built(dev_pki, tmp_path / "p", writer, deployed.app_url, clock=clock) as h:
        h.open_switch()
        # The broker's trading sessions are those of the service's (moved) day.
        writer.servicer.state.reference.today_offset_s = -EIGHT_YEARS_S
        h.submit(*h.approved())
        clock.advance(EIGHT_YEARS_S)
        yield h


def _try(url: str, statement: str) -> str:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement))
    except DBAPIError as exc:
        return str(exc.orig).splitlines()[0]
    finally:
        engine.dispose()
    return ""


@pytest.mark.parametrize("statement", REFUSED_BY_ROLE)
def test_sql_when_service_role_changes_audit_rows_then_permission_denied(
    service_as_app_role: Harness, deployed: DeployedDatabase, statement: str
) -> None:
    error = _try(deployed.app_url, statement)
    assert "permission denied" in error, error


@pytest.mark.parametrize("statement", REFUSED_BY_ROLE[:4])
def test_sql_when_owner_changes_audit_rows_then_the_triggers_refuse(
    service_as_app_role: Harness, deployed: DeployedDatabase, statement: str
) -> None:
    error = _try(deployed.owner_url, statement)
    assert "AUDIT_APPEND_ONLY" in error, error


def test_sql_when_service_role_calls_the_purge_function_without_an_export_then_refused(
    service_as_app_role: Harness, deployed: DeployedDatabase
) -> None:
    link = service_as_app_role.rows("audit_events")[4]["hash"]
    error = _try(
        deployed.app_url,
        f"SELECT livegate_audit_purge(5, '{link}', 'none', '', 0, 2555)",
    )
    assert "AUDIT_EXPORT_REQUIRED" in error, error
    assert service_as_app_role.count("audit_events") == 7


def test_purge_when_service_role_purges_past_retention_with_export_then_only_that_goes(
    service_as_app_role: Harness, deployed: DeployedDatabase
) -> None:
    h = service_as_app_role
    h.operator.ExportAudit(policy_pb2.ExportAuditRequest())
    purged = h.operator.PurgeAudit(policy_pb2.PurgeAuditRequest())
    assert (purged.purged_count, purged.purged_through_event_id) == (7, 7)
    assert [p["through_event_id"] for p in h.rows("audit_purges")] == [7]
    res = h.approver.VerifyAudit(policy_pb2.VerifyAuditRequest())
    assert res.chain_state == policy_pb2.AUDIT_CHAIN_STATE_INTACT, res
    # Past the recorded purge the owner cannot delete either: the trigger holds.
    assert "AUDIT_APPEND_ONLY" in _try(deployed.owner_url, "DELETE FROM audit_events")


def test_grants_when_deployed_then_service_role_holds_exactly_insert_and_select_on_audit(
    service_as_app_role: Harness, deployed: DeployedDatabase
) -> None:
    engine = sa.create_engine(deployed.superuser_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
                "WHERE grantee = :r AND table_name LIKE 'audit%'"
            ),
            {"r": deployed.app_role},
        ).all()
        columns = conn.execute(
            sa.text(
                "SELECT column_name FROM information_schema.column_privileges WHERE grantee = :r "
                "AND table_name = 'audit_head' AND privilege_type = 'UPDATE'"
            ),
            {"r": deployed.app_role},
        ).scalars()
        head_columns = sorted(columns)
    engine.dispose()
    grants = sorted((t, p) for t, p in rows)
    assert grants == [
        ("audit_events", "INSERT"),
        ("audit_events", "SELECT"),
        ("audit_exports", "INSERT"),
        ("audit_exports", "SELECT"),
        ("audit_head", "SELECT"),
        ("audit_purges", "SELECT"),
    ]
    assert head_columns == ["key_id", "last_event_id", "last_hash"]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET reason = 'X' WHERE event_id = 1",
        "DELETE FROM audit_events WHERE event_id = 5",
        "DELETE FROM audit_events",
        "UPDATE audit_head SET purged_through_event_id = 3 WHERE id = 1",
        "UPDATE audit_exports SET verified = 1",
        "DELETE FROM audit_exports",
    ],
)
def test_sql_when_sqlite_audit_rows_changed_outside_the_purge_path_then_triggers_refuse(
    dev_pki: Path, tmp_path: Path, writer: RunningFakeWriter, statement: str
) -> None:
    url = f"sqlite:///{tmp_path / 'db' / 'policy.db'}"
    with built(dev_pki, tmp_path / "p", writer, url) as h:
        h.open_switch()
        h.submit(*h.approved())
        h.operator.ExportAudit(policy_pb2.ExportAuditRequest())
        error = _try(url, statement)
        assert "AUDIT_APPEND_ONLY" in error, error
        assert (h.count("audit_events"), h.count("audit_exports")) == (8, 1)
