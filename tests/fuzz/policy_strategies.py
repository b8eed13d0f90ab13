"""Hypothesis strategies for every PolicyService request: mostly valid, some fields broken."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from livegate_api.v1 import common_pb2, policy_pb2
from tests.fuzz.strategies import (
    ACCOUNT,
    FRESH,
    FRESH_APPROVAL,
    FRESH_PREVIEW,
    INT32_MAX,
    INT32_MIN,
    Fields,
    accounts,
    actions,
    changes,
    decimals,
    enums,
    good_account,
    good_key,
    good_quantity,
    idents,
    instruments,
    int64s,
    keys,
    kill_switch_states,
    orders,
    set_message,
    text,
    tifs,
    timestamps,
)


@st.composite
def create_order_preview(draw: st.DrawFn) -> policy_pb2.CreateOrderPreviewRequest:
    f = Fields(draw, ["account", "order"])
    msg = policy_pb2.CreateOrderPreviewRequest(account_id=f("account", good_account, accounts))
    if "order" not in f.bad or draw(st.booleans()):
        msg.order.CopyFrom(draw(orders()))
    return msg


@st.composite
def create_modify_preview(
    draw: st.DrawFn, orders_: Sequence[int] = ()
) -> policy_pb2.CreateModifyPreviewRequest:
    f = Fields(draw, ["account", "order"])
    msg = policy_pb2.CreateModifyPreviewRequest(
        account_id=f("account", good_account, accounts),
        broker_order_id=f("order", st.sampled_from(orders_ or [1]), int64s),
    )
    set_message(msg, "changes", draw(changes()))
    return msg


@st.composite
def create_bracket_preview(draw: st.DrawFn) -> policy_pb2.CreateBracketPreviewRequest:
    f = Fields(draw, ["account", "action", "qty", "entry", "take", "stop", "tif", "instrument"])
    msg = policy_pb2.CreateBracketPreviewRequest(
        account_id=f("account", good_account, accounts),
        action=f("action", st.just(1), actions),  # type: ignore[arg-type]
        quantity=f("qty", good_quantity, decimals),
        entry_limit_price=f("entry", st.just("100.00"), decimals),
        take_profit_price=f("take", st.just("100.50"), decimals),
        stop_loss_price=f("stop", st.just("99.50"), decimals),
        time_in_force=f("tif", st.just(1), tifs),  # type: ignore[arg-type]
    )
    if "instrument" not in f.bad or draw(st.booleans()):
        msg.instrument.CopyFrom(draw(instruments()))
    return msg


def _known(known: Sequence[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(list(known)) if known else st.just("pv_unknown")


@st.composite
def approve_preview(draw: st.DrawFn, previews: Sequence[str]) -> policy_pb2.ApprovePreviewRequest:
    f = Fields(draw, ["preview", "comment"])
    return policy_pb2.ApprovePreviewRequest(
        preview_id=f("preview", _known(previews), idents()),
        comment=f("comment", st.just("ok"), text),
    )


@st.composite
def submit_order(
    draw: st.DrawFn, previews: Sequence[str], approvals: Sequence[str]
) -> policy_pb2.SubmitOrderRequest:
    f = Fields(draw, ["account", "preview", "approval", "key"])
    pairs = list(zip(previews, approvals, strict=True)) + [(FRESH_PREVIEW, FRESH_APPROVAL)] * 2
    preview, approval = draw(st.sampled_from(pairs))
    return policy_pb2.SubmitOrderRequest(
        account_id=f("account", good_account, accounts),
        preview_id=f("preview", st.just(preview), idents(*previews)),
        approval_id=f("approval", st.just(approval), idents(*approvals)),
        idempotency_key=f("key", good_key, keys),
    )


@st.composite
def cancel_order(draw: st.DrawFn, orders_: Sequence[int]) -> policy_pb2.CancelOrderRequest:
    f = Fields(draw, ["account", "order", "key"])
    return policy_pb2.CancelOrderRequest(
        account_id=f("account", good_account, accounts),
        broker_order_id=f("order", st.sampled_from(orders_ or [1]), int64s),
        idempotency_key=f("key", good_key, keys),
    )


@st.composite
def get_broker_order(draw: st.DrawFn, orders_: Sequence[int]) -> policy_pb2.GetBrokerOrderRequest:
    f = Fields(draw, ["account", "order"])
    return policy_pb2.GetBrokerOrderRequest(
        account_id=f("account", good_account, accounts),
        broker_order_id=f("order", st.sampled_from(orders_ or [1]), int64s),
    )


@st.composite
def modify_order(
    draw: st.DrawFn, modify: tuple[str, str], previews: Sequence[str], orders_: Sequence[int]
) -> policy_pb2.ModifyOrderRequest:
    """Good values are the seeded modify: its order, preview, approval and changes."""
    f = Fields(draw, ["account", "order", "preview", "approval", "key", "changes"])
    msg = policy_pb2.ModifyOrderRequest(
        account_id=f("account", good_account, accounts),
        broker_order_id=f("order", st.sampled_from(orders_[:1] or [1]), int64s),
        approval_id=f("approval", st.just(modify[1]), idents()),
        preview_id=f("preview", st.just(modify[0]), idents(*previews)),
        idempotency_key=f("key", good_key, keys),
    )
    good_changes = st.just(common_pb2.OrderChanges(quantity="5"))
    set_message(msg, "changes", f("changes", good_changes, changes()))
    return msg


@st.composite
def submit_bracket(
    draw: st.DrawFn,
    bracket: tuple[Sequence[str], Sequence[str]],
    previews: Sequence[str],
    approvals: Sequence[str],
) -> policy_pb2.SubmitBracketRequest:
    """Good values: the seeded group or a fresh one, legs in order; bad: any other id."""
    names = ["pp", "tp", "sp", "pa", "ta", "sa"]
    f = Fields(draw, ["account", "key", *names])
    good = draw(st.sampled_from([[*bracket[0], *bracket[1]], list(FRESH[2:])]))
    p, a = idents(*previews), idents(*approvals)
    pairs = enumerate(zip(names, good, strict=True))
    ids = [f(name, st.just(value), p if i < 3 else a) for i, (name, value) in pairs]
    return policy_pb2.SubmitBracketRequest(
        account_id=f("account", good_account, accounts),
        parent_preview_id=ids[0],
        take_profit_preview_id=ids[1],
        stop_loss_preview_id=ids[2],
        parent_approval_id=ids[3],
        take_profit_approval_id=ids[4],
        stop_loss_approval_id=ids[5],
        idempotency_key=f("key", good_key, keys),
    )


@st.composite
def set_kill_switch(draw: st.DrawFn) -> policy_pb2.SetKillSwitchRequest:
    f = Fields(draw, ["state", "reason"])
    return policy_pb2.SetKillSwitchRequest(
        state=f("state", st.sampled_from([1, 2, 3]), kill_switch_states),  # type: ignore[arg-type]
        reason=f("reason", st.just("fuzz"), text),
        cancel_all_open_orders=draw(st.booleans()),
        broker_wide_cancel=draw(st.booleans()),
    )


@st.composite
def confirm_reopen(draw: st.DrawFn) -> policy_pb2.ConfirmReopenRequest:
    f = Fields(draw, ["reopen_id", "reason"])
    return policy_pb2.ConfirmReopenRequest(
        reopen_id=f("reopen_id", st.from_regex(r"[a-f0-9]{32}", fullmatch=True), text),
        reason=f("reason", st.just("fuzz"), text),
    )


scope_states = enums([1, 2, 3])


@st.composite
def set_scoped_stop(draw: st.DrawFn) -> policy_pb2.SetScopedStopRequest:
    f = Fields(draw, ["kind", "value", "state", "reason"])
    good_value = st.sampled_from([ACCOUNT, "upstream", "fuzz-tag", "nobody", "U7654321"])
    return policy_pb2.SetScopedStopRequest(
        kind=f("kind", st.sampled_from([1, 2, 3]), enums([1, 2, 3])),
        value=f("value", good_value, text),
        # OPEN, CLOSED and REDUCING; the bad ones: UNSPECIFIED and values never defined.
        state=f("state", st.sampled_from([1, 2, 3]), scope_states),  # type: ignore[arg-type]
        reason=f("reason", st.just("fuzz"), text),
    )


@st.composite
def list_audit_events(draw: st.DrawFn) -> policy_pb2.ListAuditEventsRequest:
    msg = policy_pb2.ListAuditEventsRequest(
        request_id=draw(st.one_of(st.just(""), text)),
        idempotency_key=draw(st.one_of(st.just(""), keys)),
        page_size=draw(st.one_of(st.integers(-2, 1002), st.integers(INT32_MIN, INT32_MAX))),
        after_event_id=draw(int64s),
    )
    set_message(msg, "since", draw(timestamps))
    set_message(msg, "until", draw(timestamps))
    return msg


@st.composite
def export_audit(draw: st.DrawFn) -> policy_pb2.ExportAuditRequest:
    msg = policy_pb2.ExportAuditRequest()
    set_message(msg, "until", draw(timestamps))
    return msg


@st.composite
def purge_audit(draw: st.DrawFn) -> policy_pb2.PurgeAuditRequest:
    msg = policy_pb2.PurgeAuditRequest(dry_run=draw(st.booleans()))
    set_message(msg, "before", draw(timestamps))
    return msg


@st.composite
def renew_lease(draw: st.DrawFn) -> policy_pb2.RenewLeaseRequest:
    """A ttl in bounds (5..3600 s by default), out of them, or not a number at all."""
    good = st.sampled_from([5.0, 30.0, 3600.0])
    bad = st.floats(allow_nan=True, allow_infinity=True)
    return policy_pb2.RenewLeaseRequest(ttl_s=draw(st.one_of(good, bad)))
