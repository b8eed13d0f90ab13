"""Wire-format pins: the exact fields ib_async 2.1.0 sends for each write, per server version.

If an ib_async upgrade changes what placeOrder/cancelOrder put on the wire, these tests fail
loudly, and the simulator's field-order map (gateway_sim.wire_in) must be reviewed with them.
"""

from __future__ import annotations

import pytest
from ib_async import LimitOrder, Stock

from gateway_sim import GatewaySimulator, ReceivedMessage
from gateway_sim.wire_in import parse_place_order
from tests.gateway_sim.helpers import Clients, wait_until

pytestmark = pytest.mark.timeout(60)

PLACE_ORDER_V176: list[str] = [
    "3", "<ID>", "0", "AAPL", "STK", "", "0.0", "", "", "SMART",  # 0..
    "", "USD", "", "", "", "", "BUY", "100", "LMT", "150.5",  # 10..
    "", "DAY", "", "U1234567", "O", "0", "pin-ref", "1", "0", "0",  # 20..
    "0", "0", "0", "0", "0", "", "0.0", "", "", "",  # 30..
    "", "", "", "", "0", "", "-1", "0", "", "",  # 40..
    "0", "", "", "0", "0", "", "0", "", "", "",  # 50..
    "", "", "0", "", "", "", "", "0", "", "",  # 60..
    "", "", "", "", "", "", "", "", "0", "",  # 70..
    "", "0", "0", "", "", "0", "", "0", "0", "0",  # 80..
    "0", "", "", "", "", "", "", "0", "", "",  # 90..
    "", "", "", "", "", "", "0", "0", "0", "0",  # 100..
    "", "", "0", "", "",  # 110..
]  # fmt: skip

PLACE_ORDER_V178: list[str] = [
    "3", "<ID>", "0", "AAPL", "STK", "", "0.0", "", "", "SMART",  # 0..
    "", "USD", "", "", "", "", "BUY", "100", "LMT", "150.5",  # 10..
    "", "DAY", "", "U1234567", "O", "0", "pin-ref", "1", "0", "0",  # 20..
    "0", "0", "0", "0", "0", "", "0.0", "", "", "",  # 30..
    "", "", "", "0", "", "-1", "0", "", "", "0",  # 40..
    "", "", "0", "0", "", "0", "", "", "", "",  # 50..
    "", "0", "", "", "", "", "0", "", "", "",  # 60..
    "", "", "", "", "", "", "", "0", "", "",  # 70..
    "0", "0", "", "", "0", "", "0", "0", "0", "0",  # 80..
    "", "", "", "", "", "", "0", "", "", "",  # 90..
    "", "", "", "", "", "0", "0", "0", "0", "",  # 100..
    "", "0", "", "",  # 110..
]  # fmt: skip

CANCEL_ORDER_V176_V178: list[str] = [
    "4", "1", "<ID>", "",  # 0..
]  # fmt: skip

EXPECTED = {
    176: (PLACE_ORDER_V176, CANCEL_ORDER_V176_V178),
    178: (PLACE_ORDER_V178, CANCEL_ORDER_V176_V178),
}


def _normalised(message: ReceivedMessage) -> list[str]:
    """Replace the order id, the only field that varies from run to run."""
    fields = list(message.fields)
    fields[1 if message.msg_id == 3 else 2] = "<ID>"
    return fields


def test_write_messages_when_sent_by_ib_async_then_match_pinned_fields(
    sim: GatewaySimulator, clients: Clients, server_version: int
) -> None:
    ib = clients.connect(sim)
    order = LimitOrder("BUY", 100, 150.5, orderRef="pin-ref", tif="DAY", account="U1234567")
    trade = ib.placeOrder(Stock("AAPL", "SMART", "USD"), order)
    assert wait_until(ib, lambda: trade.orderStatus.status == "Submitted")
    ib.cancelOrder(trade.order)
    assert wait_until(ib, lambda: trade.orderStatus.status == "Cancelled")
    place, cancel = sim.received_writes()
    assert (place.name, cancel.name) == ("PLACE_ORDER", "CANCEL_ORDER")
    assert place.client_id == cancel.client_id == 1
    expected_place, expected_cancel = EXPECTED[server_version]
    assert _normalised(place) == expected_place
    assert _normalised(cancel) == expected_cancel


@pytest.mark.parametrize("version", [176, 178])
def test_place_order_layout_when_parsing_pinned_fields_then_names_line_up(version: int) -> None:
    fields = [f if f != "<ID>" else "17" for f in EXPECTED[version][0]]
    parsed = parse_place_order(fields, version)
    assert parsed["order_id"] == "17"
    assert (parsed["symbol"], parsed["sec_type"], parsed["exchange"]) == ("AAPL", "STK", "SMART")
    assert (parsed["action"], parsed["total_quantity"], parsed["order_type"]) == (
        "BUY",
        "100",
        "LMT",
    )
    assert (parsed["lmt_price"], parsed["tif"], parsed["account"]) == ("150.5", "DAY", "U1234567")
    assert (parsed["order_ref"], parsed["transmit"], parsed["parent_id"]) == ("pin-ref", "1", "0")
    assert (parsed["what_if"], parsed["manual_order_time"], parsed["num_conditions"]) == (
        "0",
        "",
        "0",
    )
    assert ("fa_profile" in parsed) == (version < 177)


@pytest.mark.parametrize("version", [176, 178])
def test_place_order_layout_when_field_missing_or_extra_then_rejected(version: int) -> None:
    fields = [f if f != "<ID>" else "17" for f in EXPECTED[version][0]]
    with pytest.raises(ValueError, match="trailing"):
        parse_place_order([*fields, "surplus"], version)
    with pytest.raises(ValueError, match="ended before"):
        parse_place_order(fields[:-3], version)
