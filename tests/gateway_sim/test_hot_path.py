"""Shortcuts on the placeOrder path must give exactly what the plain versions give."""

from __future__ import annotations

import dataclasses
import struct
from decimal import Decimal

from gateway_sim.engine import _snap
from gateway_sim.market import contract_info
from gateway_sim.models import SimOrder
from gateway_sim.protocol import Field, encode_frame, fmt


class _Tagged(str):
    """A str subclass that renders differently: fmt uses str(value), so must the fast path."""

    def __str__(self) -> str:
        return "tagged:" + super().__str__()


def _reference_frame(fields: list[Field]) -> bytes:
    payload = "".join(fmt(f) + "\0" for f in fields).encode()
    return struct.pack(">I", len(payload)) + payload


def test_encode_frame_when_mixed_field_types_then_same_bytes_as_formatting_each_field() -> None:
    cases: list[list[Field]] = [
        [],
        [""],
        [5, "", None, True, False, 0, -1, "héllo"],
        [Decimal("190.10"), Decimal("1E+2"), Decimal("0.000"), Decimal("-0"), Decimal(7)],
        [_Tagged("BUY"), "1.7976931348623157E308", 2**31 - 1],
    ]
    for fields in cases:
        assert encode_frame(fields) == _reference_frame(fields)


def test_snap_when_taken_then_equals_dataclasses_replace_and_is_a_new_object() -> None:
    # _snap skips SimOrder.__init__; that is only equivalent while SimOrder has no
    # __post_init__, no init=False fields and no slots.
    assert not hasattr(SimOrder, "__post_init__")
    assert all(f.init for f in dataclasses.fields(SimOrder))
    assert not hasattr(SimOrder, "__slots__")
    order = SimOrder(
        order_id=3,
        perm_id=1_000_000_001,
        client_id=1,
        account="U1234567",
        symbol="AAPL",
        sec_type="STK",
        exchange="SMART",
        currency="USD",
        action="BUY",
        total_quantity=Decimal(1),
        order_type="LMT",
        lmt_price=Decimal("189.0"),
        aux_price=None,
        tif="DAY",
        order_ref="ref",
        parent_id=0,
        oca_group="",
        transmit=True,
        status="Submitted",
        placed_fields={"order_id": "3"},
    )
    snap = _snap(order)
    assert snap is not order
    assert vars(snap) == vars(dataclasses.replace(order))
    order.status = "Filled"
    assert snap.status == "Submitted"


def test_contract_info_when_cached_then_same_as_built_fresh() -> None:
    for args in (("aapl",), ("MSFT", "STK", "USD"), ("zzz", "", ""), ("XYZ", "STK", "EUR")):
        assert contract_info(*args) == contract_info.__wrapped__(*args)
        assert contract_info(*args) is contract_info(*args)
