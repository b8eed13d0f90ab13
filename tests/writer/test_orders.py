"""Orders through a real writer over mTLS into the gateway simulator."""

from __future__ import annotations

from decimal import Decimal

import grpc
import pytest

from livegate_api.v1 import common_pb2, writer_pb2
from livegate_common.errors import error_info
from tests.support.writers import ACCOUNT
from tests.writer.conftest import RunningWriter, stub


def limit_order(
    qty: str = "10", price: str = "150.00", action: int = common_pb2.ACTION_BUY
) -> common_pb2.Order:
    return common_pb2.Order(
        instrument=common_pb2.Instrument(symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK),
        action=action,
        quantity=qty,
        order_type=common_pb2.ORDER_TYPE_LIMIT,
        limit_price=price,
        time_in_force=common_pb2.TIME_IN_FORCE_DAY,
    )


def stop_order(qty: str, stop: str) -> common_pb2.Order:
    return common_pb2.Order(
        instrument=common_pb2.Instrument(symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK),
        action=common_pb2.ACTION_SELL,
        quantity=qty,
        order_type=common_pb2.ORDER_TYPE_STOP,
        stop_price=stop,
        time_in_force=common_pb2.TIME_IN_FORCE_GTC,
    )


def submit(
    rw: RunningWriter, key: str, order: common_pb2.Order | None = None
) -> writer_pb2.WriterOrderResult:
    return rw.policy.SubmitOrder(
        writer_pb2.WriterSubmitOrderRequest(
            request_id="r1", account_id=ACCOUNT, order=order or limit_order(), idempotency_key=key
        ),
        timeout=10,
    )


def refusal(
    call: pytest.ExceptionInfo[grpc.RpcError],
) -> tuple[grpc.StatusCode, str, dict[str, str]]:
    info = error_info(call.value)
    assert info is not None
    return call.value.code(), info.reason, dict(info.metadata)


def test_submit_when_switch_open_then_broker_holds_order_with_key_as_order_ref(
    running: RunningWriter,
) -> None:
    result = submit(running, "key-submit-1")
    assert not result.reconciled
    assert result.order.order_ref == "key-submit-1"
    assert result.order.status in ("Submitted", "PreSubmitted")
    held = [o for o in running.sim.orders() if o.order_ref == "key-submit-1"]
    assert len(held) == 1
    assert held[0].order_id == result.order.broker_order_id
    assert held[0].lmt_price == Decimal("150.00") and held[0].total_quantity == Decimal(10)


def test_submit_when_key_already_at_broker_then_returns_it_reconciled(
    running: RunningWriter,
) -> None:
    first = submit(running, "key-dup")
    second = submit(running, "key-dup")
    assert second.reconciled
    assert second.order.broker_order_id == first.order.broker_order_id
    assert len([o for o in running.sim.orders() if o.order_ref == "key-dup"]) == 1


def test_modify_when_changes_bounded_then_same_order_id_and_broker_holds_new_values(
    running: RunningWriter,
) -> None:
    placed = submit(running, "key-mod")
    result = running.policy.ModifyOrder(
        writer_pb2.WriterModifyOrderRequest(
            account_id=ACCOUNT,
            broker_order_id=placed.order.broker_order_id,
            changes=common_pb2.OrderChanges(quantity="7", limit_price="149.50"),
            idempotency_key="key-mod-1",
        ),
        timeout=10,
    )
    assert result.order.broker_order_id == placed.order.broker_order_id
    assert Decimal(result.order.order.quantity) == Decimal(7)
    assert Decimal(result.order.order.limit_price) == Decimal("149.50")
    assert result.order.order_ref == "key-mod"
    held = next(o for o in running.sim.orders() if o.order_id == placed.order.broker_order_id)
    assert (held.total_quantity, held.lmt_price) == (Decimal(7), Decimal("149.50"))


