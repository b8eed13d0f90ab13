"""Hypothesis strategies for every WriterService request: mostly valid, some fields broken."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from livegate_api.v1 import writer_pb2
from tests.fuzz.strategies import (
    Fields,
    accounts,
    changes,
    good_account,
    good_key,
    instruments,
    int64s,
    keys,
    kill_switch_states,
    orders,
    set_message,
    text,
)

request_ids = st.one_of(st.just("req-1"), text)
# A few keys come back with other contents: the writer must then find another request's
# orders under the key (only the policy's idempotency store stops that upstream).
writer_key = st.one_of(good_key, st.sampled_from(["fz-reused-0", "fz-reused-1"]))


@st.composite
def writer_submit(draw: st.DrawFn) -> writer_pb2.WriterSubmitOrderRequest:
    f = Fields(draw, ["rid", "account", "key", "order"])
    msg = writer_pb2.WriterSubmitOrderRequest(
        request_id=f("rid", st.just("req-1"), text),
        account_id=f("account", good_account, accounts),
        idempotency_key=f("key", writer_key, keys),
    )
    if "order" not in f.bad or draw(st.booleans()):
        msg.order.CopyFrom(draw(orders()))
    return msg


@st.composite
def writer_cancel(draw: st.DrawFn, orders_: Sequence[int]) -> writer_pb2.WriterCancelOrderRequest:
    f = Fields(draw, ["rid", "account", "order", "key"])
    return writer_pb2.WriterCancelOrderRequest(
        request_id=f("rid", st.just("req-1"), text),
        account_id=f("account", good_account, accounts),
        broker_order_id=f("order", st.sampled_from(orders_ or [1]), int64s),
        idempotency_key=f("key", writer_key, keys),
    )


@st.composite
def writer_modify(draw: st.DrawFn, orders_: Sequence[int]) -> writer_pb2.WriterModifyOrderRequest:
    f = Fields(draw, ["rid", "account", "order", "key"])
    msg = writer_pb2.WriterModifyOrderRequest(
        request_id=f("rid", st.just("req-1"), text),
        account_id=f("account", good_account, accounts),
        broker_order_id=f("order", st.sampled_from(orders_ or [1]), int64s),
        idempotency_key=f("key", writer_key, keys),
    )
    set_message(msg, "changes", draw(changes()))
    return msg


@st.composite
def writer_bracket(draw: st.DrawFn) -> writer_pb2.WriterSubmitBracketRequest:
    f = Fields(draw, ["rid", "account", "key", "parent", "take_profit", "stop_loss"])
    msg = writer_pb2.WriterSubmitBracketRequest(
        request_id=f("rid", st.just("req-1"), text),
        account_id=f("account", good_account, accounts),
        idempotency_key=f("key", writer_key, keys),
    )
    for leg in ("parent", "take_profit", "stop_loss"):
        if leg not in f.bad or draw(st.booleans()):
            msg.__getattribute__(leg).CopyFrom(draw(orders()))
    return msg


@st.composite
def writer_get_order(draw: st.DrawFn, orders_: Sequence[int]) -> writer_pb2.GetOrderRequest:
    f = Fields(draw, ["account", "key"])
    msg = writer_pb2.GetOrderRequest(account_id=f("account", good_account, accounts))
    which = draw(st.sampled_from(["none", "id", "ref"]))
    if which == "id":
        msg.broker_order_id = f("key", st.sampled_from(orders_ or [1]), int64s)
    elif which == "ref":
        msg.order_ref = f("key", writer_key, keys)
    return msg


writer_list_open_orders = st.builds(
    writer_pb2.ListOpenOrdersRequest, account_id=st.one_of(good_account, accounts)
)
writer_set_kill_switch = st.builds(
    writer_pb2.WriterSetKillSwitchRequest,
    request_id=request_ids,
    state=kill_switch_states,
    reason=text,
    version=int64s,
)
writer_cancel_all = st.builds(
    writer_pb2.CancelAllOrdersRequest,
    request_id=request_ids,
    reason=text,
    broker_wide=st.booleans(),
)


@st.composite
def writer_get_quote(draw: st.DrawFn) -> writer_pb2.GetQuoteRequest:
    msg = writer_pb2.GetQuoteRequest()
    set_message(msg, "instrument", draw(st.one_of(st.none(), instruments(), instruments())))
    return msg
