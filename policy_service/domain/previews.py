"""Previews (order, modify, bracket) and approvals: persisted server-side with expiry."""

from __future__ import annotations

import uuid
from decimal import Decimal

from policy_service import reasons
from policy_service.domain import model as m
from policy_service.domain import preview_checks
from policy_service.domain.denials import (
    order_account_mismatch,
    scope_denial,
    writer_denial,
)
from policy_service.domain.enablement import account_denial
from policy_service.domain.gate import Gate
from policy_service.domain.ports import StoreUnavailable, WriterError
from policy_service.domain.scopes import check, reducing_bracket, subjects

PREVIEW_SCOPE = "preview.create"
APPROVAL_SCOPE = "approval.grant"


class Previews:
    def __init__(self, gate: Gate):
        self._gate = gate

    def _admit(
        self,
        call: m.Call,
        scope: str,
        account_id: str,
        strategy: str = "",
        bracket: bool = False,
    ) -> m.Denial | None:
        gate = self._gate
        denial = scope_denial(call, scope)
        if denial is None and account_id:
            denial = account_denial(gate.settings, account_id, gate.account_hash(account_id))
        return denial or self._stopped(account_id, (call.principal,), strategy, bracket)

    def _stopped(
        self, account_id: str, principals: tuple[str, ...], strategy: str, bracket: bool = False
    ) -> m.Denial | None:
        """Step 6's scoped stops: nothing is previewed or approved in a stopped scope, and no
        bracket is previewed in a REDUCING one (it could never be sent). An order or modify
        is previewed and approved there: the write judges it against the position then."""
        gate = self._gate
        try:
            closed, reducing = check(
                gate.store,
                subjects(gate.account_hash(account_id) if account_id else "", principals, strategy),
            )
        except StoreUnavailable:
            return _storage_down()
        if closed is None and bracket and reducing:
            return reducing_bracket(reducing[0])
        return closed

    def _build(
        self,
        call: m.Call,
        account_id: str,
        order: m.OrderSpec,
        quote: m.Quote,
        kind: m.Kind,
        *,
        intended_duplicate: bool = False,
        replaced_quantity: Decimal | None = None,
        **extra: object,
    ) -> m.Preview:
        gate = self._gate
        exit_leg = extra.get("leg") in (m.Leg.TAKE_PROFIT, m.Leg.STOP_LOSS)
        rec = preview_checks.record(
            gate,
            call,
            account_id,
            order,
            quote,
            exit_leg=exit_leg,
            intended_duplicate=intended_duplicate,
            replaced_quantity=replaced_quantity,
        )
        now = rec.leg.now_us
        return m.Preview(
            preview_id=f"pv_{uuid.uuid4().hex}",
            kind=kind,
            account_id=account_id,
            order=rec.order,
            reference_price=rec.leg.reference_price,
            reference_as_of_us=quote.as_of_us,
            estimated_notional=rec.leg.notional,
            checks=tuple(preview_checks.checks(gate, call, account_id, rec.leg, kind)),
            risk_policy_id=gate.policy.policy_id,
            created_by=call.principal,
            created_at_us=now,
            expires_at_us=now + gate.settings.preview_ttl_us,
            details=rec.details,
            details_error=rec.details_error,
            margin=rec.margin,
            margin_error=rec.margin_error,
            requested_type=rec.requested_type,
            intended_duplicate=intended_duplicate,
            replaced_quantity=replaced_quantity,
            **extra,  # type: ignore[arg-type]
        )

    def _save(self, call: m.Call, items: list[m.Preview], account_id: str) -> m.Denial | None:
        gate = self._gate
        draft = gate.draft(
            call,
            "RECORDED",
            None,
            gate_step=0,
            account_id=account_id,
            preview_id=",".join(p.preview_id for p in items),
            detail={"would_pass": str(all(p.would_pass for p in items)).lower()},
        )
        try:
            gate.store.save_previews(items, draft, gate.clock.now_us())
        except StoreUnavailable:
            return gate.refuse(call, _storage_down(), account_id=account_id)
        return None

    def order(
        self,
        call: m.Call,
        account_id: str,
        order: m.OrderSpec,
        intended_duplicate: bool = False,
        strategy: str = "",
    ) -> m.Preview | m.Denial:
        gate = self._gate
        denial = self._admit(call, PREVIEW_SCOPE, account_id, strategy)
        if denial is not None:
            return gate.refuse(call, denial, account_id=account_id)
        try:
            quote = gate.writer.get_quote(order.instrument)
        except WriterError as err:
            return gate.refuse(call, writer_denial(err, 8), account_id=account_id)
        preview = self._build(
            call,
            account_id,
            order,
            quote,
            m.Kind.ORDER,
            intended_duplicate=intended_duplicate,
            strategy=strategy,
        )
        denial = self._save(call, [preview], account_id)
        return denial or preview

    def modify(
        self,
        call: m.Call,
        account_id: str,
        broker_order_id: int,
        changes: m.Changes,
        strategy: str = "",
    ) -> m.Preview | m.Denial:
        gate = self._gate
        ids = {"account_id": account_id, "broker_order_id": broker_order_id}
        denial = self._admit(call, PREVIEW_SCOPE, account_id, strategy)
        if denial is not None:
            return gate.refuse(call, denial, **ids)
        try:
            live = gate.writer.get_order(account_id, broker_order_id=broker_order_id)
        except WriterError as err:
            return gate.refuse(call, writer_denial(err, 8), **ids)
        if live.account_id != account_id or live.order is None:
            return gate.refuse(call, order_account_mismatch(broker_order_id), **ids)
        denial = applicable(live.order, changes)
        if denial is not None:
            return gate.refuse(call, denial, **ids)
        replacement = changes.apply(live.order)
        try:
            quote = gate.writer.get_quote(replacement.instrument)
        except WriterError as err:
            return gate.refuse(call, writer_denial(err, 8), **ids)
        preview = self._build(
            call,
            account_id,
            replacement,
            quote,
            m.Kind.MODIFY,
            replaced_quantity=live.order.quantity,
            broker_order_id=broker_order_id,
            changes=changes,
            strategy=strategy,
        )
        return self._save(call, [preview], account_id) or preview

    def bracket(
        self,
        call: m.Call,
        account_id: str,
        legs: tuple[m.OrderSpec, m.OrderSpec, m.OrderSpec],
        intended_duplicate: bool = False,
        strategy: str = "",
    ) -> list[m.Preview] | m.Denial:
        gate = self._gate
        denial = self._admit(call, PREVIEW_SCOPE, account_id, strategy, bracket=True)
        if denial is not None:
            return gate.refuse(call, denial, account_id=account_id)
        try:
            quote = gate.writer.get_quote(legs[0].instrument)
        except WriterError as err:
            return gate.refuse(call, writer_denial(err, 8), account_id=account_id)
        group = f"bg_{uuid.uuid4().hex}"
        items = [
            self._build(
                call,
                account_id,
                order,
                quote,
                m.Kind.BRACKET_LEG,
                intended_duplicate=intended_duplicate,
                group_id=group,
                leg=leg,
                strategy=strategy,
            )
            for order, leg in zip(
                legs, (m.Leg.PARENT, m.Leg.TAKE_PROFIT, m.Leg.STOP_LOSS), strict=True
            )
        ]
        return self._save(call, items, account_id) or items

    def approve(self, call: m.Call, preview_id: str, comment: str) -> m.Approval | m.Denial:
        gate = self._gate
        ids = {"preview_id": preview_id}
        denial = scope_denial(call, APPROVAL_SCOPE)
        if denial is not None:
            return gate.refuse(call, denial, **ids)
        now = gate.clock.now_us()
        preview = gate.store.get_previews([preview_id]).get(preview_id)
        if preview is None:
            denial = m.Denial(reasons.PREVIEW_NOT_FOUND, "NOT_FOUND", 8, "no such preview", ids)
            return gate.refuse(call, denial, **ids)
        ids["account_id"] = preview.account_id
        if now >= preview.expires_at_us:
            denial = m.Denial(
                reasons.PREVIEW_EXPIRED,
                "FAILED_PRECONDITION",
                8,
                "preview expired",
                {"preview_id": preview_id},
            )
            return gate.refuse(call, denial, **ids)
        if gate.settings.four_eyes and preview.created_by == call.principal:
            denial = m.Denial(
                reasons.FOUR_EYES_REQUIRED,
                "FAILED_PRECONDITION",
                8,
                "the approver must not be the preview's creator",
                {"principal": call.principal},
            )
            return gate.refuse(call, denial, **ids)
        # The preview's scopes and the approver's own: a stopped client's preview, account or
        # strategy is not approved, nor does a stopped approver approve.
        principals = (call.principal, preview.created_by)
        denial = self._stopped(preview.account_id, principals, preview.strategy)
        if denial is not None:
            return gate.refuse(call, denial, **ids)
        approval = m.Approval(
            approval_id=f"ap_{uuid.uuid4().hex}",
            preview_id=preview_id,
            approved_by=call.principal,
            created_at_us=now,
            # An approval never outlives the preview it approves.
            expires_at_us=min(now + gate.settings.approval_ttl_us, preview.expires_at_us),
        )
        draft = gate.draft(
            call, "RECORDED", None, gate_step=0, approval_id=approval.approval_id, **ids
        )
        try:
            gate.store.save_approval(approval, comment, draft, now)
        except StoreUnavailable:
            return gate.refuse(call, _storage_down(), **ids)
        return approval


def _storage_down() -> m.Denial:
    # Audited like any refusal; when the audit is down too, a CRITICAL line and a metric.
    return m.Denial(reasons.AUDIT_UNAVAILABLE, "UNAVAILABLE", 7, "storage unavailable")


def applicable(order: m.OrderSpec, changes: m.Changes) -> m.Denial | None:
    """A change may only touch a price the order type has."""
    has_limit = order.order_type in (m.OrderType.LIMIT, m.OrderType.STOP_LIMIT)
    has_stop = order.order_type in (m.OrderType.STOP, m.OrderType.STOP_LIMIT)
    for name, present, allowed in (
        ("limit_price", changes.limit_price is not None, has_limit),
        ("stop_price", changes.stop_price is not None, has_stop),
    ):
        if present and not allowed:
            return m.Denial(
                reasons.CHANGE_NOT_APPLICABLE,
                "INVALID_ARGUMENT",
                2,
                f"{name} cannot change on a {order.order_type} order",
                {"field": name, "order_type": order.order_type.value},
            )
    return None
