"""Builds the policy service from its config: storage, gate, writer client, gRPC server."""

from __future__ import annotations

import importlib.metadata
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health

from livegate_api.v1 import policy_pb2_grpc
from livegate_common.close_first import CloseFirst
from livegate_common.config import ConfigError
from livegate_common.devconfig import POLICY_SERVICE_NAME
from livegate_common.server import create_server, mark_serving
from livegate_common.vault_client import VaultConfig
from policy_service.audit_anchors import AnchorFile, AnchorWriter
from policy_service.audit_keysource import read_keyring_vault
from policy_service.audit_ops import AuditOps
from policy_service.audit_watch import AuditVerifier, AuditWatch
from policy_service.config import PolicyConfig
from policy_service.domain import model as m
from policy_service.domain import risk_policy
from policy_service.domain.audit_chain import ChainKeeper
from policy_service.domain.auto_stop import (
    AuditFailureTrigger,
    AutoStopper,
    TripSource,
    WriterTrips,
)
from policy_service.domain.dead_man import DeadManWatch, replica_id
from policy_service.domain.gate import Gate
from policy_service.domain.killswitch import KillSwitchService
from policy_service.domain.leases import Leases
from policy_service.domain.open_orders import OpenOrderSync
from policy_service.domain.orders import OrderReads
from policy_service.domain.ports import Clock, StoreUnavailable, Writer, WriterError
from policy_service.domain.previews import Previews
from policy_service.domain.refusal_flood import RefusalFlood
from policy_service.domain.runaway import FillWatch
from policy_service.domain.scoped_stops import ScopedStops
from policy_service.domain.settings import GateSettings
from policy_service.plumbing_audit import audit_sink
from policy_service.refusal_summaries import flush_refusal_summaries
from policy_service.servicer import PolicyServicer
from policy_service.storage.engine import make_engines, migrate
from policy_service.storage.store import RiskPolicyConflict, SqlStore
from policy_service.writer_client import WriterClient

log = logging.getLogger(__name__)


class SystemClock:
    def now_us(self) -> int:
        return time.time_ns() // 1000


def settings_from(config: PolicyConfig) -> GateSettings:
    return GateSettings(
        live_enabled=config.live.enabled,
        safety_enabled=config.live.safety_enabled,
        checklist_acknowledged=config.live.checklist_acknowledged,
        configured_policy_id=config.live.risk_policy_id,
        allowed_accounts=config.live.allowed_accounts,
        retention_days=config.audit.retention_days,
        export_before_purge=config.audit.export_before_purge,
        account_hash_key=config.audit.account_hash_key,
        preview_ttl_us=int(config.preview_ttl_s * 1_000_000),
        approval_ttl_us=int(config.approval_ttl_s * 1_000_000),
        four_eyes=config.four_eyes,
        pending_timeout_us=int(config.pending_timeout_s * 1_000_000),
        checklist_max_age_us=int(config.live.checklist_max_age_days * 86_400_000_000),
        livegate_version=livegate_version(),
        blackouts=config.blackouts,
        reopen_second_operator=config.reopen_second_operator,
        reopen_window_us=int(config.reopen_confirm_window_s * 1_000_000),
        reducing_position_max_age_us=int(config.reducing_position_max_age_s * 1_000_000),
    )


def livegate_version() -> str:
    """The installed livegate's version: what a checklist acknowledgement must name."""
    try:
        return importlib.metadata.version("livegate")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


# An operator's close must not queue behind submits that wait on the writer (a slow broker).
OPERATOR_METHODS = (
    "SetKillSwitch",
    "GetKillSwitch",
    "GetLiveStatus",
    "ConfirmReopen",
    "SetScopedStop",
)

# A client's lease renewal must not queue behind submits that wait on a slow broker either: a
# renewal held up by the gate would lapse a healthy client's lease (its orders cancelled). Its
# own small pool, apart from the operators' so that renewals never delay a close.
LEASE_METHODS = ("RenewLease", "ReleaseLease")
LEASE_WORKERS = 2

# The rate limit reads the last minute of per-second write counts; an hour is kept (for a
# look at recent activity), pruned once a minute.
RATE_BUCKETS_KEEP_S = 3600
RATE_BUCKETS_PRUNE_S = 60.0


