"""What the gate may be enabled for on each instance role, checked once at start.

The hosts differ by the IB login their gateway holds (seed ADR 38): W trades live accounts; R
reads and never writes; ABH experiments on paper. The policy knows its host's role from its
config (instance_role) and refuses to start with live settings the role cannot have, so a
copied config cannot enable more than the host's gateway could, or should, do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from livegate_common.roles import Role

# IBKR paper account ids start with DU; a live one with U (the writer's probe reads them alike).
PAPER_PREFIX: Final = "DU"


def is_paper(account: str) -> bool:
    return account.startswith(PAPER_PREFIX)


def violation(role: Role, enabled: bool, accounts: Iterable[str]) -> tuple[str, str] | None:
    """The config key and why the live settings do not fit ROLE, or None.

    Account ids stay out of the message (it is logged): only how many do not fit.
    """
    accounts = list(accounts)
    if role is Role.R and (enabled or accounts):
        return (
            "live_trading.enabled",
            "instance role R refuses every write: live trading must be off, no allowed accounts",
        )
    if role is Role.ABH:
        live = sum(not is_paper(a) for a in accounts)
        if live:
            return (
                "live_trading.allowed_accounts",
                f"instance role ABH may enable the gate for paper (DU...) accounts only; "
                f"{live} of {len(accounts)} are not paper",
            )
    if role is Role.W:
        paper = sum(is_paper(a) for a in accounts)
        if paper:
            return (
                "live_trading.allowed_accounts",
                f"instance role W trades live accounts only; {paper} of {len(accounts)} are paper",
            )
    return None
