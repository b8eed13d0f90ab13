"""IB Gateway simulator speaking the TWS API socket protocol, for development and tests."""

from gateway_sim.config import QuoteSpec, SimConfig
from gateway_sim.faults import CancelScript, Msg, OrderScript
from gateway_sim.models import ReceivedMessage, SimExecution, SimOrder
from gateway_sim.server import GatewaySimulator

__all__ = [
    "CancelScript",
    "GatewaySimulator",
    "Msg",
    "OrderScript",
    "QuoteSpec",
    "ReceivedMessage",
    "SimConfig",
    "SimExecution",
    "SimOrder",
]
