"""Cash, positions and derived account values per account."""

from __future__ import annotations

from decimal import Decimal

from gateway_sim.contracts import Contracts
from gateway_sim.market import QuoteBook
from gateway_sim.models import Position

# Reg-T style rates: good enough for what-if numbers that look plausible.
INIT_MARGIN_RATE = Decimal("0.5")
MAINT_MARGIN_RATE = Decimal("0.25")
CENT = Decimal("0.01")


def commission_for(shares: Decimal, price: Decimal) -> Decimal:
    """IBKR Pro fixed: $0.005/share, min $1.00, max 1% of trade value."""
    raw = shares * Decimal("0.005")
    cap = shares * price * Decimal("0.01")
    return max(Decimal("1.00"), min(raw, cap)).quantize(CENT)


class Ledger:
    """Account state; positions keyed by (account, local symbol: a stock's symbol)."""

    def __init__(
        self, accounts: tuple[str, ...], starting_cash: Decimal, contracts: Contracts | None = None
    ) -> None:
        self.accounts = accounts
        self.contracts = contracts or Contracts()
        self.cash: dict[str, Decimal] = {a: starting_cash for a in accounts}
        self.positions: dict[tuple[str, str], Position] = {}

    def set_cash(self, account: str, amount: Decimal) -> None:
        self.cash[account] = amount

    def set_position(self, account: str, symbol: str, qty: Decimal, avg_cost: Decimal) -> None:
        self.positions[(account, symbol.upper())] = Position(qty, avg_cost)

    def apply_fill(
        self, account: str, symbol: str, side: str, shares: Decimal, price: Decimal, fee: Decimal
    ) -> None:
        signed = shares if side == "BOT" else -shares
        units = self.units(symbol)
        self.cash[account] = self.cash.get(account, Decimal(0)) - signed * price * units - fee
        key = (account, symbol.upper())
        pos = self.positions.get(key, Position(Decimal(0), Decimal(0)))
        new_qty = pos.quantity + signed
        if new_qty == 0:
            avg = Decimal(0)
        elif pos.quantity == 0 or (pos.quantity > 0) != (new_qty > 0):
            avg = price
        elif (pos.quantity > 0) == (signed > 0):
            avg = (pos.quantity * pos.avg_cost + signed * price) / new_qty
        else:
            avg = pos.avg_cost
        self.positions[key] = Position(new_qty, avg)

    def positions_of(self, account: str) -> list[tuple[str, Position]]:
        return [(sym, p) for (acct, sym), p in sorted(self.positions.items()) if acct == account]

    def units(self, key: str) -> Decimal:
        """A position's multiplier (1 for stocks)."""
        return self.contracts.by_key(key).units

    def gross_value(self, account: str, quotes: QuoteBook) -> Decimal:
        return sum(
            (
                abs(p.quantity) * quotes.get(key).last * self.units(key)
                for key, p in self.positions_of(account)
            ),
            Decimal(0),
        )

    def net_liquidation(self, account: str, quotes: QuoteBook) -> Decimal:
        market = sum(
            (
                p.quantity * quotes.get(key).last * self.units(key)
                for key, p in self.positions_of(account)
            ),
            Decimal(0),
        )
        return self.cash.get(account, Decimal(0)) + market

    def values(self, account: str, quotes: QuoteBook) -> dict[str, Decimal]:
        """The account-value tags ib_async and writers commonly read, all in USD."""
        net_liq = self.net_liquidation(account, quotes)
        gross = self.gross_value(account, quotes)
        available = net_liq - gross * INIT_MARGIN_RATE
        return {
            "NetLiquidation": net_liq.quantize(CENT),
            "TotalCashValue": self.cash.get(account, Decimal(0)).quantize(CENT),
            "AvailableFunds": available.quantize(CENT),
            "BuyingPower": (available * 4).quantize(CENT),
            "GrossPositionValue": gross.quantize(CENT),
            "InitMarginReq": (gross * INIT_MARGIN_RATE).quantize(CENT),
            "MaintMarginReq": (gross * MAINT_MARGIN_RATE).quantize(CENT),
            "EquityWithLoanValue": net_liq.quantize(CENT),
            "ExcessLiquidity": (net_liq - gross * MAINT_MARGIN_RATE).quantize(CENT),
        }
