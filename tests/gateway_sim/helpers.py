"""Helpers shared by the simulator tests: client bookkeeping and bounded waits."""

from __future__ import annotations

import time
from collections.abc import Callable

from ib_async import IB

from gateway_sim import GatewaySimulator

Errors = list[tuple[int, int, str]]


class Clients:
    """Creates connected IB instances and disconnects all of them at teardown."""

    def __init__(self) -> None:
        self.made: list[IB] = []

    def connect(
        self,
        sim: GatewaySimulator,
        client_id: int = 1,
        timeout: float = 5,
        readonly: bool = False,
        errors: Errors | None = None,
    ) -> IB:
        ib = IB()
        self.made.append(ib)
        if errors is not None:
            ib.errorEvent += lambda req_id, code, msg, _c: errors.append((req_id, code, msg))
        ib.connect("127.0.0.1", sim.port, clientId=client_id, timeout=timeout, readonly=readonly)
        return ib

    def close(self) -> None:
        for ib in self.made:
            ib.disconnect()


def wait_until(ib: IB, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Pump ib_async's loop until predicate holds; bounded so no test can hang."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        try:
            ib.sleep(0.02)
        except ConnectionError:
            # ib_async surfaces a socket loss through whatever it is running at that moment.
            time.sleep(0.02)
    return predicate()


def codes(errors: Errors) -> list[int]:
    return [code for _req, code, _msg in errors]