def test_modify_when_changes_empty_then_invalid_argument(running: RunningWriter) -> None:
    placed = submit(running, "key-mod-empty")
    with pytest.raises(grpc.RpcError) as call:
        running.policy.ModifyOrder(
            writer_pb2.WriterModifyOrderRequest(
                account_id=ACCOUNT,
                broker_order_id=placed.order.broker_order_id,
                changes=common_pb2.OrderChanges(),
                idempotency_key="k",
            ),
            timeout=10,
        )
    assert refusal(call)[:2] == (grpc.StatusCode.INVALID_ARGUMENT, "CHANGES_EMPTY")


def test_cancel_when_order_working_then_broker_reports_cancelled(running: RunningWriter) -> None:
    placed = submit(running, "key-cancel")
    result = running.policy.CancelOrder(
        writer_pb2.WriterCancelOrderRequest(
            account_id=ACCOUNT, broker_order_id=placed.order.broker_order_id, idempotency_key="c1"
        ),
        timeout=10,
    )
    assert result.order.status == "Cancelled"
    held = next(o for o in running.sim.orders() if o.order_id == placed.order.broker_order_id)
    assert held.status == "Cancelled"


def test_cancel_when_order_unknown_then_not_found(running: RunningWriter) -> None:
    with pytest.raises(grpc.RpcError) as call:
        running.policy.CancelOrder(
            writer_pb2.WriterCancelOrderRequest(
                account_id=ACCOUNT, broker_order_id=987654, idempotency_key="c2"
            ),
            timeout=10,
        )
    assert refusal(call)[:2] == (grpc.StatusCode.NOT_FOUND, "ORDER_NOT_FOUND")


def test_submit_bracket_when_valid_then_native_parent_children_in_one_oca_group(
    running: RunningWriter,
) -> None:
    result = running.policy.SubmitBracket(
        writer_pb2.WriterSubmitBracketRequest(
            account_id=ACCOUNT,
            parent=limit_order("5", "150.00"),
            take_profit=limit_order("5", "160.00", common_pb2.ACTION_SELL),
            stop_loss=stop_order("5", "140.00"),
            idempotency_key="key-br",
        ),
        timeout=10,
    )
    parent, tp, sl = result.parent, result.take_profit, result.stop_loss
    assert [parent.order_ref, tp.order_ref, sl.order_ref] == ["key-br", "key-br~tp", "key-br~sl"]
    assert tp.parent_id == parent.broker_order_id == sl.parent_id
    assert tp.oca_group and tp.oca_group == sl.oca_group
    held = {o.order_ref: o for o in running.sim.orders()}
    assert [held[r].transmit for r in ("key-br", "key-br~tp", "key-br~sl")] == [False, False, True]
    assert held["key-br~tp"].oca_group == held["key-br~sl"].oca_group == tp.oca_group
    assert held["key-br~tp"].parent_id == held["key-br"].order_id
    again = running.policy.SubmitBracket(
        writer_pb2.WriterSubmitBracketRequest(
            account_id=ACCOUNT,
            parent=limit_order("5", "150.00"),
            take_profit=limit_order("5", "160.00", common_pb2.ACTION_SELL),
            stop_loss=stop_order("5", "140.00"),
            idempotency_key="key-br",
        ),
        timeout=10,
    )
    assert again.reconciled and again.parent.broker_order_id == parent.broker_order_id
    assert len(running.sim.orders()) == 3


def test_cancel_all_when_switch_closed_then_every_working_order_cancelled(
    running: RunningWriter,
) -> None:
    submit(running, "key-ca-1")
    submit(running, "key-ca-2")
    running.policy.SetKillSwitch(
        writer_pb2.WriterSetKillSwitchRequest(
            state=common_pb2.KILL_SWITCH_STATE_CLOSED, reason="incident", version=2
        ),
        timeout=5,
    )
    response = running.policy.CancelAllOrders(
        writer_pb2.CancelAllOrdersRequest(reason="incident"), timeout=10
    )
    assert response.cancelled_orders == 2
    assert sorted(o.order_ref for o in response.cancelled) == ["key-ca-1", "key-ca-2"]
    assert all(o.status == "Cancelled" for o in running.sim.orders())
    assert [w.name for w in running.sim.received_writes()][-2:] == ["CANCEL_ORDER"] * 2


