"""Start-up per role: Vault, gateway, probe; a writer whose permission mismatches never serves."""

from __future__ import annotations

import json
import logging
import re
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway_sim import GatewaySimulator
from livegate_api.v1 import common_pb2, writer_pb2
from livegate_common.account_hash import account_hash
from livegate_common.errors import error_info
from livegate_common.vault_layout import provision
from tests.support.affinity import one_cpu, thread_cpus
from tests.support.grpc_clients import channel_as
from tests.support.logs import captured_lines, json_lines, lines_naming
from tests.support.net import free_port, wait_until
from tests.support.sim import running_sim
from tests.support.vault import DevVault, dev_vault
from tests.support.writers import ACCOUNT, main_with, make_config, writer_document
from tests.writer.conftest import open_switch, stub
from tests.writer.test_orders import limit_order
from writer_service.app import WriterStartError, start_writer
from writer_service.config import Role
from writer_service.ib_convert import contract_for, ib_order_for
from writer_service.ib_session import IbSession
from writer_service.probe import Verdict
from writer_service.vault_credentials import VaultStartError
from writer_service.wire import order as order_from_wire

ROLE_ENUMS = {
    Role.W: common_pb2.INSTANCE_ROLE_W,
    Role.R: common_pb2.INSTANCE_ROLE_R,
    Role.ABH: common_pb2.INSTANCE_ROLE_ABH,
}


def _start(dev_pki: Path, vault: DevVault, role: Role, sim: GatewaySimulator, tmp: Path):  # type: ignore[no-untyped-def]
    doc = writer_document(dev_pki, vault, role, tmp, gateway_port=sim.port)
    return start_writer(make_config(doc, tmp))


def test_start_when_w_has_trade_capable_gateway_then_serves_with_matching_probe(
    dev_pki: Path, vault: DevVault, tmp_path: Path
) -> None:
    with running_sim(read_only=False) as sim:
        handle = _start(dev_pki, vault, Role.W, sim, tmp_path)
        try:
            permission = stub(dev_pki, "policy", handle.port).GetPermission(
                writer_pb2.GetPermissionRequest(), timeout=5
            )
        finally:
            handle.stop()
    assert permission.role == common_pb2.INSTANCE_ROLE_W
    assert permission.verdict == writer_pb2.PROBE_VERDICT_MATCHES_ROLE
    assert list(permission.accounts) == ["U1234567"]
    checks = {e.check: e for e in permission.evidence}
    assert checks["what_if"].passed and "margin values" in checks["what_if"].observed
    assert "no 321" in checks["open_orders_query"].observed
    assert permission.broker_connected
    assert permission.kill_switch.state == common_pb2.KILL_SWITCH_STATE_CLOSED
    # The probe's what-if is the only write message, and nothing is held at the broker.
    assert [w.name for w in sim.received_writes()] == ["PLACE_ORDER"]
    assert sim.orders() == []


def test_start_when_w_points_at_read_only_gateway_then_refuses_with_mismatch(
    dev_pki: Path, vault: DevVault, tmp_path: Path
) -> None:
    with running_sim(read_only=True) as sim, pytest.raises(WriterStartError) as refused:
        _start(dev_pki, vault, Role.W, sim, tmp_path)
    assert refused.value.exit_code == 3
    assert refused.value.probe is not None
    assert refused.value.probe.verdict is Verdict.MISMATCH
    observed = {e.check: e.observed for e in refused.value.probe.evidence}
    assert "321" in observed["open_orders_query"]


@pytest.mark.parametrize("role", [Role.R, Role.ABH])
def test_start_when_read_only_role_has_read_only_gateway_then_serves(
    dev_pki: Path, vault: DevVault, tmp_path: Path, role: Role
) -> None:
    with running_sim(read_only=True) as sim:
        handle = _start(dev_pki, vault, role, sim, tmp_path)
        try:
            permission = stub(dev_pki, "policy", handle.port).GetPermission(
                writer_pb2.GetPermissionRequest(), timeout=5
            )
        finally:
            handle.stop()
    assert permission.role == ROLE_ENUMS[role]
    assert permission.verdict == writer_pb2.PROBE_VERDICT_MATCHES_ROLE
    checks = {e.check: e for e in permission.evidence}
    assert "321" in checks["open_orders_query"].observed
    assert "321" in checks["completed_orders_query"].observed
    assert checks["what_if"].passed


@pytest.mark.parametrize("role", [Role.R, Role.ABH])
def test_start_when_read_only_role_has_trade_capable_gateway_then_refuses(
    dev_pki: Path, vault: DevVault, tmp_path: Path, role: Role
) -> None:
    with running_sim(read_only=False) as sim, pytest.raises(WriterStartError) as refused:
        _start(dev_pki, vault, role, sim, tmp_path)
    assert refused.value.exit_code == 3
    assert refused.value.probe is not None
    assert refused.value.probe.verdict is Verdict.MISMATCH


