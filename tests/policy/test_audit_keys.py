"""The audit key: rotation keeps the chain verifiable across segments; a chain made before keys
(plain sha256) stays verifiable under the rotation event that closes it; key and anchor files
wider than their owner are refused at start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from livegate_api.v1 import policy_pb2
from livegate_common.config import ConfigError
from policy_service import config as policy_config
from policy_service.audit_keysource import read_keyring_file, write_keyring_file
from policy_service.domain.audit import event_hash
from policy_service.domain.audit_keys import Keyring
from policy_service.server import build_service
from policy_service.storage.engine import MIGRATIONS_DIR
from tests.policy.attacker import Attacker
from tests.policy.fake_writer import RunningFakeWriter
from tests.policy.harness import Harness, built, policy_doc, set_path


def _verify(h: Harness) -> policy_pb2.VerifyAuditResponse:
    return h.approver.VerifyAudit(policy_pb2.VerifyAuditRequest())


def _event(h: Harness, event_id: int) -> dict[str, Any]:
    return next(e for e in h.rows("audit_events") if e["event_id"] == event_id)


def test_rotation_when_keyring_rotated_between_runs_then_new_segment_and_chain_verifies(
    dev_pki: Path, tmp_path: Path, writer: RunningFakeWriter, db_url: str
) -> None:
    data = tmp_path / "p"
    with built(dev_pki, data, writer, db_url) as first:
        first.open_switch()
        first.submit(*first.approved())
        # checklist, reopen requested and confirmed, preview, approval, pending, done
        old_head = _event(first, 7)
    keyring_file = data / "audit-keyring.json"
    write_keyring_file(keyring_file, read_keyring_file(keyring_file).rotated("k2"))
    with built(dev_pki, data, writer, db_url) as second:
        rotation = _event(second, 8)
        assert (rotation["method"], rotation["key_id"], rotation["prev_hash"]) == (
            "AuditKeyRotation",
            "k2",
            old_head["hash"],
        )
        detail = json.loads(rotation["detail"])
        assert (detail["previous_key_id"], detail["previous_link"]) == ("k1", old_head["hash"])
        second.submit(*second.approved())
        res = _verify(second)
        assert res.ok, res
        assert (list(res.key_ids), res.events_checked) == (["k1", "k2"], 12)
        export = second.operator.ExportAudit(policy_pb2.ExportAuditRequest())
    done = subprocess.run(
        [sys.executable, "-m", "livegate_cli.main", "audit", "verify-export", export.path,
         "--keyring", str(keyring_file)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["key_ids"] == ["k1", "k2"]


def test_verify_when_a_retired_key_is_dropped_from_the_keyring_then_key_unknown(
    dev_pki: Path, tmp_path: Path, writer: RunningFakeWriter, db_url: str
) -> None:
    data = tmp_path / "p"
    with built(dev_pki, data, writer, db_url) as first:
        first.open_switch()
    keyring_file = data / "audit-keyring.json"
    rotated = read_keyring_file(keyring_file).rotated("k2")
    write_keyring_file(keyring_file, Keyring("k2", {"k2": rotated.keys["k2"]}))
    with built(dev_pki, data, writer, db_url) as second:
        res = _verify(second)
        assert (res.problem, res.first_bad_event_id) == ("AUDIT_KEY_UNKNOWN", 1)


LEGACY_EVENTS = 6


def _legacy_database(url: str, purged_through: int) -> str:
    """What main's code left: migrations to 0003, events chained with plain sha256, one of
    its purges (pointer moved, an unkeyed AuditPurge event). Returns the legacy head link."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    prev = ""
    links: dict[int, str] = {}
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
        for i in range(1, LEGACY_EVENTS + 1):
            purge = i == LEGACY_EVENTS and purged_through > 0
            detail = {"purged_through_event_id": str(purged_through), "export_id": "x"}
            event: dict[str, Any] = {
                "event_id": i, "occurred_at_us": 1_000 + i,
                "method": "AuditPurge" if purge else "SubmitOrder", "request_id": f"r{i}",
                "principal": "upstream", "account_id_hash": "", "preview_id": "",
                "approval_id": "", "idempotency_key": f"k{i}", "broker_order_id": i,
                "kill_switch_state": "OPEN", "risk_policy_id": "p", "outcome": "EXECUTED",
                "status_code": "OK", "reason": "", "gate_step": 12,
                "detail": json.dumps(detail if purge else {}, sort_keys=True,
                                     separators=(",", ":")),
                "prev_hash": prev,
            }  # fmt: skip
            event["hash"] = prev = links[i] = event_hash(event)
            columns = ", ".join(event)
            conn.execute(
                sa.text(f"INSERT INTO audit_events ({columns}) VALUES "  # noqa: S608
                        f"({', '.join(':' + c for c in event)})"),
                event,
            )  # fmt: skip
        conn.execute(
            sa.text("DELETE FROM audit_events WHERE event_id <= :p"), {"p": purged_through}
        )
        conn.execute(
            sa.text(
                "UPDATE audit_head SET last_event_id = :i, last_hash = :h, "
                "purged_through_event_id = :p, purged_through_hash = :ph WHERE id = 1"
            ),
            {
                "i": LEGACY_EVENTS,
                "h": prev,
                "p": purged_through,
                "ph": links.get(purged_through, ""),
            },
        )
        conn.commit()
    engine.dispose()
    return prev


