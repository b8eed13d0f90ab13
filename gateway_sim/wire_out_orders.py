"""Encoders for order messages, in the exact field order ib_async's decoder consumes."""

from __future__ import annotations

from gateway_sim.events import WhatIfState
from gateway_sim.models import SimExecution, SimOrder
from gateway_sim.protocol import UNSET_DOUBLE_STR, Field, Out

# ib_async reads '' as "unset" for every optional numeric field of Order and OrderState.
E = ""


def _contract(o: SimOrder) -> list[Field]:
    """conId .. tradingClass as openOrder/completedOrder carry it (no primaryExchange)."""
    return [o.con_id, o.symbol, o.sec_type, o.expiry, o.strike or "0", o.right, o.multiplier,
            o.exchange, o.currency, o.key, o.symbol if o.expiry else "NMS"]  # fmt: skip


def _price(value: object) -> Field:
    return E if value is None else value  # type: ignore[return-value]


def _order_head(o: SimOrder) -> list[Field]:
    return [
        o.action, o.total_quantity, o.order_type, _price(o.lmt_price), _price(o.aux_price),
        o.tif, o.oca_group, o.account, E, "0", o.order_ref,
    ]  # fmt: skip


def _what_if_state(state: WhatIfState | None, status: str) -> list[Field]:
    if state is None:
        return [status, E, E, E, E, E, E, E, E, E, UNSET_DOUBLE_STR, UNSET_DOUBLE_STR,
                UNSET_DOUBLE_STR, E, E]  # fmt: skip
    return [
        state.status, state.init_margin_before, state.maint_margin_before,
        state.equity_with_loan_before, state.init_margin_change, state.maint_margin_change,
        state.equity_with_loan_change, state.init_margin_after, state.maint_margin_after,
        state.equity_with_loan_after, state.commission, state.min_commission,
        state.max_commission, state.commission_currency, E,
    ]  # fmt: skip


def open_order(o: SimOrder, version: int, what_if: WhatIfState | None = None) -> list[Field]:
    """OPEN_ORDER (5), mirroring Decoder.openOrder for the negotiated version."""
    f: list[Field] = [Out.OPEN_ORDER, o.order_id, *_contract(o), *_order_head(o)]
    f += [o.client_id, o.perm_id, o.outside_rth, False, E, E]  # ..hidden, discAmt, goodAfter
    f += [E, E, E, E]  # sharesAllocation, faGroup, faMethod, faPercentage
    if version < 177:
        f += [E]  # faProfile
    f += [E, E, E, E, E, "0", E, "-1"]  # modelCode .. exemptCode
    f += ["0", E, E, E, E, E]  # auctionStrategy .. stockRangeUpper
    f += [E, False, False, False, E, o.oca_type, False, False, E]  # displaySize .. nbboPriceCap
    f += [o.parent_id, "0", E, E, E, E]  # parentId, triggerMethod, vol, volType, dnType, dnAux
    f += [False, E, E, E, E, E, E]  # continuousUpdate .. basisPointsType, comboLegsDescrip
    f += ["0", "0", "0"]  # combo legs, order combo legs, smart combo routing params
    f += [E, E, E]  # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement
    f += [E]  # hedgeType
    f += [False, E, E, False, "0"]  # optOutSmartRouting .. notHeld, deltaNeutralContract
    f += [E]  # algoStrategy
    f += [False, what_if is not None]  # solicited, whatIf
    f += _what_if_state(what_if, o.status)
    f += [False, False]  # randomizeSize, randomizePrice
    f += ["0"]  # conditions
    f += [E, E, E, E, E, E, E, "0"]  # adjustedOrderType .. adjustableTrailingUnit
    f += [E, E, E]  # softDollarTier name, value, displayName
    f += [E, False, False, E, False]  # cashQty .. usePriceMgmtAlgo
    if version >= 159:
        f += [E]  # duration
    if version >= 160:
        f += [E]  # postToAts
    if version >= 162:
        f += [False]  # autoCancelParent
    if version >= 170:
        f += [E, E, E, E, E]  # minTradeQty .. midOffsetAtHalf
    return f


def completed_order(o: SimOrder, version: int) -> list[Field]:
    """COMPLETED_ORDER (101), mirroring Decoder.completedOrder (no orderId on this wire)."""
    f: list[Field] = [Out.COMPLETED_ORDER, *_contract(o), *_order_head(o)]
    f += [o.perm_id, o.outside_rth, False, E, E]  # permId .. goodAfterTime
    f += [E, E, E]  # faGroup, faMethod, faPercentage
    if version < 177:
        f += [E]  # faProfile
    f += [E, E, E, E, E, "0", E, "-1"]  # modelCode .. exemptCode
    f += [E, E, E, E, E]  # startingPrice .. stockRangeUpper
    f += [E, False, False, E, o.oca_type, "0", E, E, E, E]  # displaySize .. dnAuxPrice
    f += [False, E, E, E, E]  # continuousUpdate .. trailingPercent, comboLegsDescrip
    f += ["0", "0", "0"]  # legs, order legs, smart params
    f += [E, E, E, E]  # scale init/subs/increment, hedgeType
    f += [E, E, False, "0"]  # clearingAccount, clearingIntent, notHeld, deltaNeutralContract
    f += [E]  # algoStrategy
    f += [False, o.status, False, False]  # solicited, status, randomizeSize/Price
    f += ["0"]  # conditions
    f += [E, E, E, False, False]  # trailStopPrice .. isOmsContainer
    f += [E, o.filled, E, False, E, False, False]  # autoCancelDate .. routeMarketableToBbo
    f += [o.parent_perm_id or E, o.completed_time, o.completed_status]
    if version >= 170:
        f += [E, E, E, E, E]
    return f


def order_status(o: SimOrder) -> list[Field]:
    """ORDER_STATUS (3): no version field since server 131, mktCapPrice last."""
    return [
        Out.ORDER_STATUS, o.order_id, o.status, o.filled, o.remaining, o.avg_fill_price,
        o.perm_id, o.parent_id, o.last_fill_price, o.client_id, o.why_held, "0",
    ]  # fmt: skip


def exec_details(x: SimExecution, req_id: int, version: int) -> list[Field]:
    """EXECUTION_DATA (11), reqId first; pendingPriceRevision appears at 178."""
    f: list[Field] = [Out.EXECUTION_DATA, req_id, x.order_id]
    f += [
        x.con_id,
        x.symbol,
        x.sec_type,
        x.expiry,
        x.strike or "0",
        x.right,
        x.multiplier,
        x.exchange,
        x.currency,
        x.local_symbol or x.symbol,
        x.symbol if x.expiry else "NMS",
    ]
    f += [x.exec_id, x.time.strftime("%Y%m%d %H:%M:%S UTC"), x.account, x.exchange, x.side]
    f += [x.shares, x.price, x.perm_id, x.client_id, "0", x.cum_qty, x.avg_price, x.order_ref]
    f += [E, E, E, "1"]  # evRule, evMultiplier, modelCode, lastLiquidity (1 = added)
    if version >= 178:
        f += [False]
    return f


def commission_report(x: SimExecution) -> list[Field]:
    return [Out.COMMISSION_REPORT, 1, x.exec_id, x.commission, x.currency,
            UNSET_DOUBLE_STR, UNSET_DOUBLE_STR, E]  # fmt: skip
