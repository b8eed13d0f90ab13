"""What-if previews: the margin and commission impact of an order, computed, never placed."""

from __future__ import annotations

from decimal import Decimal

from gateway_sim.events import WhatIfState
from gateway_sim.ledger import INIT_MARGIN_RATE, MAINT_MARGIN_RATE, Ledger, commission_for
from gateway_sim.market import QuoteBook
from gateway_sim.protocol import parse_decimal
from gateway_sim.wire_in import Parsed


def what_if(ledger: Ledger, quotes: QuoteBook, p: Parsed, default_account: str) -> WhatIfState:
    """The margin and commission impact IB reports for a what-if order; nothing is stored."""
    account = p["account"] or default_account
    info = ledger.contracts.for_order(p)
    quote = quotes.get(info.local_symbol)
    qty = parse_decimal(p["total_quantity"]) or Decimal(0)
    buy = p["action"] == "BUY"
    price = parse_decimal(p["lmt_price"]) or (quote.ask if buy else quote.bid)
    held = ledger.positions.get((account, info.local_symbol))
    before_qty = held.quantity if held else Decimal(0)
    after_qty = before_qty + (qty if buy else -qty)
    gross_before = ledger.gross_value(account, quotes)
    gross_after = gross_before + (abs(after_qty) - abs(before_qty)) * quote.last * info.units
    fee = commission_for(qty, price)
    equity_before = ledger.net_liquidation(account, quotes)
    init_b, init_a = gross_before * INIT_MARGIN_RATE, gross_after * INIT_MARGIN_RATE
    maint_b, maint_a = gross_before * MAINT_MARGIN_RATE, gross_after * MAINT_MARGIN_RATE
    cent = Decimal("0.01")
    return WhatIfState(
        init_margin_before=init_b.quantize(cent),
        maint_margin_before=maint_b.quantize(cent),
        equity_with_loan_before=equity_before.quantize(cent),
        init_margin_change=(init_a - init_b).quantize(cent),
        maint_margin_change=(maint_a - maint_b).quantize(cent),
        equity_with_loan_change=(-fee).quantize(cent),
        init_margin_after=init_a.quantize(cent),
        maint_margin_after=maint_a.quantize(cent),
        equity_with_loan_after=(equity_before - fee).quantize(cent),
        commission=fee,
        min_commission=fee,
        max_commission=fee,
    )
