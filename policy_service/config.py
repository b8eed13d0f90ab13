"""The policy service's configuration: one frozen object, read and validated once at start."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from livegate_common import config as cfg
from livegate_common import deadlines
from livegate_common.config import ConfigError
from livegate_common.identity import PrincipalMap
from livegate_common.roles import Role
from livegate_common.scopes import POLICY_SCOPES
from livegate_common.tls import TLSFiles
from policy_service import instance_role
from policy_service.audit_config import AuditConfig, audit_config
from policy_service.domain.instrument_policy import PolicyKeyError
from policy_service.domain.leases import LeaseSettings
from policy_service.domain.sessions import Blackout, blackouts_from

ENV_PREFIX: Final = "LIVEGATE_POLICY"
DEFAULT_LISTEN: Final = "127.0.0.1:50051"
# The writer's own default broker.request_timeout_s (writer_service.config.BrokerConfig).
DEFAULT_BROKER_TIMEOUT_S: Final = 10.0
_ACCOUNT_RE: Final = re.compile(r"^[A-Za-z0-9]{1,32}$")


@dataclass(frozen=True)
class LiveTradingConfig:
    enabled: bool
    safety_enabled: bool
    allowed_accounts: frozenset[str]
    risk_policy_id: str
    # No longer enough by itself: writes also need an acknowledgement recorded by an operator
    # (AcknowledgeChecklist), which expires after checklist_max_age_days.
    checklist_acknowledged: bool
    checklist_max_age_days: float = 90.0


@dataclass(frozen=True)
class WriterClientConfig:
    address: str
    server_name: str
    expected_san: str
    tls: TLSFiles
    # The writer's broker.request_timeout_s as declared here: the deadlines below derive from
    # it (livegate_common.deadlines), and the writer's own report must match it.
    broker_timeout_s: float
    deadline_s: float
    sync_interval_s: float
    # How often orders that ended at the broker stop counting towards max_open_orders; until
    # then the count is high by them (refusing more, never fewer).
    open_orders_check_s: float
    # How often fills are read from the writer (runaway stops, the order efficiency ratio).
    fills_check_s: float = 2.0


@dataclass(frozen=True)
class PolicyConfig:
    # The host's instance role: what the gate may be enabled for (see instance_role).
    instance_role: Role
    server: cfg.ServerConfig
    principals: PrincipalMap
    log_level: str
    live: LiveTradingConfig
    audit: AuditConfig
    writer: WriterClientConfig
    risk_policy_file: Path
    storage_url: str
    preview_ttl_s: float
    approval_ttl_s: float
    four_eyes: bool
    # A pending row older than this with no outcome is treated as a crash and settled.
    pending_timeout_s: float
    # host:port of the Prometheus /metrics endpoint; empty means not served.
    metrics_listen: str = ""
    # Windows in which only cancels go out (gateway restart, weekend maintenance, declared).
    blackouts: tuple[Blackout, ...] = ()
    # A reopen of the kill switch needs a second operator's confirmation within the window.
    reopen_second_operator: bool = True
    reopen_confirm_window_s: float = 300.0
    # A REDUCING scope's writes are judged against the broker's position no older than this.
    reducing_position_max_age_s: float = 5.0
    # Automatic stops (docs/live-runbook.md, section 1): on unless the config turns them off.
    auto_stop_audit_write_failure: bool = True
    # How often the writer is asked for the stops it tripped (it closed itself at once).
    auto_stop_writer_poll_s: float = 0.5
    # Dead-man leases per upstream principal (RenewLease): on unless turned off.
    dead_man: LeaseSettings = field(default_factory=LeaseSettings)


def _positive_float(doc: Mapping[str, Any], key: str, default: float) -> float:
    value = cfg.get(doc, key, float, default)
    if not isinstance(value, float | int) or value <= 0:
        raise ConfigError(key, f"must be a number > 0, got {value!r}")
    return float(value)


def _live(doc: Mapping[str, Any], role: Role) -> LiveTradingConfig:
    enabled = cfg.get(doc, "live_trading.enabled", bool, False)
    safety = cfg.get(doc, "safety.live_trading_enabled", bool, False)
    # Two flags exist so that one edit cannot turn live trading on; one without the other is a
    # mistake, and a mistake here must stop the process rather than guess.
    if enabled and not safety:
        raise ConfigError(
            "safety.live_trading_enabled", "must be true when live_trading.enabled is true"
        )
    if safety and not enabled:
        raise ConfigError(
            "live_trading.enabled", "must be true when safety.live_trading_enabled is true"
        )
    accounts = cfg.get(doc, "live_trading.allowed_accounts", list, [])
    for account in accounts:
        if not isinstance(account, str) or not _ACCOUNT_RE.match(account):
            raise ConfigError("live_trading.allowed_accounts", f"invalid account id {account!r}")
    if enabled and not accounts:
        raise ConfigError("live_trading.allowed_accounts", "must not be empty when enabled")
    policy_id = cfg.get(doc, "live_trading.risk_policy_id", str, "")
    if enabled and not policy_id:
        raise ConfigError("live_trading.risk_policy_id", "is required when live trading is on")
    wrong = instance_role.violation(role, enabled, accounts)
    if wrong is not None:
        raise ConfigError(*wrong)
    return LiveTradingConfig(
        enabled=enabled,
        safety_enabled=safety,
        allowed_accounts=frozenset(accounts),
        risk_policy_id=policy_id,
        checklist_acknowledged=cfg.get(
            doc, "live_trading.paper_to_live_checklist_acknowledged", bool, False
        ),
        checklist_max_age_days=_positive_float(doc, "live_trading.checklist_max_age_days", 90.0),
    )


def _at_least(doc: Mapping[str, Any], key: str, least: float, why: str) -> float:
    """KEY in seconds, LEAST when unset; less than LEAST stops the service naming KEY and WHY."""
    value = _positive_float(doc, key, least)
    if value < least:
        raise ConfigError(key, f"must be >= {least:g} s: {why} (got {value:g})")
    return value


def _writer_deadline(doc: Mapping[str, Any], broker_timeout_s: float) -> float:
    budget = deadlines.write_budget_s(broker_timeout_s)
    return _at_least(
        doc,
        "writer.deadline_s",
        deadlines.min_writer_deadline_s(broker_timeout_s),
        f"a write may take the writer {budget:g} s with writer.broker_timeout_s="
        f"{broker_timeout_s:g}, and the policy must not give up first",
    )


def _pending_timeout(doc: Mapping[str, Any], writer_deadline_s: float) -> float:
    return _at_least(
        doc,
        "idempotency.pending_timeout_s",
        deadlines.min_pending_timeout_s(writer_deadline_s),
        f"longer than writer.deadline_s={writer_deadline_s:g}, or a retry could settle a key "
        "whose first call is still running",
    )


def _writer(doc: Mapping[str, Any], base: Path) -> WriterClientConfig:
    broker_timeout = _positive_float(doc, "writer.broker_timeout_s", DEFAULT_BROKER_TIMEOUT_S)
    return WriterClientConfig(
        address=cfg.get(doc, "writer.address", str),
        server_name=cfg.get(doc, "writer.server_name", str, "localhost"),
        expected_san=cfg.get(doc, "writer.expected_san", str, ""),
        tls=TLSFiles(
            ca=cfg.get_path(doc, "writer.tls.ca", base),
            cert=cfg.get_path(doc, "writer.tls.cert", base),
            key=cfg.get_path(doc, "writer.tls.key", base),
        ),
        broker_timeout_s=broker_timeout,
        deadline_s=_writer_deadline(doc, broker_timeout),
        sync_interval_s=_positive_float(doc, "writer.sync_interval_s", 2.0),
        open_orders_check_s=_positive_float(doc, "writer.open_orders_check_s", 5.0),
        fills_check_s=_positive_float(doc, "writer.fills_check_s", 2.0),
    )


def _dead_man(doc: Mapping[str, Any], writer_deadline_s: float) -> LeaseSettings:
    low = _positive_float(doc, "dead_man.min_ttl_s", 5.0)
    high = _positive_float(doc, "dead_man.max_ttl_s", 3600.0)
    if high < low:
        raise ConfigError("dead_man.max_ttl_s", f"must be >= dead_man.min_ttl_s ({low:g})")
    # A claim is refreshed before each cancel, which takes up to writer.deadline_s: a shorter
    # stale bound would let a second replica take over a claim whose holder is working.
    least = writer_deadline_s + 1.0
    stale = _positive_float(doc, "dead_man.claim_stale_s", max(30.0, least))
    if stale < least:
        raise ConfigError(
            "dead_man.claim_stale_s",
            f"must be >= {least:g} s: a claim's holder refreshes it once per cancel, each up to "
            f"writer.deadline_s={writer_deadline_s:g} (got {stale:g})",
        )
    return LeaseSettings(
        enabled=cfg.get(doc, "dead_man.enabled", bool, True),
        min_ttl_s=low,
        max_ttl_s=high,
        check_interval_s=_positive_float(doc, "dead_man.check_interval_s", 1.0),
        claim_stale_s=stale,
    )


def _blackouts(doc: Mapping[str, Any]) -> tuple[Blackout, ...]:
    try:
        return blackouts_from(doc.get("blackouts"))
    except PolicyKeyError as exc:
        raise ConfigError(exc.key, str(exc)) from exc


def _live_safeguards(config: PolicyConfig) -> PolicyConfig:
    """Safeguards that may be relaxed for a paper stack, never while live trading is on."""
    if not config.live.enabled:
        return config
    if not config.four_eyes:
        raise ConfigError("approvals.four_eyes", "must be true while live_trading.enabled is true")
    if not config.reopen_second_operator:
        # One person must not be able to put a live desk back on the market after an incident.
        raise ConfigError(
            "kill_switch.reopen_second_operator", "must be true while live_trading.enabled is true"
        )
    if not config.writer.expected_san:
        # Without it any certificate of the CA with the writer's TLS name would be taken
        # for the writer (the policy's own, say): live orders must go to the proven writer.
        raise ConfigError("writer.expected_san", "is required while live_trading.enabled is true")
    return config


def from_document(doc: Mapping[str, Any], base: Path) -> PolicyConfig:
    data_dir = cfg.get_path(doc, "storage.data_dir", base, ".")
    default_url = f"sqlite:///{data_dir / 'policy.db'}"
    return _live_safeguards(_from_document(doc, base, data_dir, default_url))


def _from_document(
    doc: Mapping[str, Any], base: Path, data_dir: Path, default_url: str
) -> PolicyConfig:
    writer = _writer(doc, base)
    role = cfg.instance_role(doc, "instance_role")
    return PolicyConfig(
        instance_role=role,
        server=cfg.server_config(doc, base, DEFAULT_LISTEN),
        principals=cfg.principal_map(doc, POLICY_SCOPES),
        log_level=cfg.get(doc, "logging.level", str, "INFO"),
        metrics_listen=cfg.get(doc, "metrics.listen", str, ""),
        live=_live(doc, role),
        audit=audit_config(doc, base, data_dir),
        writer=writer,
        risk_policy_file=cfg.get_path(doc, "risk.policy_file", base),
        storage_url=cfg.get(doc, "storage.url", str, default_url),
        preview_ttl_s=_positive_float(doc, "previews.ttl_s", 300.0),
        approval_ttl_s=_positive_float(doc, "approvals.ttl_s", 300.0),
        four_eyes=cfg.get(doc, "approvals.four_eyes", bool, True),
        pending_timeout_s=_pending_timeout(doc, writer.deadline_s),
        blackouts=_blackouts(doc),
        reopen_second_operator=cfg.get(doc, "kill_switch.reopen_second_operator", bool, True),
        reopen_confirm_window_s=_positive_float(doc, "kill_switch.reopen_confirm_window_s", 300.0),
        reducing_position_max_age_s=_positive_float(
            doc, "kill_switch.reducing_position_max_age_s", 5.0
        ),
        auto_stop_audit_write_failure=cfg.get(
            doc, "auto_stops.audit_write_failure.enabled", bool, True
        ),
        auto_stop_writer_poll_s=_positive_float(doc, "auto_stops.writer_poll_interval_s", 0.5),
        dead_man=_dead_man(doc, writer.deadline_s),
    )


def load(path: Path | None, environ: Mapping[str, str] | None = None) -> PolicyConfig:
    doc = cfg.load_document(path, ENV_PREFIX, environ)
    return from_document(doc, path.parent if path else Path.cwd())