def test_get_order_when_looked_up_by_ref_or_id_then_same_order(running: RunningWriter) -> None:
    placed = submit(running, "key-get")
    by_ref = running.policy.GetOrder(
        writer_pb2.GetOrderRequest(account_id=ACCOUNT, order_ref="key-get"), timeout=5
    )
    by_id = running.policy.GetOrder(
        writer_pb2.GetOrderRequest(
            account_id=ACCOUNT, broker_order_id=placed.order.broker_order_id
        ),
        timeout=5,
    )
    assert by_ref.order.broker_order_id == by_id.order.broker_order_id
    assert Decimal(by_id.order.order.limit_price) == Decimal("150")


def test_submit_when_broker_rejects_then_failed_precondition_with_broker_code(
    running: RunningWriter,
) -> None:
    running.sim.reject_next_order(201, "Order rejected - reason: test")
    with pytest.raises(grpc.RpcError) as call:
        submit(running, "key-rej")
    code, reason, metadata = refusal(call)
    assert (code, reason, metadata["broker_error_code"]) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "BROKER_REJECTED",
        "201",
    )


@pytest.mark.parametrize(
    ("quantity", "reason"),
    [
        ("abc", "INVALID_DECIMAL"),
        ("-5", "INVALID_DECIMAL"),
        ("1.5", "INVALID_DECIMAL"),
        ("", "FIELD_REQUIRED"),
    ],
)
def test_submit_when_quantity_malformed_then_invalid_argument_and_nothing_sent(
    running: RunningWriter, quantity: str, reason: str
) -> None:
    before = len(running.sim.received_writes())
    with pytest.raises(grpc.RpcError) as call:
        submit(running, "key-bad", limit_order(qty=quantity))
    code, got, metadata = refusal(call)
    assert (code, got) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert metadata["field"] == "order.quantity"
    assert len(running.sim.received_writes()) == before


def test_submit_when_account_not_managed_then_permission_denied(running: RunningWriter) -> None:
    with pytest.raises(grpc.RpcError) as call:
        running.policy.SubmitOrder(
            writer_pb2.WriterSubmitOrderRequest(
                account_id="U0000001", order=limit_order(), idempotency_key="key-acct"
            ),
            timeout=5,
        )
    assert refusal(call)[:2] == (grpc.StatusCode.PERMISSION_DENIED, "ACCOUNT_NOT_MANAGED")


def test_call_when_certificate_is_not_the_policy_service_then_refused(
    running: RunningWriter,
) -> None:
    before = len(running.sim.received_writes())
    upstream = stub(running.pki, "upstream", running.handle.port)
    with pytest.raises(grpc.RpcError) as call:
        upstream.SubmitOrder(
            writer_pb2.WriterSubmitOrderRequest(
                account_id=ACCOUNT, order=limit_order(), idempotency_key="key-x"
            ),
            timeout=5,
        )
    assert refusal(call)[:2] == (grpc.StatusCode.PERMISSION_DENIED, "PRINCIPAL_NOT_CONFIGURED")
    operator = stub(running.pki, "operator", running.handle.port)
    with pytest.raises(grpc.RpcError) as call:
        operator.CancelAllOrders(writer_pb2.CancelAllOrdersRequest(), timeout=5)
    assert refusal(call)[:2] == (grpc.StatusCode.PERMISSION_DENIED, "SCOPE_MISSING")
    assert len(running.sim.received_writes()) == before


def test_get_quote_when_symbol_quoted_then_decimal_bid_ask_last(running: RunningWriter) -> None:
    quote = running.policy.GetQuote(
        writer_pb2.GetQuoteRequest(
            instrument=common_pb2.Instrument(symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK)
        ),
        timeout=10,
    )
    assert (Decimal(quote.bid), Decimal(quote.ask), Decimal(quote.last)) == (
        Decimal("189.20"),
        Decimal("189.30"),
        Decimal("189.25"),
    )
    assert quote.as_of.seconds > 0