def test_migration_when_chain_was_made_before_keys_then_closed_by_rotation_and_verifies(
    dev_pki: Path, tmp_path: Path, writer: RunningFakeWriter, db_url: str
) -> None:
    legacy_head = _legacy_database(db_url, purged_through=2)
    with built(dev_pki, tmp_path / "p", writer, db_url) as h:
        rotation = _event(h, LEGACY_EVENTS + 1)
        detail = json.loads(rotation["detail"])
        assert (rotation["method"], rotation["key_id"]) == ("AuditKeyRotation", "k1")
        assert (detail["previous_key_id"], detail["previous_link"]) == ("", legacy_head)
        h.open_switch()
        res = _verify(h)
        assert res.chain_state == policy_pb2.AUDIT_CHAIN_STATE_INTACT, res
        assert (res.events_checked, res.purged_through_event_id) == (LEGACY_EVENTS - 2 + 4, 2)
        assert list(res.key_ids) == ["k1"]


def test_verify_when_an_unkeyed_event_is_edited_and_relinked_then_its_rotation_names_it(
    dev_pki: Path, tmp_path: Path, writer: RunningFakeWriter, db_url: str
) -> None:
    _legacy_database(db_url, purged_through=0)
    with built(dev_pki, tmp_path / "p", writer, db_url) as h:
        attacker = Attacker(db_url)
        attacker.edit(3, "principal", "mallory")
        attacker.relink(3, "sha256")  # the unkeyed links anyone can recompute, and on
        res = _verify(h)
        assert (res.problem, res.first_bad_event_id) == (
            "AUDIT_LINK_MISMATCH",
            LEGACY_EVENTS + 1,
        )


def _doc(tmp_path: Path, dev_pki: Path) -> dict[str, Any]:
    return policy_doc(dev_pki, tmp_path, 1, f"sqlite:///{tmp_path / 'p.db'}")


def test_config_when_keyring_file_readable_by_others_then_refused_naming_key(
    tmp_path: Path, dev_pki: Path
) -> None:
    doc = _doc(tmp_path, dev_pki)
    Path(doc["audit"]["keyring_file"]).chmod(0o640)
    with pytest.raises(ConfigError) as caught:
        policy_config.from_document(doc, tmp_path)
    assert caught.value.key == "audit.keyring_file" and "chmod 600" in str(caught.value)


@pytest.mark.parametrize("both", [True, False])
def test_config_when_not_exactly_one_key_source_then_refused_naming_key(
    tmp_path: Path, dev_pki: Path, both: bool
) -> None:
    doc = _doc(tmp_path, dev_pki)
    if both:
        set_path(doc, "audit.vault.addr", "http://127.0.0.1:1")
    else:
        del doc["audit"]["keyring_file"]
    with pytest.raises(ConfigError) as caught:
        policy_config.from_document(doc, tmp_path)
    assert caught.value.key == "audit.keyring_file"


def test_start_when_anchor_file_writable_by_others_then_refused_naming_key(
    tmp_path: Path, dev_pki: Path
) -> None:
    doc = _doc(tmp_path, dev_pki)
    anchor = tmp_path / "audit-anchors.jsonl"
    anchor.write_text("")
    anchor.chmod(0o666)
    with pytest.raises(ConfigError) as caught:
        build_service(policy_config.from_document(doc, tmp_path))
    assert caught.value.key == "audit.anchor_file"
