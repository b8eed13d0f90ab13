"""Keeps the broker secret's connection values (gateway host, port, client id) out of logs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

# ib_async logs "Connecting to HOST:PORT with clientId N" and connection errors with the address.
IB_LOGGERS: Final = ("ib_async.client", "ib_async.ib", "ib_async.wrapper")
MASK: Final = "[gateway]"


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
    flt = RedactGateway(host, port, client_id)
    loggers = [logging.getLogger(name) for name in IB_LOGGERS]
    for logger in loggers:
        logger.addFilter(flt)

    def uninstall() -> None:
        for logger in loggers:
            logger.removeFilter(flt)

    return uninstall
