"""Roles against the real writer and simulator: what each role writes whatever its gateway
allows, the start-up matrix per gateway flavor, and the probe that runs again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest

from gateway_sim import GatewaySimulator
from livegate_api.v1 import common_pb2, writer_pb2, writer_pb2_grpc
from tests.support.logs import json_lines
from tests.support.net import wait_until
from tests.support.sim import start_sim
from tests.support.vault import DevVault
from tests.support.writers import main_with, make_config, writer_document
from tests.writer.conftest import open_switch, stub
from tests.writer.test_orders import limit_order, refusal, stop_order
from writer_service.app import WriterHandle, WriterStartError, start_writer
from writer_service.config import Role
from writer_service.probe import Verdict

LIVE = "U1234567"
PAPER = "DU1234567"
TRADE_CAPABLE = "trade_capable"
FLAVORS = ("queries_refused", "what_if_refused")
MATCHES = writer_pb2.PROBE_VERDICT_MATCHES_ROLE
MISMATCH = writer_pb2.PROBE_VERDICT_MISMATCH


@dataclass
class Started:
    sim: GatewaySimulator
    handle: WriterHandle
    policy: writer_pb2_grpc.WriterServiceStub

    def permission(self) -> writer_pb2.Permission:
        return self.policy.GetPermission(writer_pb2.GetPermissionRequest(), timeout=5)


def _sim(gateway: str, account: str) -> GatewaySimulator:
    if gateway == TRADE_CAPABLE:
        return start_sim(accounts=(account,))
    return start_sim(accounts=(account,), read_only=True, read_only_flavor=gateway)


@contextmanager
def _writer(
    dev_pki: Path,
    vault: DevVault,
    tmp: Path,
    role: Role,
    gateway: str,
    account: str,
    **broker: Any,
) -> Iterator[Started]:
    sim = _sim(gateway, account)
    try:
        doc = writer_document(dev_pki, vault, role, tmp, gateway_port=sim.port, accounts=account)
        doc["broker"].update(broker)
        handle = start_writer(make_config(doc, tmp))
        try:
            started = Started(sim, handle, stub(dev_pki, "policy", handle.port))
            open_switch(started.policy)
            yield started
        finally:
            handle.stop()
    finally:
        sim.stop()


# Role x gateway x account kind -> the start-up verdict (MATCHES_ROLE serves, else exit 3).
MATRIX = [
    (Role.W, TRADE_CAPABLE, LIVE, Verdict.MATCHES_ROLE),
    (Role.W, TRADE_CAPABLE, PAPER, Verdict.MISMATCH),
    (Role.W, "queries_refused", LIVE, Verdict.MISMATCH),
    (Role.W, "queries_refused", PAPER, Verdict.MISMATCH),
    (Role.W, "what_if_refused", LIVE, Verdict.MISMATCH),
    (Role.W, "what_if_refused", PAPER, Verdict.MISMATCH),
    (Role.R, TRADE_CAPABLE, LIVE, Verdict.MISMATCH),
    (Role.R, TRADE_CAPABLE, PAPER, Verdict.MISMATCH),
    (Role.R, "queries_refused", LIVE, Verdict.MATCHES_ROLE),
    (Role.R, "queries_refused", PAPER, Verdict.MATCHES_ROLE),
    (Role.R, "what_if_refused", LIVE, Verdict.MATCHES_ROLE),
    (Role.R, "what_if_refused", PAPER, Verdict.MATCHES_ROLE),
    (Role.ABH, TRADE_CAPABLE, LIVE, Verdict.MISMATCH),
    (Role.ABH, TRADE_CAPABLE, PAPER, Verdict.MATCHES_ROLE),
    (Role.ABH, "queries_refused", LIVE, Verdict.MATCHES_ROLE),
    (Role.ABH, "queries_refused", PAPER, Verdict.MATCHES_ROLE),
    (Role.ABH, "what_if_refused", LIVE, Verdict.MATCHES_ROLE),
    (Role.ABH, "what_if_refused", PAPER, Verdict.MATCHES_ROLE),
]


@pytest.mark.parametrize(("role", "gateway", "account", "verdict"), MATRIX)
def test_start_when_role_meets_gateway_flavor_and_account_kind_then_expected_verdict(
    dev_pki: Path,
    vault: DevVault,
    tmp_path: Path,
    role: Role,
    gateway: str,
    account: str,
    verdict: Verdict,
) -> None:
    sim = _sim(gateway, account)
    try:
        doc = writer_document(
            dev_pki, vault, role, tmp_path, gateway_port=sim.port, accounts=account
        )
        if verdict is Verdict.MATCHES_ROLE:
            handle = start_writer(make_config(doc, tmp_path))
            handle.stop()
            probe = handle.probe
        else:
            with pytest.raises(WriterStartError) as refused:
                start_writer(make_config(doc, tmp_path))
            assert refused.value.exit_code == 3
            assert refused.value.probe is not None
            probe = refused.value.probe
        placed = [o for o in sim.orders()]
    finally:
        sim.stop()
    assert probe.verdict is verdict, [(e.check, e.passed, e.observed) for e in probe.evidence]
    assert placed == []  # the probe's what-if never rests at the broker


def _writes(account: str) -> dict[str, Callable[[writer_pb2_grpc.WriterServiceStub], object]]:
    """Every kind of write the writer takes, for ACCOUNT."""
    return {
        "submit": lambda p: p.SubmitOrder(
            writer_pb2.WriterSubmitOrderRequest(
                account_id=account, order=limit_order(), idempotency_key="k-role-submit"
            ),
            timeout=10,
        ),
        "cancel": lambda p: p.CancelOrder(
            writer_pb2.WriterCancelOrderRequest(
                account_id=account, broker_order_id=1, idempotency_key="k-role-cancel"
            ),
            timeout=10,
        ),
        "modify": lambda p: p.ModifyOrder(
            writer_pb2.WriterModifyOrderRequest(
                account_id=account,
                broker_order_id=1,
                changes=common_pb2.OrderChanges(quantity="2"),
                idempotency_key="k-role-modify",
            ),
            timeout=10,
        ),
        "bracket": lambda p: p.SubmitBracket(
            writer_pb2.WriterSubmitBracketRequest(
                account_id=account,
                parent=limit_order("5", "150.00"),
                take_profit=limit_order("5", "160.00", common_pb2.ACTION_SELL),
                stop_loss=stop_order("5", "140.00"),
                idempotency_key="k-role-bracket",
            ),
            timeout=10,
        ),
        "cancel_all": lambda p: p.CancelAllOrders(
            writer_pb2.CancelAllOrdersRequest(reason="role test"), timeout=10
        ),
    }


@pytest.mark.parametrize("flavor", FLAVORS)
def test_writes_when_r_gateway_becomes_trade_capable_then_all_refused_and_nothing_sent(
    dev_pki: Path, vault: DevVault, tmp_path: Path, flavor: str
) -> None:
    with _writer(dev_pki, vault, tmp_path, Role.R, flavor, LIVE) as w:
        w.sim.set_read_only(False)  # the gateway now takes orders; the R writer must not
        before = w.sim.received_writes()
        for kind, write in _writes(LIVE).items():
            with pytest.raises(grpc.RpcError) as refused:
                write(w.policy)
            code, reason, meta = refusal(refused)
            assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "WRITER_ROLE_READ_ONLY"), (
                kind
            )
            assert meta["role"] == "R"
        assert w.sim.received_writes() == before
        assert w.sim.orders() == []
        # The next probe (here: after a reconnect) sees the change and closes the writer.
        w.sim.drop_connections()
        assert wait_until(lambda: w.permission().verdict == MISMATCH, timeout_s=20)
        permission = w.permission()
        switch = w.policy.GetKillSwitch(writer_pb2.WriterGetKillSwitchRequest(), timeout=5)
    assert switch.state == common_pb2.KILL_SWITCH_STATE_CLOSED
    assert "reconnect" in switch.reason and "MISMATCH" in switch.reason
    failed = {e.check for e in permission.evidence if not e.passed}
    assert "what_if" in failed


@pytest.mark.parametrize("flavor", FLAVORS)
def test_probe_when_w_gateway_turns_read_only_then_periodic_probe_closes_and_holds_writes(
    dev_pki: Path, vault: DevVault, tmp_path: Path, flavor: str
) -> None:
    with _writer(dev_pki, vault, tmp_path, Role.W, TRADE_CAPABLE, LIVE, probe_interval_s=1) as w:
        started_at = w.permission().probed_at.ToDatetime()
        w.sim.set_read_only(True, flavor=flavor)
        assert wait_until(lambda: w.permission().verdict == MISMATCH, timeout_s=15)
        mismatch = w.permission()
        switch = w.policy.GetKillSwitch(writer_pb2.WriterGetKillSwitchRequest(), timeout=5)
        # The policy's next sync reopens the switch; the writer still holds its writes.
        open_switch(w.policy, version=2)
        with pytest.raises(grpc.RpcError) as held:
            _writes(LIVE)["submit"](w.policy)
        # The gateway trades again: a later probe matches and writes resume.
        w.sim.set_read_only(False)
        assert wait_until(lambda: w.permission().verdict == MATCHES, timeout_s=15)
        open_switch(w.policy, version=3)
        placed = _writes(LIVE)["submit"](w.policy)
    assert mismatch.probed_at.ToDatetime() > started_at
    assert "321" in " ".join(e.observed for e in mismatch.evidence if not e.passed)
    assert switch.state == common_pb2.KILL_SWITCH_STATE_CLOSED and "periodic" in switch.reason
    assert refusal(held)[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "WRITER_PERMISSION_UNPROVEN",
    )
    assert placed.order.order_ref == "k-role-submit"  # type: ignore[attr-defined]


def test_probe_when_w_gateway_turns_read_only_and_connection_drops_then_reconnect_probe_closes(
    dev_pki: Path, vault: DevVault, tmp_path: Path
) -> None:
    with _writer(dev_pki, vault, tmp_path, Role.W, TRADE_CAPABLE, LIVE) as w:
        w.sim.set_read_only(True, flavor="what_if_refused")
        w.sim.drop_connections()
        assert wait_until(lambda: w.permission().verdict == MISMATCH, timeout_s=20)
        permission = w.permission()
        switch = w.policy.GetKillSwitch(writer_pb2.WriterGetKillSwitchRequest(), timeout=5)
    assert permission.broker_connected
    assert switch.state == common_pb2.KILL_SWITCH_STATE_CLOSED and "reconnect" in switch.reason
    observed = {e.check: e.observed for e in permission.evidence}
    assert "321" in observed["what_if"] and "no 321" in observed["open_orders_query"]


def test_write_when_w_is_asked_for_a_paper_account_then_live_only_and_nothing_sent(
    dev_pki: Path, vault: DevVault, tmp_path: Path
) -> None:
    with _writer(dev_pki, vault, tmp_path, Role.W, TRADE_CAPABLE, LIVE) as w:
        before = w.sim.received_writes()
        with pytest.raises(grpc.RpcError) as refused:
            _writes(PAPER)["submit"](w.policy)
        assert w.sim.received_writes() == before
    assert refusal(refused)[:2] == (grpc.StatusCode.PERMISSION_DENIED, "WRITER_ROLE_LIVE_ONLY")


def test_write_when_abh_on_a_paper_login_then_paper_orders_placed(
    dev_pki: Path, vault: DevVault, tmp_path: Path
) -> None:
    with _writer(dev_pki, vault, tmp_path, Role.ABH, TRADE_CAPABLE, PAPER) as w:
        placed = _writes(PAPER)["submit"](w.policy)
        held = [o.order_ref for o in w.sim.orders()]
        with pytest.raises(grpc.RpcError) as refused:
            _writes(LIVE)["submit"](w.policy)
    assert held == ["k-role-submit"]
    assert placed.order.account_id == PAPER  # type: ignore[attr-defined]
    assert refusal(refused)[:2] == (grpc.StatusCode.PERMISSION_DENIED, "WRITER_ROLE_PAPER_ONLY")


def test_write_when_abh_reads_a_live_account_and_gateway_trades_then_refused_and_nothing_sent(
    dev_pki: Path, vault: DevVault, tmp_path: Path
) -> None:
    with _writer(dev_pki, vault, tmp_path, Role.ABH, "what_if_refused", LIVE) as w:
        w.sim.set_read_only(False)
        before = w.sim.received_writes()
        for kind, write in _writes(LIVE).items():
            with pytest.raises(grpc.RpcError) as refused:
                write(w.policy)
            assert refusal(refused)[1] == "WRITER_ROLE_PAPER_ONLY", kind
        assert w.sim.received_writes() == before


@pytest.mark.parametrize("flavor", FLAVORS)
def test_main_when_w_gateway_is_read_only_of_either_flavor_then_exits_3_logging_the_evidence(
    dev_pki: Path,
    vault: DevVault,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flavor: str,
) -> None:
    sim = _sim(flavor, LIVE)
    try:
        doc = writer_document(dev_pki, vault, Role.W, tmp_path, gateway_port=sim.port)
        assert main_with(doc, tmp_path) == 3
    finally:
        sim.stop()
    [probe] = [p for p in json_lines(capsys.readouterr().err) if p.get("event") == "probe"]
    assert probe["verdict"] == "MISMATCH"
    failed = {e["check"]: e["observed"] for e in probe["evidence"] if not e["passed"]}  # type: ignore[union-attr]
    assert "321" in failed["what_if"]


def test_account_state_when_r_gateway_refuses_order_queries_then_still_answered(
    dev_pki: Path, vault: DevVault, tmp_path: Path
) -> None:
    """The account state asks for all open orders (the REDUCING judgement counts hand-placed
    ones); a read-only gateway refusing that query (321) can take no order of this writer's,
    so the state answers with positions and this session's own orders, as before."""
    with _writer(dev_pki, vault, tmp_path, Role.R, "queries_refused", LIVE) as w:
        w.sim.set_position(LIVE, "AAPL", Decimal(10), Decimal(150))
        state = w.policy.GetAccountState(
            writer_pb2.GetAccountStateRequest(account_id=LIVE), timeout=20
        )
        assert [Decimal(p.quantity) for p in state.positions] == [Decimal(10)]
        assert list(state.working_orders) == []