def test_start_when_read_only_gateway_prices_what_ifs_then_r_still_serves(
    dev_pki: Path, vault: DevVault, tmp_path: Path
) -> None:
    with running_sim(read_only=True, what_if_refused_in_read_only=False) as sim:
        handle = _start(dev_pki, vault, Role.R, sim, tmp_path)
        handle.stop()
    assert handle.probe.verdict is Verdict.MATCHES_ROLE
    what_if = next(e for e in handle.probe.evidence if e.check == "what_if")
    assert "margin values" in what_if.observed and "321s on the order queries" in what_if.observed


def test_start_when_w_accounts_are_paper_then_refuses(
    dev_pki: Path, vault: DevVault, tmp_path: Path
) -> None:
    with running_sim(accounts=("DU999",)) as sim:
        doc = writer_document(
            dev_pki, vault, Role.W, tmp_path, gateway_port=sim.port, accounts="DU999"
        )
        with pytest.raises(WriterStartError) as refused:
            start_writer(make_config(doc, tmp_path))
    assert refused.value.probe is not None
    assert refused.value.probe.verdict is Verdict.MISMATCH


def test_start_when_gateway_is_down_then_refuses_naming_the_broker(
    dev_pki: Path, vault: DevVault, tmp_path: Path
) -> None:
    doc = writer_document(dev_pki, vault, Role.W, tmp_path, gateway_port=free_port())
    with pytest.raises(WriterStartError, match="broker connection failed"):
        start_writer(make_config(doc, tmp_path))


def test_start_when_vault_is_sealed_then_writer_does_not_start(
    dev_pki: Path, tmp_path: Path
) -> None:
    with dev_vault() as own, running_sim() as sim:
        provision(own.client())
        doc = writer_document(dev_pki, own, Role.W, tmp_path, gateway_port=sim.port)
        own.seal()
        with pytest.raises(VaultStartError, match="sealed"):
            start_writer(make_config(doc, tmp_path))
        assert sim.connected_client_ids() == []


