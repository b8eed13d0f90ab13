"""Order life in the audit trail: each execution and status change an event linked to its key.

The policy pulls executions from the writer (FillWatch, on an interval) rather than taking a
stream: a pull after a restart or a lost connection reads the broker's list again, and the
store records each exec id once (its primary key), so a repeat, a second replica or a restart
adds nothing. IB sends the commission apart from, and after, the execution: a fill is recorded
at once, and its commission as a second event when it arrives. An execution whose orderRef is
no key livegate recorded for that account is reported, never linked to a key. A status is
recorded when it (or the filled quantity) differs from the one recorded last for the order, so
Submitted, PreSubmitted, Submitted again are three events, and a repeat is none; a status that
lasted less than the pull interval is not seen (its executions are, as fills).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from policy_service.domain.audit import SERVICE_PRINCIPAL, AuditDraft
from policy_service.domain.reference import Fill

FILL_METHOD: Final = "OrderFill"
COMMISSION_METHOD: Final = "OrderCommission"
STATUS_METHOD: Final = "OrderStatus"
# Statuses after which an order cannot trade any more: it stops counting as open at once.
ENDED: Final = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})
# The writer's orderRef of a bracket's exits: the key, this separator, tp or sl.
LEG_SEPARATOR: Final = "~"
# The writer's request ids are at most 64 characters; an exec id is about 25.
_REQUEST_ID_MAX: Final = 64
_ORDER_REF_MAX: Final = 64


@dataclass(frozen=True)
class OrderStatusReport:
    """One of livegate's orders as the writer's session knows it now."""

    broker_order_id: int
    order_ref: str
    status: str
    filled: Decimal
    remaining: Decimal
    # When the writer's session saw the status change (its clock); 0 when not reported.
    changed_at_us: int = 0


@dataclass(frozen=True)
class OrderLink:
    """The livegate write an execution belongs to: its key and the principal that made it."""

    key: str
    principal: str


def key_of(order_ref: str) -> str:
    """The idempotency key an orderRef carries (a bracket exit's ref: key~tp, key~sl)."""
    key, _, _leg = order_ref.partition(LEG_SEPARATOR)
    return key


def completes(fill: Fill) -> bool:
    """Whether the order is filled in full once this execution counted."""
    if fill.cum_quantity is None or fill.order_quantity is None:
        return False
    return fill.cum_quantity >= fill.order_quantity


def correction_base(exec_id: str) -> str:
    """IB's exec id without its revision (a correction keeps the rest and raises it)."""
    base, dot, _revision = exec_id.rpartition(".")
    return base if dot else exec_id


def fill_draft(
    fill: Fill, account_hash: str, link: OrderLink | None, corrects: str = ""
) -> AuditDraft:
    """The event of one execution; CORRECTS names the exec id it revises, if any."""
    detail = _detail(fill, link)
    detail.update(
        action=fill.action.value,
        con_id=str(fill.con_id),
        quantity=_text(fill.quantity),
        price=_text(fill.price),
        broker_time_us=str(fill.time_us),
        order_quantity=_text(fill.order_quantity),
        complete="true" if completes(fill) else "false",
    )
    if corrects:
        detail["corrects"] = corrects
    return _draft(FILL_METHOD, fill, account_hash, link, detail)


def commission_draft(fill: Fill, account_hash: str, link: OrderLink | None) -> AuditDraft:
    """The event of a commission reported after its execution was recorded."""
    return _draft(COMMISSION_METHOD, fill, account_hash, link, _detail(fill, link))


def status_draft(
    report: OrderStatusReport, account_hash: str, link: OrderLink, previous: str
) -> AuditDraft:
    """The event of a status change (PREVIOUS: the status recorded before, "" for none)."""
    return AuditDraft(
        method=STATUS_METHOD,
        request_id=f"{STATUS_METHOD}:{report.broker_order_id}:{report.status}"[:_REQUEST_ID_MAX],
        principal=link.principal or SERVICE_PRINCIPAL,
        outcome="RECORDED",
        account_id_hash=account_hash,
        idempotency_key=link.key,
        broker_order_id=report.broker_order_id,
        detail={
            "status": report.status,
            "previous_status": previous,
            "filled": str(report.filled),
            "remaining": str(report.remaining),
        },
    )


def _detail(fill: Fill, link: OrderLink | None) -> dict[str, str]:
    detail = {
        "exec_id": fill.exec_id,
        "commission": _text(fill.commission),
        "cum_quantity": _text(fill.cum_quantity),
        "linked": "true" if link is not None else "false",
    }
    if link is None:
        # Reported as the broker sent it, so the operator can find whoever placed it.
        detail["order_ref"] = fill.order_ref[:_ORDER_REF_MAX]
    return detail


def _draft(
    method: str, fill: Fill, account_hash: str, link: OrderLink | None, detail: dict[str, str]
) -> AuditDraft:
    return AuditDraft(
        method=method,
        request_id=f"{method}:{fill.exec_id}"[:_REQUEST_ID_MAX],
        principal=link.principal if link is not None and link.principal else SERVICE_PRINCIPAL,
        outcome="RECORDED",
        account_id_hash=account_hash,
        idempotency_key=link.key if link is not None else "",
        broker_order_id=fill.broker_order_id,
        detail=detail,
    )


def _text(value: Decimal | None) -> str:
    return "" if value is None else str(value)
