"""The wire boundaries of both services, fuzzed as pure functions: only contract values pass."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from livegate_api.v1 import common_pb2
from policy_service import wire as policy_wire
from policy_service.wire import ShapeError
from tests.fuzz import strategies as fz
from tests.fuzz.checks import UPPER_SNAKE
from writer_service import wire as writer_wire
from writer_service.errors import WriterError

PLAIN_DECIMAL: Final = re.compile(r"[0-9]+(\.[0-9]+)?")
SYMBOL: Final = re.compile(r"[A-Z0-9.\-]{1,16}")
KEY: Final = re.compile(r"[A-Za-z0-9._:\-]{8,64}")
IDENT: Final = re.compile(r"[A-Za-z0-9_\-]{1,64}")
ACCOUNT: Final = re.compile(r"[A-Za-z0-9]{1,32}")
pure = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
strings = st.one_of(fz.decimals, fz.text, fz.keys, fz.idents())
trailing = ["1\n", "AAPL\n", "idem-key-0001\n", "pv_1\n", "U1234567\n", "١٢", "\uff11\uff12"]


def _refused_clearly(reason: str) -> None:
    assert UPPER_SNAKE.fullmatch(reason), reason


@pure
@given(raw=strings)
@example(raw="1\n")
@example(raw="١٢")
def test_policy_decimal_when_string_is_fuzzed_then_only_plain_positive_decimals_pass(
    raw: str,
) -> None:
    try:
        value = policy_wire.price(raw, "f")
    except ShapeError as err:
        _refused_clearly(err.denial.reason)
        assert err.denial.code == "INVALID_ARGUMENT"
        return
    assert PLAIN_DECIMAL.fullmatch(raw), repr(raw)
    assert value.is_finite() and value > 0 and value == Decimal(raw)


@pure
@given(raw=strings)
@example(raw="1\n")
@example(raw="١٢")
def test_writer_decimal_when_string_is_fuzzed_then_only_plain_positive_decimals_pass(
    raw: str,
) -> None:
    try:
        value = writer_wire.decimal_field(raw, "f")
    except WriterError as err:
        _refused_clearly(err.reason)
        assert err.kind.value == "INVALID_ARGUMENT"
        return
    assert PLAIN_DECIMAL.fullmatch(raw), repr(raw)
    assert value.is_finite() and value > 0


@pytest.mark.parametrize("raw", trailing)
def test_policy_identifiers_when_value_has_trailing_newline_or_foreign_digits_then_refused(
    raw: str,
) -> None:
    for check in (
        lambda: policy_wire.key(raw),
        lambda: policy_wire.ident(raw, "preview_id"),
        lambda: policy_wire.account(raw),
        lambda: policy_wire.decimal(raw, "quantity"),
        lambda: policy_wire.instrument(
            common_pb2.Instrument(symbol=raw, sec_type=common_pb2.SEC_TYPE_STOCK)
        ),
    ):
        with pytest.raises(ShapeError):
            check()


@pure
@given(raw=strings)
def test_policy_identifiers_when_fuzzed_then_only_their_alphabet_passes(raw: str) -> None:
    for check, pattern in (
        (lambda: policy_wire.key(raw), KEY),
        (lambda: policy_wire.ident(raw, "preview_id"), IDENT),
        (lambda: policy_wire.account(raw), ACCOUNT),
    ):
        try:
            check()
        except ShapeError as err:
            _refused_clearly(err.denial.reason)
            continue
        assert pattern.fullmatch(raw), repr(raw)


@pure
@given(symbol=fz.symbols, sec_type=fz.sec_types)
@example(symbol="AAPL\n", sec_type=1)
def test_symbol_when_fuzzed_then_both_services_pass_only_the_contract_alphabet(
    symbol: str, sec_type: int
) -> None:
    msg = common_pb2.Instrument(symbol=symbol, sec_type=sec_type)  # type: ignore[arg-type]
    for convert, error in (
        (lambda: policy_wire.instrument(msg), ShapeError),
        (lambda: writer_wire.instrument(msg), WriterError),
    ):
        try:
            convert()
        except error:
            continue
        assert SYMBOL.fullmatch(symbol), repr(symbol)