@dataclass
class PolicyService:
    """A built service: start() serves, stop() drains; tests bind port 0 and read .port."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    gate: Gate
    switch: KillSwitchService
    store: SqlStore
    sync_interval_s: float
    open_orders: OpenOrderSync
    open_orders_check_s: float
    anchors: AnchorWriter
    watch: AuditWatch
    verify_interval_s: float
    refusal_interval_s: float
    fills: FillWatch
    fills_check_s: float
    # Automatic stops: the audit store failing a write, and the writer's trips.
    audit_failure: AuditFailureTrigger | None = None
    writer_trips: WriterTrips | None = None
    writer_trips_poll_s: float = 0.5
    # Dead-man leases: each replica looks for lapsed ones every check interval.
    dead_man: DeadManWatch | None = None
    dead_man_check_s: float = 1.0
    _closers: list[object] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _loops: list[threading.Thread] = field(default_factory=list)

    def start(self) -> PolicyService:
        self.server.start()
        # The writer starts closed and closes itself when it hears nothing: keep telling it.
        # The open-orders check has its own thread, so a slow writer answer to it never
        # delays that heartbeat.
        self._loops = [
            self._every("killswitch-sync", self.switch.sync_writer, self.sync_interval_s),
            self._every("open-orders-sync", self.open_orders.run, self.open_orders_check_s),
            self._every("rate-buckets-prune", self._prune_rate_buckets, RATE_BUCKETS_PRUNE_S),
            # At start too: a chain changed while the service was down is an incident now.
            self._every("audit-verify", self.watch.scheduled, self.verify_interval_s, now=True),
            self._every(
                "audit-refusals",
                lambda: flush_refusal_summaries(self.gate),
                self.refusal_interval_s or 1.0,
            ),
            self._every("fills-watch", self.fills.run, self.fills_check_s),
        ]
        if self.writer_trips is not None:
            # At start too: a writer that tripped while this replica was down is recorded now.
            trips = self._every(
                "writer-trips", self.writer_trips.run, self.writer_trips_poll_s, now=True
            )
            self._loops.append(trips)
        if self.dead_man is not None:
            self._loops.append(self._every("dead-man", self.dead_man.run, self.dead_man_check_s))
        if self.audit_failure is not None:
            self.audit_failure.start()
        self.anchors.start()
        mark_serving(self.health, [POLICY_SERVICE_NAME], True)
        return self

    def _prune_rate_buckets(self) -> None:
        now = self.gate.clock.now_us()
        self.store.prune_rate_buckets(now // 1_000_000 - RATE_BUCKETS_KEEP_S)
        # An account state is trusted for seconds; an hour of ended orders is plenty.
        self.store.prune_ended_orders(now - RATE_BUCKETS_KEEP_S * 1_000_000)

    def _every(
        self, name: str, work: Callable[[], object], every_s: float, now: bool = False
    ) -> threading.Thread:
        def loop() -> None:
            delay = 0.0 if now else every_s
            while not self._stop.wait(delay):
                delay = every_s
                try:
                    work()
                except Exception:  # the loop must outlive any one failure
                    log.exception("periodic task failed", extra={"task": name})

        thread = threading.Thread(target=loop, name=name, daemon=True)
        thread.start()
        return thread

    def stop(self, grace_s: float = 1.0) -> None:
        self._stop.set()
        mark_serving(self.health, [POLICY_SERVICE_NAME], False)
        self.server.stop(grace_s).wait(grace_s + 1)
        if self.audit_failure is not None:
            self.audit_failure.stop()
        for thread in self._loops:
            thread.join(timeout=5)
        flush_refusal_summaries(self.gate)  # folded refusals of the last interval
        self.anchors.stop()  # anchors the tail this process appended last
        for closer in self._closers:
            close = getattr(closer, "close", None) or getattr(closer, "dispose", None)
            if close is not None:
                close()


def build_service(
    config: PolicyConfig,
    *,
    clock: Clock | None = None,
    writer: Writer | None = None,
    max_workers: int = 32,
) -> PolicyService:
    """Migrate storage, load the risk policy, wire the gate, bind (not start) the server."""
    clock = clock or SystemClock()
    try:
        policy = risk_policy.load(config.risk_policy_file)
    except risk_policy.RiskPolicyError as exc:
        raise ConfigError("risk.policy_file", str(exc)) from exc
    # The key first: a policy that cannot link events must not start (Vault: exit 4).
    chain = ChainKeeper(config.audit.keyring or read_keyring_vault(_vault(config)))
    anchor_file = AnchorFile(config.audit.anchor_file)
    anchor_file.check()
    write, read = make_engines(config.storage_url)
    migrate(write)
    store = SqlStore(write, read, chain)
    anchors = AnchorWriter(
        chain, anchor_file, clock, config.audit.anchor_every_events, config.audit.anchor_every_s
    )
    try:
        store.store_risk_policy(policy, clock.now_us())
    except RiskPolicyConflict as exc:
        raise ConfigError("risk.policy_file", str(exc)) from exc
    # The current key's segment begins before anything else is appended (after a rotation,
    # or over the unkeyed chain of before): its first event names the last link before it.
    store.start_audit_segment(clock.now_us())
    closers: list[object] = []
    if writer is None:
        client = WriterClient(config.writer)
        closers.append(client)
        _check_broker_timeout(client)
        writer = client
    gate = Gate(settings_from(config), policy, store, writer, clock)
    gate.close_first = CloseFirst(config.server.close_first_max_wait_s)
    audit = config.audit
    gate.refusals = RefusalFlood(int(audit.refusal_interval_s * 1e6), audit.refusal_limit_per_min)
    switch = KillSwitchService(gate)
    watch = AuditWatch(
        AuditVerifier(read, anchors, clock, audit.export_dir),
        switch,
        clock,
        int(audit.full_verify_interval_s * 1e6),
    )
    switch.audit_check = watch.passes  # a reopen needs VerifyAudit to pass at that moment
    scoped = ScopedStops(gate, config.principals.names())
    scoped.audit_check = watch.passes  # and so does a scope's
    leases = Leases(gate, config.dead_man)
    servicer = PolicyServicer(
        config.principals,
        gate,
        Previews(gate),
        switch,
        AuditOps(gate, store, write, audit.export_dir, watch),
        OrderReads(gate),
        scoped,
        leases,
    )
    server, port, health_servicer = create_server(
        config.server,
        config.principals,
        [lambda s: policy_pb2_grpc.add_PolicyServiceServicer_to_server(servicer, s)],
        [POLICY_SERVICE_NAME],
        max_workers=max_workers,
        on_refusal=audit_sink(gate, config.principals),
        operator_methods=OPERATOR_METHODS,
        pools=[("grpc-lease", LEASE_METHODS, LEASE_WORKERS)],
    )
    closers += [store, write, read] if write is not read else [store, write]
    stopper = AutoStopper(switch)
    return PolicyService(
        audit_failure=AuditFailureTrigger(
            stopper,
            lambda: _replica_closed(gate),
            _auto_id,
            enabled=config.auto_stop_audit_write_failure,
        ),
        writer_trips=WriterTrips(stopper, writer) if isinstance(writer, TripSource) else None,
        writer_trips_poll_s=config.auto_stop_writer_poll_s,
        dead_man=DeadManWatch(
            gate, scoped, config.dead_man, replica_id(), gate.settings.allowed_accounts, _auto_id
        ),
        dead_man_check_s=config.dead_man.check_interval_s,
        anchors=anchors,
        watch=watch,
        verify_interval_s=audit.verify_interval_s,
        refusal_interval_s=audit.refusal_interval_s,
        server=server,
        port=port,
        health=health_servicer,
        gate=gate,
        switch=switch,
        store=store,
        sync_interval_s=config.writer.sync_interval_s,
        open_orders=OpenOrderSync(
            store, writer, gate.settings.allowed_accounts, gate.account_hash, clock
        ),
        open_orders_check_s=config.writer.open_orders_check_s,
        fills=FillWatch(gate, gate.settings.allowed_accounts, gate.account_hash),
        fills_check_s=config.writer.fills_check_s,
        _closers=closers,
    )


def _replica_closed(gate: Gate) -> bool:
    """This replica's switch is closed (held in memory, or stored); unreadable is not."""
    if gate.latch.view() is not None:
        return True
    try:
        return gate.store.kill_switch().state is m.SwitchState.CLOSED
    except StoreUnavailable:
        return False


def _auto_id() -> str:
    return f"auto-{uuid.uuid4().hex[:16]}"


def _vault(config: PolicyConfig) -> VaultConfig:
    assert config.audit.vault is not None  # the config holds a keyring or a Vault source
    return config.audit.vault


def _check_broker_timeout(client: WriterClient) -> None:
    """Refuse to start when the writer reports another broker timeout than the one declared.

    A writer not reachable yet is no reason to stop: until it reports a matching value the
    writer.permission condition fails, so the switch cannot open.
    """
    try:
        mismatch = client.broker_timeout_mismatch()
    except WriterError as err:
        log.info("writer not asked for its broker timeout at start", extra={"error": str(err)})
        return
    if mismatch is not None:
        client.close()
        raise ConfigError("writer.broker_timeout_s", mismatch)


def build_server(config: PolicyConfig) -> tuple[grpc.Server, int, health.HealthServicer]:
    """The factory's older shape, for callers that only need the gRPC server."""
    service = build_service(config)
    return service.server, service.port, service.health
