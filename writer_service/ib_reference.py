"""Reference data from the broker through ib_async: contracts, holdings, what-ifs, fills."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from ib_async import AccountValue, ContractDetails

from writer_service import errors
from writer_service.errors import ErrorKind, WriterError
from writer_service.ib_convert import (
    contract_for,
    ib_order_for,
    instrument_from_ib,
    sec_kind_of,
    to_decimal,
)
from writer_service.ib_fills import list_fills, list_statuses
from writer_service.ib_session import IbSession
from writer_service.orders import InstrumentSpec, OrderSpec, SecKind, Side
from writer_service.reference import (
    AccountView,
    ContractView,
    FillView,
    MarginView,
    OrderStatusView,
    PositionView,
    WorkingView,
)
from writer_service.trading_hours import HoursError, sessions

log = logging.getLogger("livegate.writer.reference")

# The account-summary tags the policy's exposure and margin checks read.
SUMMARY_TAGS: Final = (
    "NetLiquidation,GrossPositionValue,ExcessLiquidity,MaintMarginReq,InitMarginReq,"
    "EquityWithLoanValue"
)
_SIDES: Final = {"BUY": Side.BUY, "SELL": Side.SELL, "BOT": Side.BUY, "SLD": Side.SELL}
# IB's "unset" for a what-if value it did not compute.
_UNSET: Final = Decimal("1e300")


def _refused(reason: str, message: str, **meta: object) -> WriterError:
    return WriterError(ErrorKind.FAILED_PRECONDITION, reason, message, meta)


def _number(value: Any) -> Decimal | None:
    number = to_decimal(value)
    return None if number is None or abs(number) >= _UNSET else number


class BrokerReference:
    """Reads for the policy's checks; none of them can place or change an order."""

    def __init__(self, session: IbSession, accounts: Sequence[str], timeout_s: float):
        self._session = session
        self._accounts = frozenset(accounts)
        self._timeout_s = timeout_s
        # Market rules do not change within a session; contract details are cached policy-side.
        self._rules: dict[int, tuple[tuple[Decimal, Decimal], ...]] = {}
        # One request per market rule in flight: ib_async keys the answer by the rule id, so a
        # second request for the same rule replaces the first one's future, which then waits
        # out its timeout (seen as REFERENCE_DATA_UNAVAILABLE under concurrent first lookups).
        self._rule_requests: dict[int, asyncio.Task[tuple[tuple[Decimal, Decimal], ...]]] = {}

    def _call(self, coro: Any) -> Any:
        return self._session.call(coro, 2 * self._timeout_s + 1)

    def _require_account(self, account: str) -> None:
        if account not in self._accounts:
            raise errors.account_not_managed(account)

    # -- contract details -------------------------------------------------------------------
    def contract(self, spec: InstrumentSpec) -> ContractView:
        return self._call(self._contract(spec))  # type: ignore[no-any-return]

    async def _contract(self, spec: InstrumentSpec) -> ContractView:
        self._session.require_connected()
        ib = self._session.ib
        found = await self._bounded(ib.reqContractDetailsAsync(contract_for(spec)), "details")
        if not found:
            raise WriterError(
                ErrorKind.NOT_FOUND, "INSTRUMENT_NOT_FOUND", f"no contract for {spec.symbol}"
            )
        if len(found) > 1:
            raise _refused(
                "INSTRUMENT_AMBIGUOUS",
                f"{len(found)} contracts match {spec.symbol}: name the expiry, strike and right",
                matches=len(found),
            )
        details: ContractDetails = found[0]
        rule_id = _rule_for(details, spec.exchange)
        increments = await self._rule(rule_id) if rule_id else ()
        return _contract_view(spec, details, rule_id, increments)

    async def _rule(self, rule_id: int) -> tuple[tuple[Decimal, Decimal], ...]:
        cached = self._rules.get(rule_id)
        if cached is not None:
            return cached
        request = self._rule_requests.get(rule_id)
        if request is None:
            request = asyncio.ensure_future(self._ask_rule(rule_id))
            self._rule_requests[rule_id] = request
            request.add_done_callback(lambda _done: self._rule_requests.pop(rule_id, None))
        return await asyncio.shield(request)

    async def _ask_rule(self, rule_id: int) -> tuple[tuple[Decimal, Decimal], ...]:
        answer = await self._session.ib.reqMarketRuleAsync(rule_id)  # bounded by ib_async (1 s)
        if not answer:
            raise errors.broker_timeout(f"market rule {rule_id}", 1.0)
        rule = tuple(
            (to_decimal(i.lowEdge) or Decimal(0), to_decimal(i.increment) or Decimal(0))
            for i in answer
        )
        if any(step <= 0 for _low, step in rule):
            raise _refused("MARKET_RULE_INVALID", f"market rule {rule_id} has a zero increment")
        self._rules[rule_id] = rule
        return rule

    # -- account state ----------------------------------------------------------------------
    def account(self, account: str) -> AccountView:
        self._require_account(account)
        # Three bounded requests: positions, the account summary, the open orders.
        return self._session.call(self._account(account), 3 * self._timeout_s + 1)

    async def _account(self, account: str) -> AccountView:
        self._session.require_connected()
        async with self._session.positions_lock():  # shared with the reducing guard
            held = await self._bounded(self._session.ib.reqPositionsAsync(), "positions")
            values = await self._summary(account)
        positions = tuple(_position(p) for p in held if p.account == account)
        # Every order working on the account, whoever placed it: the policy's REDUCING judgement
        # counts hand-placed orders too, and its risk rules the foreign ones (order_ref "").
        # A read-only gateway (R, ABH) refusing the query: this session's own, as before.
        trades = await self._session.working_trades(self._timeout_s, read_only_own=True)
        working = tuple(
            WorkingView(
                broker_order_id=int(t.order.orderId),
                con_id=int(t.contract.conId or 0),
                side=_SIDES[t.order.action],
                remaining=to_decimal(t.orderStatus.remaining)
                or to_decimal(t.order.totalQuantity)
                or Decimal(0),
                order_ref=t.order.orderRef or "",
            )
            for t in trades
            if t.order.account == account and t.order.action in _SIDES
        )
        return AccountView(account, positions, working, values, datetime.now(UTC))

    async def _summary(self, account: str) -> dict[str, Decimal]:
        """The account-summary tags, from a request of their own (cancelled once answered)."""
        ib = self._session.ib
        seen: dict[str, Decimal] = {}

        def on_value(value: AccountValue) -> None:
            number = to_decimal(value.value)
            if value.account == account and number is not None:
                seen[value.tag] = number

        req_id = ib.client.getReqId()
        future = ib.wrapper.startReq(req_id)
        ib.accountSummaryEvent += on_value
        try:
            ib.client.reqAccountSummary(req_id, "All", SUMMARY_TAGS)
            await self._bounded(future, "account summary")
        finally:
            ib.accountSummaryEvent -= on_value
            ib.client.cancelAccountSummary(req_id)
        return seen

    # -- what-if ----------------------------------------------------------------------------
    def margin(self, account: str, spec: OrderSpec) -> MarginView:
        self._require_account(account)
        order = ib_order_for(spec, account, "", 0)
        outcome = self._call(self._session.what_if(contract_for(spec.instrument), order, 5.0))
        if outcome.refused is not None:
            raise _refused(
                "WHAT_IF_REFUSED",
                f"the broker refused the what-if: {outcome.refused.message}",
                broker_error_code=outcome.refused.code,
            )
        if outcome.timed_out or outcome.state is None:
            raise errors.broker_timeout("the what-if", 5.0)
        s = outcome.state
        return MarginView(
            init_before=_number(s.initMarginBefore),
            init_change=_number(s.initMarginChange),
            init_after=_number(s.initMarginAfter),
            maint_before=_number(s.maintMarginBefore),
            maint_change=_number(s.maintMarginChange),
            maint_after=_number(s.maintMarginAfter),
            equity_before=_number(s.equityWithLoanBefore),
            equity_change=_number(s.equityWithLoanChange),
            equity_after=_number(s.equityWithLoanAfter),
            commission=_number(s.commission),
            received_at=datetime.now(UTC),
        )

    # -- fills ------------------------------------------------------------------------------
    def fills(self, account: str, since: datetime, refresh: bool = False) -> list[FillView]:
        self._require_account(account)
        listed = list_fills(self._session, account, since, refresh, self._timeout_s)
        return self._call(listed)  # type: ignore[no-any-return]

    def order_statuses(self, account: str, since: datetime) -> list[OrderStatusView]:
        self._require_account(account)
        listed = list_statuses(self._session, account, since)
        return self._call(listed)  # type: ignore[no-any-return]

    async def _bounded(self, awaitable: Any, what: str) -> Any:
        try:
            return await asyncio.wait_for(awaitable, self._timeout_s)
        except TimeoutError:
            raise errors.broker_timeout(f"the {what}", self._timeout_s) from None


