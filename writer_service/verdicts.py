"""A write's verdict from the broker's truth: the order to answer with, or the refusal to raise.

A broker message is never a verdict by itself: IB sends warnings and informational codes
about orders it keeps working (2109, 399, 404, ...), and ib_async marks some orders Cancelled
that stay live. What decides is what a fresh read-back shows; the messages travel with the
answer either way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from writer_service import errors
from writer_service.orders import BrokerMessage, BrokerOrderView, OrderSpec, bounded_messages
from writer_service.truth import BracketState, BrokerTruth, Found, Judged, by_identity, same_order

LEG_NAMES = ("parent", "take_profit", "stop_loss")


def message_metadata(messages: Sequence[BrokerMessage]) -> dict[str, object]:
    """The broker's messages as ErrorInfo metadata (a flat map of strings)."""
    kept = bounded_messages(messages)
    return {
        "broker_error_code": kept[0].code if kept else -1,
        "broker_messages": json.dumps(
            [
                {"code": m.code, "message": m.message, "broker_order_id": m.broker_order_id}
                for m in kept
            ]
        ),
    }


def with_messages(view: BrokerOrderView, messages: Sequence[BrokerMessage]) -> BrokerOrderView:
    return replace(view, messages=bounded_messages(messages))


def _state(view: BrokerOrderView | None) -> dict[str, object]:
    if view is None:
        return {}
    return {
        "broker_order_id": view.broker_order_id,
        "status": view.status,
        "filled": view.filled,
        "remaining": view.remaining,
    }


def order_answer(
    judged: Judged, messages: Sequence[BrokerMessage], what: str, truth: BrokerTruth
) -> BrokerOrderView:
    """A submitted order's verdict: the order when the broker works or filled it."""
    if judged.found is Found.ALIVE and judged.view is not None:
        return with_messages(judged.view, messages)
    meta = {**message_metadata(messages), **_state(judged.view)}
    if judged.found is Found.UNKNOWN:
        raise errors.broker_outcome_unknown(what, ",".join(truth.unanswered), **meta)
    if judged.found is Found.MISMATCH:
        others = judged.others[0] if judged.others else None
        raise errors.order_ref_mismatch(others.order_ref if others else "", **meta)
    found = "ended without a fill" if judged.found is Found.DEAD else "is not at the broker"
    raise errors.WriterError(
        errors.ErrorKind.FAILED_PRECONDITION,
        "BROKER_REJECTED",
        f"{what} {found}; read back from open orders, completed orders and executions",
        meta,
    )


def modify_answer(
    truth: BrokerTruth,
    original: BrokerOrderView,
    account: str,
    wanted: OrderSpec,
    messages: Sequence[BrokerMessage],
) -> BrokerOrderView:
    """A modify succeeded only when the broker shows the replacement values."""
    rows = by_identity(truth, original.perm_id, original.broker_order_id)
    meta = message_metadata(messages)
    changed = [v for v in rows if same_order(v, account, wanted)]
    if changed and (changed[0].is_alive):
        return with_messages(changed[0], messages)
    if rows:
        row = rows[0]
        reason = "ORDER_NOT_MODIFIABLE" if row.is_done else "BROKER_REJECTED"
        raise errors.WriterError(
            errors.ErrorKind.FAILED_PRECONDITION,
            reason,
            f"the broker kept the order's values (it is {row.status})",
            {**meta, **_state(row), "operation": "modify"},
        )
    raise errors.broker_outcome_unknown(
        "the modify", ",".join(truth.unanswered) or "the order's row", **meta
    )


def cancel_answer(
    truth: BrokerTruth, original: BrokerOrderView, messages: Sequence[BrokerMessage]
) -> BrokerOrderView:
    """A cancel succeeded only when the broker shows the order cancelled (or done, cancelled,
    in completed orders); still working, or filled instead, is a refusal of its own."""
    rows = by_identity(truth, original.perm_id, original.broker_order_id)
    meta = message_metadata(messages)
    working = [v for v in rows if not v.is_done]
    if working:
        raise errors.WriterError(
            errors.ErrorKind.FAILED_PRECONDITION,
            "CANCEL_NOT_CONFIRMED",
            f"the broker keeps the order working ({working[0].status}) after the cancel",
            {**meta, **_state(working[0])},
        )
    if rows and rows[0].status == "Filled":
        raise errors.WriterError(
            errors.ErrorKind.FAILED_PRECONDITION,
            "ORDER_FILLED_BEFORE_CANCEL",
            "the order filled before the cancel reached it",
            {**meta, **_state(rows[0]), "avg_fill_price": rows[0].avg_fill_price},
        )
    if rows:
        return with_messages(rows[0], messages)
    raise errors.broker_outcome_unknown(
        "the cancel", ",".join(truth.unanswered) or "the order's row", **meta
    )


def bracket_error(
    state: BracketState,
    legs: tuple[Judged, Judged, Judged],
    messages: Sequence[BrokerMessage],
    truth: BrokerTruth,
    cancelled: Sequence[int] = (),
) -> errors.WriterError:
    """The refusal for a bracket that is not PLACED (and not ABSENT before a send)."""
    meta: dict[str, object] = {**message_metadata(messages)}
    for name, leg in zip(LEG_NAMES, legs, strict=True):
        meta[f"{name}_found"] = leg.found.value
        if leg.view is not None:
            meta[f"{name}_broker_order_id"] = leg.view.broker_order_id
            meta[f"{name}_status"] = leg.view.status
            meta[f"{name}_filled"] = leg.view.filled
    if state is BracketState.UNKNOWN:
        return errors.broker_outcome_unknown("the bracket", ",".join(truth.unanswered), **meta)
    if state is BracketState.MISMATCH:
        return errors.order_ref_mismatch("", **meta)
    if state is BracketState.PARTIAL:
        return errors.WriterError(
            errors.ErrorKind.FAILED_PRECONDITION,
            "BRACKET_PARTIALLY_PLACED",
            "only part of the bracket is at the broker; its working legs were cancelled "
            "unless the entry had filled (then its exits stay)",
            {**meta, "cancelled_broker_order_ids": ",".join(str(i) for i in cancelled)},
        )
    return errors.WriterError(
        errors.ErrorKind.FAILED_PRECONDITION,
        "BROKER_REJECTED",
        "no leg of the bracket is working or filled at the broker",
        meta,
    )
