"""Handshake, synchronisation, accounts, market data and connection-level behaviour."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from ib_async import IB, LimitOrder, Stock

from gateway_sim import GatewaySimulator, SimConfig
from tests.gateway_sim.helpers import Clients, Errors, codes, wait_until

pytestmark = pytest.mark.timeout(60)


def test_connect_when_simulator_listening_then_sync_completes_quickly(
    sim: GatewaySimulator, clients: Clients, server_version: int
) -> None:
    started = time.monotonic()
    ib = clients.connect(sim)
    assert time.monotonic() - started < 2.0
    assert ib.isConnected()
    assert ib.client.serverVersion() == server_version
    assert ib.managedAccounts() == ["U1234567"]
    values = {v.tag: v.value for v in ib.accountValues()}
    assert Decimal(values["NetLiquidation"]) == Decimal("100000")
    assert {"TotalCashValue", "AvailableFunds", "BuyingPower"} <= values.keys()
    assert abs(ib.reqCurrentTime().timestamp() - time.time()) < 5
    names = {m.name for m in sim.received()}
    assert {"START_API", "REQ_POSITIONS", "REQ_OPEN_ORDERS", "REQ_COMPLETED_ORDERS"} <= names
    assert {"REQ_ACCT_DATA", "REQ_ACCOUNT_UPDATES_MULTI", "REQ_EXECUTIONS"} <= names


def test_connect_when_live_and_paper_accounts_then_both_managed(
    sim_factory: Callable[..., GatewaySimulator], clients: Clients
) -> None:
    sim = sim_factory(accounts=("U1234567", "DU7654321"))
    sim.set_cash("DU7654321", Decimal("2500.50"))
    sim.set_position("DU7654321", "MSFT", Decimal(10), Decimal("400"))
    ib = clients.connect(sim)
    assert ib.managedAccounts() == ["U1234567", "DU7654321"]
    [pos] = ib.positions("DU7654321")
    assert (pos.contract.symbol, pos.position, pos.avgCost) == ("MSFT", 10.0, 400.0)
    summary = {(v.account, v.tag): v.value for v in ib.accountSummary()}
    assert Decimal(summary[("DU7654321", "TotalCashValue")]) == Decimal("2500.50")


def test_connect_when_client_id_in_use_then_error_326_and_refused(
    sim: GatewaySimulator, clients: Clients
) -> None:
    clients.connect(sim, client_id=7)
    errors: Errors = []
    with pytest.raises((TimeoutError, ConnectionError)):
        clients.connect(sim, client_id=7, timeout=1.5, errors=errors)
    assert 326 in codes(errors)
    assert sim.connected_client_ids() == [7]


def test_connect_when_client_id_zero_then_auto_open_orders_bound_and_sync_completes(
    sim: GatewaySimulator, clients: Clients
) -> None:
    started = time.monotonic()
    ib = clients.connect(sim, client_id=0)
    assert time.monotonic() - started < 2.0
    assert "REQ_AUTO_OPEN_ORDERS" in [m.name for m in sim.received() if m.client_id == 0]
    assert ib.isConnected()


def test_connect_when_two_clients_then_each_syncs_only_its_own_orders(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib1 = clients.connect(sim, client_id=1)
    ib2 = clients.connect(sim, client_id=2)
    contract = Stock("AAPL", "SMART", "USD")
    t1 = ib1.placeOrder(contract, LimitOrder("BUY", 1, 100))
    t2 = ib2.placeOrder(contract, LimitOrder("SELL", 2, 300))
    assert wait_until(ib1, lambda: t1.orderStatus.status == "Submitted")
    assert wait_until(ib2, lambda: t2.orderStatus.status == "Submitted")
    assert [t.order.totalQuantity for t in ib1.reqOpenOrders()] == [1.0]
    assert sorted(t.order.totalQuantity for t in ib2.reqAllOpenOrders()) == [1.0, 2.0]
    assert sorted({o.client_id for o in sim.orders()}) == [1, 2]


def test_qualify_when_stock_then_stable_con_id_and_details(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    aapl, zzz = Stock("AAPL", "SMART", "USD"), Stock("ZZZQ", "SMART", "USD")
    ib.qualifyContracts(aapl, zzz)
    assert aapl.conId == 265598
    assert zzz.conId > 0
    again = Stock("ZZZQ", "SMART", "USD")
    ib.qualifyContracts(again)
    assert again.conId == zzz.conId
    [details] = ib.reqContractDetails(Stock("MSFT", "SMART", "USD"))
    assert details.contract is not None and details.contract.primaryExchange == "NASDAQ"


def test_req_tickers_when_quotes_set_then_snapshot_reflects_them(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    ib.reqMarketDataType(3)
    aapl, msft, other = (Stock(s, "SMART", "USD") for s in ("AAPL", "MSFT", "QQQX"))
    ib.qualifyContracts(aapl, msft, other)
    t_aapl, t_msft, t_other = ib.reqTickers(aapl, msft, other)
    assert (t_aapl.bid, t_aapl.ask, t_aapl.last) == (189.9, 190.1, 190.0)
    assert (t_msft.bid, t_msft.ask, t_msft.last) == (410.0, 410.2, 410.1)
    assert (t_other.bid, t_other.ask, t_other.last) == (100.0, 100.1, 100.05)
    sim.set_quote("AAPL", bid=Decimal("200.00"), ask=Decimal("200.20"), last=Decimal("200.10"))
    [t_aapl] = ib.reqTickers(aapl)
    assert (t_aapl.bid, t_aapl.ask) == (200.0, 200.2)


def test_streaming_market_data_when_quote_moves_then_ticker_updates(
    sim: GatewaySimulator, clients: Clients
) -> None:
    ib = clients.connect(sim)
    [msft] = ib.qualifyContracts(Stock("MSFT", "SMART", "USD"))
    ticker = ib.reqMktData(msft)
    assert wait_until(ib, lambda: ticker.bid == 410.0)
    sim.set_quote("MSFT", bid=Decimal("411"), ask=Decimal("411.5"), last=Decimal("411.2"))
    assert wait_until(ib, lambda: ticker.ask == 411.5 and ticker.last == 411.2)
    ib.cancelMktData(ticker.contract)


def _raw_handshake(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    version = b"v157..178"
    sock.sendall(b"API\0" + struct.pack(">I", len(version)) + version)
    header = sock.recv(4)
    sock.recv(struct.unpack(">I", header)[0])
    return sock


def test_malformed_frame_when_received_then_only_that_connection_closes(
    sim: GatewaySimulator, clients: Clients
) -> None:
    bad = _raw_handshake(sim.port)
    bad.sendall(struct.pack(">I", 5) + b"xx\0yy")  # not NUL-terminated, non-numeric id
    bad.settimeout(5)
    assert bad.recv(4096) == b""  # orderly close from the simulator
    bad.close()
    huge = _raw_handshake(sim.port)
    huge.sendall(struct.pack(">I", 50_000_000))
    assert huge.recv(4096) == b""
    huge.close()
    ib = clients.connect(sim)
    assert ib.isConnected()


def test_handshake_when_client_versions_unsupported_then_closed(sim: GatewaySimulator) -> None:
    sock = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    version = b"v100..150"
    sock.sendall(b"API\0" + struct.pack(">I", len(version)) + version)
    assert sock.recv(4096) == b""
    sock.close()


def test_context_manager_when_exited_then_port_released(server_version: int) -> None:
    with GatewaySimulator(SimConfig(max_server_version=server_version)) as sim:
        port = sim.port
        ib = IB()
        ib.connect("127.0.0.1", port, clientId=3, timeout=5)
        ib.disconnect()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_start_when_port_taken_then_raises_and_leaves_no_thread(sim: GatewaySimulator) -> None:
    clash = GatewaySimulator(SimConfig(port=sim.port))
    with pytest.raises(OSError):
        clash.start()
    assert "gateway-sim" in [t.name for t in threading.enumerate()]  # only the fixture's sim
    assert sum(t.name == "gateway-sim" for t in threading.enumerate()) == 1
