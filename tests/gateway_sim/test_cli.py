"""The livegate-gateway-sim command: starts, reports its port, serves ib_async, exits cleanly."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from ib_async import IB, LimitOrder, Stock

from tests.gateway_sim.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(60)


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "simulator did not report its port in time"
    return proc.stdout.readline()


@pytest.mark.parametrize("version", [176, 178])
def test_cli_when_started_on_port_zero_then_reports_port_serves_and_exits_zero(
    version: int,
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "gateway_sim", "--port", "0", "--account", "DU1111111",
            "--max-server-version", str(version), "--quote", "AAPL=10:10.5:10.25"]  # fmt: skip
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    ib = IB()
    try:
        event = json.loads(_read_line(proc, timeout=15))
        assert (event["event"], event["host"]) == ("listening", "127.0.0.1")
        ib.connect("127.0.0.1", int(event["port"]), clientId=9, timeout=5)
        assert ib.managedAccounts() == ["DU1111111"]
        assert ib.client.serverVersion() == version
        trade = ib.placeOrder(Stock("AAPL", "SMART", "USD"), LimitOrder("BUY", 1, 11))
        assert wait_until(ib, lambda: trade.orderStatus.status == "Filled")
        assert trade.orderStatus.avgFillPrice == 10.5
        ib.disconnect()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        ib.disconnect()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


def test_cli_when_read_only_flavor_what_if_refused_then_queries_answered_and_orders_refused() -> (
    None
):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "gateway_sim", "--port", "0", "--read-only",
            "--read-only-flavor", "what_if_refused"]  # fmt: skip
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    ib = IB()
    errors: list[int] = []
    ib.errorEvent += lambda _req, code, _msg, _c: errors.append(code)
    try:
        event = json.loads(_read_line(proc, timeout=15))
        ib.connect("127.0.0.1", int(event["port"]), clientId=9, timeout=5)
        assert ib.reqAllOpenOrders() == []  # answered, not refused
        trade = ib.placeOrder(Stock("AAPL", "SMART", "USD"), LimitOrder("BUY", 1, 11))
        assert wait_until(ib, lambda: 321 in errors)
        assert trade.orderStatus.status == "ValidationError"
    finally:
        ib.disconnect()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
