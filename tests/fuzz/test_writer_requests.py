"""Every WriterService request, fuzzed as the policy against a real writer over the simulator."""

from __future__ import annotations

from typing import Any, Final

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import writer_strategies as fz
from tests.fuzz.checks import CLEAR_CODES, assert_clear_refusal, assert_serving, invoke
from tests.fuzz.writer_target import WriterTarget

EXAMPLES = 120
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# A request the writer validated and sent may still time out or be refused at the broker.
WRITER_CODES: Final = CLEAR_CODES | {grpc.StatusCode.DEADLINE_EXCEEDED}
# Refusals that come after a send: what the call sent may be at the broker.
AT_BROKER: Final = frozenset(
    {"BROKER_REJECTED", "BROKER_TIMEOUT", "BROKER_OUTCOME_UNKNOWN", "BRACKET_PARTIALLY_PLACED"}
)
# A refused placement or change cancels nothing it did not itself place.
PLACING: Final = frozenset({"SubmitOrder", "ModifyOrder", "SubmitBracket"})
CANCEL_ORDER, GLOBAL_CANCEL = 4, 58
WRITES: Final = frozenset(
    {"SubmitOrder", "CancelOrder", "ModifyOrder", "SubmitBracket", "CancelAllOrders"}
)


def exercise(writer: WriterTarget, method: str, request: Any, switch_open: bool) -> Any:
    """Call as the policy; a refusal is clear, and nothing it refused reached the broker."""
    writer.set_switch(switch_open)
    before = writer.writes_at_broker()
    seen, existing = len(writer.sim.received()), {o.order_id for o in writer.sim.orders()}
    response, err = invoke(getattr(writer.policy, method), request)
    if err is None:
        if method in WRITES:
            writer.barrier()
        return response
    reason = assert_clear_refusal(err, WRITER_CODES)
    if reason not in AT_BROKER:
        assert writer.writes_at_broker() == before, (method, reason)
    if method in PLACING:
        sent = writer.sim.received()[seen:]
        assert all(m.msg_id != GLOBAL_CANCEL for m in sent), (method, reason)
        cancelled = {int(m.fields[2]) for m in sent if m.msg_id == CANCEL_ORDER}
        assert not cancelled & existing, (method, reason, sorted(cancelled & existing))
    if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        assert reason in ("BROKER_TIMEOUT", "BROKER_OUTCOME_UNKNOWN"), reason
    return None


def _run(writer: WriterTarget, method: str, requests: st.SearchStrategy[Any]) -> None:
    @fuzz
    @given(switch_open=st.booleans(), request=requests)
    def run(switch_open: bool, request: Any) -> None:
        exercise(writer, method, request, switch_open)

    run()
    assert_serving(writer.channel)


def test_submit_order_when_fields_are_fuzzed_then_clear_status(writer: WriterTarget) -> None:
    _run(writer, "SubmitOrder", fz.writer_submit())


def test_cancel_order_when_fields_are_fuzzed_then_clear_status(writer: WriterTarget) -> None:
    _run(writer, "CancelOrder", fz.writer_cancel(writer.orders))


def test_modify_order_when_fields_are_fuzzed_then_clear_status(writer: WriterTarget) -> None:
    _run(writer, "ModifyOrder", fz.writer_modify(writer.orders))


def test_submit_bracket_when_fields_are_fuzzed_then_clear_status(writer: WriterTarget) -> None:
    _run(writer, "SubmitBracket", fz.writer_bracket())


def test_get_order_when_key_is_fuzzed_then_clear_status(writer: WriterTarget) -> None:
    _run(writer, "GetOrder", fz.writer_get_order(writer.orders))


def test_get_quote_when_instrument_is_fuzzed_then_clear_status(writer: WriterTarget) -> None:
    _run(writer, "GetQuote", fz.writer_get_quote())


def test_list_open_orders_when_account_is_fuzzed_then_clear_status(writer: WriterTarget) -> None:
    _run(writer, "ListOpenOrders", fz.writer_list_open_orders)


def test_cancel_all_orders_when_fields_are_fuzzed_then_clear_status(
    writer: WriterTarget,
) -> None:
    _run(writer, "CancelAllOrders", fz.writer_cancel_all)


def test_set_kill_switch_when_fields_are_fuzzed_then_clear_status(writer: WriterTarget) -> None:
    # Last in the module: a fuzzed version may be the largest int64, which later syncs match.
    _run(writer, "SetKillSwitch", fz.writer_set_kill_switch)
