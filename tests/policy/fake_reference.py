"""The fake writer's reference data: what the real writer answers over the simulator's defaults.

A stock's contract details: conId stable per symbol, a cent tick (market rule 26), multiplier 1,
US/Eastern, open around the clock; no positions; a what-if with the given excess liquidity. Tests
of the real thing (ticks, hours, derivatives, positions) run the simulator and the real writer.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import grpc

from livegate_api.v1 import common_pb2, writer_pb2
from livegate_common.errors import status_with_reason

_DAY_S = 86_400


@dataclass
class FakeReferenceState:
    # symbol -> (quantity, con_id) of a position; empty: flat.
    positions: dict[str, str] = field(default_factory=dict)
    gross_position_value: str = "0"
    excess_after: str = "90000"
    details_unavailable: bool = False
    # The broker's "today" relative to real time: a test whose clock runs years back gets the
    # sessions a broker of that day would list.
    today_offset_s: int = 0
    fills: list[writer_pb2.Fill] = field(default_factory=list)


def con_id_for(symbol: str) -> int:
    return 100_000_000 + zlib.crc32(symbol.encode()) % 100_000_000


class FakeReference:
    """Mixed into FakeWriter (which has .lock and .state.reference)."""

    lock: Any
    state: Any

    def GetContractDetails(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.lock:
            unavailable = self.state.reference.details_unavailable
        if unavailable:
            context.abort_with_status(
                status_with_reason(grpc.StatusCode.UNAVAILABLE, "BROKER_UNAVAILABLE", "down")
            )
        with self.lock:
            now = int(time.time()) + self.state.reference.today_offset_s
        msg = writer_pb2.ContractDetails(
            instrument=request.instrument,
            con_id=con_id_for(request.instrument.symbol),
            local_symbol=request.instrument.symbol,
            min_tick="0.01",
            market_rule_id=26,
            price_increments=[common_pb2.PriceIncrement(low_edge="0", increment="0.01")],
            multiplier="1",
            time_zone="US/Eastern",
            order_types=["LMT", "MKT", "STP", "STPLMT"],
        )
        session = msg.trading_sessions.add()
        session.start.FromSeconds(now - _DAY_S)
        session.end.FromSeconds(now + 7 * _DAY_S)
        msg.liquid_sessions.add().CopyFrom(session)
        msg.as_of.FromSeconds(now)
        return msg

    def GetAccountState(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.lock:
            ref = self.state.reference
            msg = writer_pb2.AccountState(
                account_id=request.account_id,
                gross_position_value=ref.gross_position_value,
                excess_liquidity="90000",
            )
            for symbol, qty in ref.positions.items():
                msg.positions.add(con_id=con_id_for(symbol), quantity=qty, multiplier="1")
        msg.as_of.GetCurrentTime()
        return msg

    def PreviewMargin(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.lock:
            excess = self.state.reference.excess_after
        msg = common_pb2.MarginImpact(
            init_margin_change="500", maint_margin_after="250", excess_liquidity_after=excess
        )
        msg.as_of.GetCurrentTime()
        return msg

    def ListFills(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.lock:
            fills = list(self.state.reference.fills)
        return writer_pb2.ListFillsResponse(fills=fills)