def test_main_when_vault_is_down_then_exits_4_and_logs_why(
    dev_pki: Path, vault: DevVault, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    doc = writer_document(dev_pki, vault, Role.W, tmp_path, gateway_port=1, vault_addr=dead)
    code = main_with(doc, tmp_path)
    assert code == 4
    lines = json_lines(capsys.readouterr().err)
    assert any("unreachable" in str(line.get("error")) for line in lines)


def test_main_when_role_is_invalid_then_exits_2_naming_the_key(
    dev_pki: Path, vault: DevVault, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = writer_document(dev_pki, vault, Role.W, tmp_path, gateway_port=1)
    doc["role"] = "X"
    code = main_with(doc, tmp_path)
    assert code == 2
    lines = json_lines(capsys.readouterr().err)
    assert any("config key role" in str(line.get("error")) for line in lines)


def test_main_when_cpus_cannot_be_pinned_then_exits_2_before_vault(
    dev_pki: Path, vault: DevVault, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # reached only if pinning were skipped
    doc = writer_document(dev_pki, vault, Role.W, tmp_path, gateway_port=1, vault_addr=dead)
    doc["server"]["cpus"] = [4095]  # type: ignore[index]
    assert main_with(doc, tmp_path) == 2
    lines = json_lines(capsys.readouterr().err)
    assert any("config key server.cpus" in str(line.get("error")) for line in lines)


def test_main_when_probe_mismatches_then_exits_3_with_one_probe_line(
    dev_pki: Path, vault: DevVault, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_sim(read_only=True) as sim:
        doc = writer_document(dev_pki, vault, Role.W, tmp_path, gateway_port=sim.port)
        wrapping_token = Path(str(doc["vault"]["wrapped_secret_id_file"])).read_text().strip()
        assert main_with(doc, tmp_path) == 3
    err = capsys.readouterr().err
    probes = [line for line in json_lines(err) if line.get("event") == "probe"]
    assert len(probes) == 1
    assert probes[0]["verdict"] == "MISMATCH" and probes[0]["role"] == "W"
    # Nothing Vault handed over is logged: no wrapping token, no Vault token of any kind.
    assert wrapping_token not in err
    # The gateway address is part of the broker secret too.
    assert f":{sim.port}" not in err and f", {sim.port})" not in err
    assert "Connecting to [gateway]" in err  # ib_async's own line, masked rather than dropped
    # Nor the account: the Vault hand-over and the probe name it by its keyed hash only.
    assert lines_naming([err], [ACCOUNT]) == []
    assert re.search(r"\b(hvs|s)\.[A-Za-z0-9]{20,}", err) is None


def test_process_when_started_pinned_and_sigterm_then_serves_on_its_cpu_then_exits_0(
    dev_pki: Path, vault: DevVault, tmp_path: Path
) -> None:
    with running_sim() as sim:
        doc = writer_document(dev_pki, vault, Role.W, tmp_path, gateway_port=sim.port)
        port = free_port()
        doc["server"]["listen"] = f"127.0.0.1:{port}"  # type: ignore[index]
        cpu = one_cpu()
        doc["server"]["cpus"] = [cpu]  # type: ignore[index]
        path = tmp_path / "writer.yaml"
        path.write_text(json.dumps(doc), encoding="utf-8")
        proc = subprocess.Popen(
            [sys.executable, "-m", "writer_service", "--config", str(path)],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            health = health_pb2_grpc.HealthStub(channel_as(dev_pki, "policy", port))

            def serving() -> bool:
                try:
                    answer = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                except grpc.RpcError:
                    return False
                return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)

            assert wait_until(serving, timeout_s=20, interval_s=0.2)
            # The broker loop's thread and the gRPC server's all run on the one CPU.
            threads = thread_cpus(proc.pid)
            assert len(threads) > 3 and set(threads.values()) == {frozenset({cpu})}, threads
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
    err = proc.stderr.read() if proc.stderr else ""
    assert '"event":"probe"' in err and '"verdict":"MATCHES_ROLE"' in err


def test_logs_when_writer_starts_trades_reconciles_and_probes_then_no_account_id_in_clear(
    dev_pki: Path, vault: DevVault, tmp_path: Path
) -> None:
    """Every line of a full run names the account only by its keyed hash, DEBUG included (where
    ib_async logs each raw message)."""
    key = "k" * 32
    expected = account_hash(key.encode(), ACCOUNT)
    with running_sim() as sim, captured_lines(logging.DEBUG) as lines:
        doc = writer_document(
            dev_pki, vault, Role.W, tmp_path, gateway_port=sim.port, account_hash_key=key
        )
        doc["broker"]["probe_interval_s"] = 1
        handle = start_writer(make_config(doc, tmp_path))
        try:
            policy = stub(dev_pki, "policy", handle.port)
            open_switch(policy)
            placed = policy.SubmitOrder(
                writer_pb2.WriterSubmitOrderRequest(
                    account_id=ACCOUNT, order=limit_order(), idempotency_key="k-logs-1"
                ),
                timeout=10,
            )
            policy.CancelOrder(
                writer_pb2.WriterCancelOrderRequest(
                    account_id=ACCOUNT,
                    broker_order_id=placed.order.broker_order_id,
                    idempotency_key="k-logs-2",
                ),
                timeout=10,
            )
            with pytest.raises(grpc.RpcError) as refused:
                policy.SubmitOrder(
                    writer_pb2.WriterSubmitOrderRequest(
                        account_id="U7654321", order=limit_order(), idempotency_key="k-logs-3"
                    ),
                    timeout=10,
                )
            place_foreign_order(sim.port)  # reconciliation reports it, with its account
            probes = len(_probe_lines(lines))
            sim.drop_connections()
            assert wait_until(lambda: len(_probe_lines(lines)) >= probes + 2, timeout_s=20)
        finally:
            handle.stop()
    assert dict(error_info(refused.value).metadata)["account_id_hash"] == account_hash(  # type: ignore[union-attr]
        key.encode(), "U7654321"
    )
    assert lines_naming(lines, [ACCOUNT, "U7654321"]) == []
    parsed = json_lines("\n".join(lines))
    [handover] = [p for p in parsed if p["msg"] == "broker credentials loaded from vault"]
    assert handover["account_id_hashes"] == [expected]
    unexplained = [p for p in parsed if p["msg"] == "unexplained order at the broker"]
    assert unexplained and {p["account_id_hash"] for p in unexplained} == {expected}
    assert {p["account_id_hashes"][0] for p in parsed if p.get("event") == "probe"} == {expected}


def _probe_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if '"event":"probe"' in line]


def place_foreign_order(port: int, order: common_pb2.Order | None = None) -> None:
    """An order with no orderRef from another client id, as TWS by hand would leave one (by
    default a buy of 3 at 120.00)."""
    other = IbSession(5)
    try:
        other.connect("127.0.0.1", port, 99, 5)
        spec = order_from_wire(order or limit_order("3", "120.00"))

        async def place() -> None:
            order_id = await other.next_order_id()
            await other.place(
                contract_for(spec.instrument), ib_order_for(spec, ACCOUNT, "", order_id)
            )

        other.call(place())
    finally:
        other.stop()
