"""The blocking client: one method per PolicyService call, Decimal in and out, typed refusals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar

import grpc

from livegate_client import calls, retry
from livegate_client import models as m
from livegate_client.base import ClientBase
from livegate_client.calls import CallSpec, Sent
from livegate_client.channel import TlsFiles, secure_channel

T = TypeVar("T")


class Client(ClientBase[grpc.Channel]):
    """A PolicyService client over one channel (mTLS from files, or a channel you made)."""

    @classmethod
    def connect(
        cls, target: str, tls: TlsFiles, *, server_name: str | None = None, **options: Any
    ) -> Client:
        """A client that owns its channel to TARGET (host:port), closed by close()."""
        return cls(secure_channel(target, tls, server_name), owns_channel=True, **options)

    def close(self) -> None:
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def run(self, spec: CallSpec[T]) -> T:
        """Send SPEC's one request until it settles; every attempt is the same request."""
        method = self._method(spec)
        metadata = (("x-request-id", spec.request_id),)

        def send(timeout: float) -> Any:
            return method(spec.request, timeout=timeout, metadata=metadata)

        response, attempts = retry.call(send, self._policy(spec), self._decoder(spec))
        return spec.parse(response, Sent(spec.request_id, spec.idempotency_key, attempts))

    # ---- previews and approvals ------------------------------------------------------------

    def create_order_preview(
        self, account_id: str, order: m.Order, *, strategy: str = ""
    ) -> m.Preview:
        return self.run(calls.create_order_preview(account_id, order, strategy))

    def create_modify_preview(
        self, account_id: str, broker_order_id: int, changes: m.OrderChanges, *,
        strategy: str = "",
    ) -> m.Preview:  # fmt: skip
        return self.run(calls.create_modify_preview(account_id, broker_order_id, changes, strategy))

    def create_bracket_preview(
        self, account_id: str, instrument: m.Instrument, action: m.Action, quantity: Decimal,
        entry_limit_price: Decimal, take_profit_price: Decimal, stop_loss_price: Decimal,
        time_in_force: m.TimeInForce = m.TimeInForce.DAY, *, strategy: str = "",
    ) -> m.BracketPreview:  # fmt: skip
        return self.run(
            calls.create_bracket_preview(
                account_id, instrument, action, quantity, entry_limit_price, take_profit_price,
                stop_loss_price, time_in_force, strategy,
            )
        )  # fmt: skip

    def approve_preview(self, preview_id: str, comment: str = "") -> m.Approval:
        return self.run(calls.approve_preview(preview_id, comment))

    # ---- live writes: the key is the caller's, or made once here -------------------------

    def submit_order(
        self, account_id: str, preview_id: str, approval_id: str, *,
        idempotency_key: str | None = None, strategy: str = "",
    ) -> m.WriteResult:  # fmt: skip
        return self.run(
            calls.submit_order(account_id, preview_id, approval_id, idempotency_key, strategy)
        )

    def cancel_order(
        self, account_id: str, broker_order_id: int, *, idempotency_key: str | None = None
    ) -> m.WriteResult:
        return self.run(calls.cancel_order(account_id, broker_order_id, idempotency_key))

    def modify_order(
        self, account_id: str, broker_order_id: int, preview_id: str, approval_id: str,
        changes: m.OrderChanges, *, idempotency_key: str | None = None, strategy: str = "",
    ) -> m.WriteResult:  # fmt: skip
        return self.run(
            calls.modify_order(
                account_id,
                broker_order_id,
                preview_id,
                approval_id,
                changes,
                idempotency_key,
                strategy,
            )
        )

    def submit_bracket(
        self, account_id: str, preview: m.BracketPreview, approval_ids: tuple[str, str, str],
        *, idempotency_key: str | None = None,
    ) -> m.BracketResult:  # fmt: skip
        return self.run(calls.submit_bracket(account_id, preview, approval_ids, idempotency_key))

    # ---- reads ---------------------------------------------------------------------------

    def get_broker_order(self, account_id: str, broker_order_id: int) -> m.BrokerOrder:
        return self.run(calls.get_broker_order(account_id, broker_order_id))

    def get_kill_switch(self) -> m.KillSwitch:
        return self.run(calls.get_kill_switch())

    def get_live_status(self) -> m.LiveStatus:
        return self.run(calls.get_live_status())

    def list_audit_events(
        self, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
        request_id: str = "", idempotency_key: str = "", page_size: int = 0,
        after_event_id: int = 0,
    ) -> m.AuditPage:  # fmt: skip
        return self.run(
            calls.list_audit_events(
                since, until, request_id, idempotency_key, page_size, after_event_id
            )
        )

    def verify_audit(self) -> m.AuditVerification:
        return self.run(calls.verify_audit())

    # ---- the caller's dead-man lease -----------------------------------------------------

    def renew_lease(self, ttl_s: float) -> m.Lease:
        """Opt in to (or renew) the caller's dead-man lease for TTL_S seconds. Renew well
        within it: a lapsed lease closes the caller's principal scope and cancels its orders."""
        return self.run(calls.renew_lease(ttl_s))

    def release_lease(self) -> m.Lease:
        """End the caller's lease cleanly (before a planned shutdown)."""
        return self.run(calls.release_lease())

    # ---- operator actions ----------------------------------------------------------------

    def set_kill_switch(
        self,
        state: m.KillSwitchState,
        reason: str,
        *,
        cancel_all_open_orders: bool = False,
        broker_wide_cancel: bool = False,
    ) -> m.KillSwitchChange:
        return self.run(
            calls.set_kill_switch(state, reason, cancel_all_open_orders, broker_wide_cancel)
        )

    def confirm_reopen(self, reopen_id: str, reason: str) -> m.KillSwitchChange:
        """As a second operator: confirm the reopen another operator requested."""
        return self.run(calls.confirm_reopen(reopen_id, reason))

    def export_audit(self, until: dt.datetime | None = None) -> m.AuditExport:
        return self.run(calls.export_audit(until))

    def purge_audit(self, before: dt.datetime, *, dry_run: bool = False) -> m.AuditPurge:
        return self.run(calls.purge_audit(before, dry_run))
