"""What each instance role may write, whatever its gateway allows: pure, checked on every write.

The probe proves what the gateway's login can do; this rule does not depend on it. An R writer
writes nothing, an ABH writer writes to paper accounts only, a W writer to live accounts only,
so a gateway that starts to allow more (a re-login, a changed API setting) changes nothing
until a human changes the role.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from writer_service.config import Role
from writer_service.errors import ErrorKind, WriterError

PAPER_PREFIX: Final = "DU"
LIVE_PREFIX: Final = "U"

READ_ONLY: Final = "WRITER_ROLE_READ_ONLY"
PAPER_ONLY: Final = "WRITER_ROLE_PAPER_ONLY"
LIVE_ONLY: Final = "WRITER_ROLE_LIVE_ONLY"


def is_paper(account: str) -> bool:
    return account.startswith(PAPER_PREFIX)


def is_live(account: str) -> bool:
    # "DU..." starts with D, so a live-prefix test never takes a paper account.
    return account.startswith(LIVE_PREFIX)


def write_refusal(role: Role, accounts: Iterable[str]) -> WriterError | None:
    """The refusal of a write touching ACCOUNTS by a writer of ROLE, or None when it may go on.

    ACCOUNTS are the accounts the write reaches at the broker (a cancel-all: every account
    of the session). Metadata carry counts, never an account id.
    """
    touched = tuple(accounts)
    if role is Role.R:
        return _refused(READ_ONLY, role, "an R writer sends no write to the broker")
    if role is Role.ABH:
        live = [a for a in touched if not is_paper(a)]
        if live:
            return _refused(
                PAPER_ONLY,
                role,
                "an ABH writer writes to paper (DU) accounts only",
                not_paper=len(live),
            )
        return None
    paper = [a for a in touched if not is_live(a)]
    if paper:
        return _refused(
            LIVE_ONLY, role, "a W writer writes to live (U) accounts only", not_live=len(paper)
        )
    return None


def _refused(reason: str, role: Role, message: str, **counts: int) -> WriterError:
    # PERMISSION_DENIED: like an account outside the allowlist, no retry or later state of
    # the gateway makes this write allowed.
    return WriterError(ErrorKind.PERMISSION_DENIED, reason, message, {"role": role.value, **counts})
