"""Keeps the broker secret's values (gateway host, port, client id, account ids) out of
ib_async's log lines, and its per-order chatter out of INFO."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Final

# ib_async logs "Connecting to HOST:PORT with clientId N" and connection errors with the address.
IB_LOGGERS: Final = ("ib_async.client", "ib_async.ib", "ib_async.wrapper")
MASK: Final = "[gateway]"
# ib_async logs every placeOrder, open-order message and order status change at INFO, each
# with the whole Trade: lines that repeat what the writer's own line per write (with the request
# id) says, at a real share of the writer's CPU per submit. Only those are dropped: ib_async's
# other INFO lines (e.g. warning 2110, connectivity broken) and its warnings and errors stay.
ORDER_CHATTER: Final = ("placeOrder: ", "openOrder: ", "orderStatus: ")
IB_ORDER_LOGGERS: Final = ("ib_async.ib", "ib_async.wrapper")


class RedactGateway(logging.Filter):
    def __init__(self, host: str, port: int, client_id: int, accounts: Mapping[str, str]):
        super().__init__()
        needles = [
            (f"{host}:{port}", MASK),
            (f"('{host}', {port})", MASK),
            (f"'{host}', {port}", MASK),
            (f"clientId {client_id}", MASK),
        ]
        # ib_async prints whole Trades (an order's account among them) in its error and
        # warning lines: the account id becomes its keyed hash, as in the writer's own lines.
        # Longest first, so an id that contains another is replaced whole.
        for account in sorted(accounts, key=len, reverse=True):
            needles.append((account, f"[account {accounts[account]}]"))
        self._needles = tuple(needles)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for needle, mask in self._needles:
            redacted = redacted.replace(needle, mask)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install(
    host: str, port: int, client_id: int, accounts: Mapping[str, str]
) -> Callable[[], None]:
    """Attach the filter to ib_async's loggers; ACCOUNTS maps each id to its hash. Returns the
    function that detaches it."""
    return _attach(RedactGateway(host, port, client_id, accounts), IB_LOGGERS)


class DropOrderChatter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.levelno == logging.INFO
            and isinstance(record.msg, str)
            and record.msg.startswith(ORDER_CHATTER)
        )


def quiet_order_chatter(level: str) -> Callable[[], None]:
    """Below DEBUG, drop ib_async's per-order INFO lines; returns what puts them back."""
    if logging.getLevelName(level.upper()) == logging.DEBUG:
        return lambda: None
    return _attach(DropOrderChatter(), IB_ORDER_LOGGERS)


def _attach(flt: logging.Filter, names: tuple[str, ...]) -> Callable[[], None]:
    """Add FLT to the loggers NAMES; returns the function that removes it again."""
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.addFilter(flt)

    def detach() -> None:
        for logger in loggers:
            logger.removeFilter(flt)

    return detach
