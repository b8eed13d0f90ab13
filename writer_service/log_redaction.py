"""Keeps the broker secret's connection values (gateway host, port, client id) out of logs,
and ib_async's per-order chatter out of INFO."""

from __future__ import annotations

import logging
from collections.abc import Callable
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
    def __init__(self, host: str, port: int, client_id: int):
        super().__init__()
        self._needles = (
            f"{host}:{port}",
            f"('{host}', {port})",
            f"'{host}', {port}",
            f"clientId {client_id}",
        )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for needle in self._needles:
            redacted = redacted.replace(needle, MASK)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install(host: str, port: int, client_id: int) -> Callable[[], None]:
    """Attach the filter to ib_async's loggers; returns the function that detaches it."""
    return _attach(RedactGateway(host, port, client_id), IB_LOGGERS)


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