def _rule_for(details: ContractDetails, exchange: str) -> int:
    """The market rule of EXCHANGE (IB lists one id per valid exchange, in the same order)."""
    rules = [r for r in details.marketRuleIds.split(",") if r.strip()]
    exchanges = details.validExchanges.split(",")
    for name, rule in zip(exchanges, rules, strict=False):
        if name == exchange and rule.strip().isdigit():
            return int(rule)
    first = rules[0].strip() if rules else ""
    return int(first) if first.isdigit() else 0


def _contract_view(
    spec: InstrumentSpec,
    details: ContractDetails,
    rule_id: int,
    increments: tuple[tuple[Decimal, Decimal], ...],
) -> ContractView:
    contract = details.contract
    assert contract is not None
    min_tick = to_decimal(details.minTick)
    if min_tick is None or min_tick <= 0:
        raise _refused("CONTRACT_DETAILS_INVALID", "the broker sent no minimum tick")
    try:
        trading = sessions(details.tradingHours, details.timeZoneId)
        liquid = sessions(details.liquidHours or details.tradingHours, details.timeZoneId)
    except HoursError as exc:
        raise _refused("CONTRACT_HOURS_INVALID", str(exc)) from None
    # IB has no ETF type: an ETF resolves as STK and stays the ETF that was asked for.
    sec = (
        spec.sec_kind if spec.sec_kind is SecKind.ETF else (sec_kind_of(contract) or spec.sec_kind)
    )
    instrument = instrument_from_ib(contract, sec)
    return ContractView(
        instrument=instrument,
        con_id=int(contract.conId),
        local_symbol=contract.localSymbol,
        min_tick=min_tick,
        market_rule_id=rule_id,
        increments=increments,
        multiplier=to_decimal(contract.multiplier) or Decimal(1),
        time_zone=details.timeZoneId,
        trading=tuple(trading),
        liquid=tuple(liquid),
        order_types=tuple(t for t in details.orderTypes.split(",") if t),
        received_at=datetime.now(UTC),
    )


def _position(p: Any) -> PositionView:
    sec = sec_kind_of(p.contract)
    return PositionView(
        con_id=int(p.contract.conId),
        instrument=instrument_from_ib(p.contract, sec) if sec else None,
        quantity=to_decimal(p.position) or Decimal(0),
        avg_cost=to_decimal(p.avgCost) or Decimal(0),
        multiplier=to_decimal(p.contract.multiplier) or Decimal(1),
    )
