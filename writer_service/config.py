"""The writer service's configuration: one frozen object, read and validated once at start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from livegate_common import config as cfg
from livegate_common.identity import PrincipalMap
from livegate_common.roles import Role
from livegate_common.scopes import WRITER_SCOPES
from livegate_common.vault_client import VaultConfig, vault_config
from writer_service import auto_stops

ENV_PREFIX: Final = "LIVEGATE_WRITER"
DEFAULT_LISTEN: Final = "127.0.0.1:50052"


@dataclass(frozen=True)
class BrokerConfig:
    connect_timeout_s: float = 10.0
    probe_timeout_s: float = 10.0
    request_timeout_s: float = 10.0
    # The what-if of the start-up probe prices one share of this symbol; nothing executes.
    probe_symbol: str = "SPY"
    # IB paces API messages at 50 a second per connection; ib_async's default of 45 stays under
    # it. 0 turns pacing off, for the simulator only (the benchmark's throughput runs).
    max_messages_per_s: int = 45
    # The probe runs again this often (and on every reconnect): a gateway whose login or API
    # mode changes under a running writer is caught within this bound.
    probe_interval_s: float = 60.0


# A probe costs a what-if and two order queries; faster than this is load, slower a blind spot.
PROBE_INTERVAL_BOUNDS_S: Final = (1.0, 3600.0)


@dataclass(frozen=True)
class WriterConfig:
    role: Role
    server: cfg.ServerConfig
    principals: PrincipalMap
    vault: VaultConfig
    broker: BrokerConfig
    policy_peer_timeout_s: float
    log_level: str
    # host:port of the Prometheus /metrics endpoint; empty means not served.
    metrics_listen: str = ""
    auto_stops: auto_stops.AutoStopsConfig = field(default_factory=auto_stops.AutoStopsConfig)


def _pacing(doc: Mapping[str, Any]) -> int:
    value = cfg.get(doc, "broker.max_messages_per_s", int, 45)
    if value < 0:
        raise cfg.ConfigError("broker.max_messages_per_s", "must be 0 (off) or positive")
    return value


def _probe_interval(doc: Mapping[str, Any]) -> float:
    value = cfg.positive(doc, "broker.probe_interval_s", 60.0)
    low, high = PROBE_INTERVAL_BOUNDS_S
    if not low <= value <= high:
        raise cfg.ConfigError("broker.probe_interval_s", f"must be within {low:g}..{high:g} s")
    return value


def from_document(doc: Mapping[str, Any], base: Path) -> WriterConfig:
    return WriterConfig(
        role=cfg.instance_role(doc),
        server=cfg.server_config(doc, base, DEFAULT_LISTEN),
        principals=cfg.principal_map(doc, WRITER_SCOPES),
        vault=vault_config(doc, base),
        broker=BrokerConfig(
            connect_timeout_s=cfg.positive(doc, "broker.connect_timeout_s", 10.0),
            probe_timeout_s=cfg.positive(doc, "broker.probe_timeout_s", 10.0),
            request_timeout_s=cfg.positive(doc, "broker.request_timeout_s", 10.0),
            probe_symbol=cfg.get(doc, "broker.probe_symbol", str, "SPY"),
            max_messages_per_s=_pacing(doc),
            probe_interval_s=_probe_interval(doc),
        ),
        policy_peer_timeout_s=cfg.positive(doc, "kill_switch.policy_peer_timeout_s", 10.0),
        log_level=cfg.get(doc, "logging.level", str, "INFO"),
        metrics_listen=cfg.get(doc, "metrics.listen", str, ""),
        auto_stops=auto_stops.from_document(doc),
    )


def load(path: Path | None, environ: Mapping[str, str] | None = None) -> WriterConfig:
    doc = cfg.load_document(path, ENV_PREFIX, environ)
    return from_document(doc, path.parent if path else Path.cwd())
