"""Start-up in order: Vault -> broker -> probe -> reconcile -> serve; a handle to stop it all."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health

from livegate_common.auto_stop_bounds import SESSION_POLL_S
from livegate_common.close_first import CloseFirst
from livegate_common.devconfig import WRITER_SERVICE_NAME
from livegate_common.server import mark_serving
from writer_service import log_redaction
from writer_service.admission import WriteAdmission
from writer_service.auto_stops import AutoStops
from writer_service.auto_watch import RejectionStreak, SessionWatch, UnexplainedWatch, on_probe
from writer_service.config import WriterConfig
from writer_service.errors import WriterError
from writer_service.ib_reference import BrokerReference
from writer_service.ib_session import IbSession
from writer_service.kill_switch import WriterKillSwitch
from writer_service.live_writer import LiveOrderWriter
from writer_service.permission import PermissionMonitor
from writer_service.probe import ProbeResult, Verdict, probe
from writer_service.reconciliation import ReconciliationIndex
from writer_service.server import build_server
from writer_service.servicer import WriterState
from writer_service.vault_credentials import BrokerSecret, WriterVault, load_credentials

log = logging.getLogger("livegate.writer")

EXIT_CONFIG = 2
EXIT_PROBE = 3
EXIT_VAULT = 4


class WriterStartError(RuntimeError):
    """The writer must not serve; exit_code tells the process what to exit with."""

    def __init__(self, exit_code: int, message: str, probe: ProbeResult | None = None):
        super().__init__(message)
        self.exit_code = exit_code
        self.probe = probe


@dataclass
class WriterHandle:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    session: IbSession
    vault: WriterVault
    writer: LiveOrderWriter
    kill_switch: WriterKillSwitch
    # The start-up probe; permission.current() is the latest one.
    probe: ProbeResult
    permission: PermissionMonitor
    auto_stops: AutoStops | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _unredact: Callable[[], None] = lambda: None

    def watch_kill_switch(self) -> None:
        """Poll the switch so a silent policy peer closes it (and logs why) without any call."""

        def loop() -> None:
            while not self._stop.wait(0.5):
                self.kill_switch.snapshot()

        threading.Thread(target=loop, name="kill-switch-watch", daemon=True).start()

    def watch_permission(self, interval_s: float, probe_timeout_s: float) -> None:
        """Probe again every INTERVAL_S; a session that is reconnecting is probed by its hook."""

        def probe() -> None:
            if self.session.is_connected():
                self.session.call(self.permission.reprobe("periodic"), 3 * probe_timeout_s + 15)

        self._every("permission-watch", interval_s, probe, "periodic probe did not finish")

    def watch_broker(self, unexplained: UnexplainedWatch, session: SessionWatch) -> None:
        """The automatic stops' watchers: the session's connection, and the broker's orders.

        The session watch costs no broker traffic: it runs with the stop off too (and logs
        what it would have tripped); the order scan asks the broker, so only when on.
        """
        self._every("session-watch", SESSION_POLL_S, session.poll, "session watch failed")
        config = self.auto_stops.config if self.auto_stops else None
        if config is not None and config.unexplained_order:
            timeout_s = self.writer.broker_timeout_s
            self._every(
                "orders-watch",
                config.unexplained_check_interval_s,
                lambda: unexplained.scan(self.session, timeout_s),
                "periodic order scan did not finish",
            )

    def _every(self, name: str, interval_s: float, work: Callable[[], None], failed: str) -> None:
        """Run WORK every INTERVAL_S on a thread of its own until the writer stops."""

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    work()
                except Exception as exc:  # the loop never stops, short of the writer's stop
                    if self._stop.is_set():
                        return
                    why = exc.message if isinstance(exc, WriterError) else type(exc).__name__
                    log.error(failed, extra={"error": why})

        threading.Thread(target=loop, name=name, daemon=True).start()

    def stop(self, grace_s: float = 1.0) -> None:
        self._stop.set()
        mark_serving(self.health, [WRITER_SERVICE_NAME], False)
        self.server.stop(grace_s).wait(grace_s + 1)
        self.session.stop()
        self.vault.stop()
        self._unredact()


def start_writer(config: WriterConfig) -> WriterHandle:
    """Start a serving writer, or raise VaultStartError / WriterStartError saying why not."""
    vault = load_credentials(config.vault)
    secret = vault.secret
    # First the cheap drop of per-order lines, so the redaction never scans them.
    unquiet = log_redaction.quiet_order_chatter(config.log_level)
    redact = log_redaction.install(
        secret.gateway_host,
        secret.gateway_port,
        secret.client_id,
        {account: secret.account_hash(account) for account in secret.accounts},
    )

    def unredact() -> None:
        unquiet()
        redact()

    session: IbSession | None = None
    try:
        vault.start_renewal()
        session = IbSession(config.broker.request_timeout_s, config.broker.max_messages_per_s)
        try:
            session.connect(
                secret.gateway_host,
                secret.gateway_port,
                secret.client_id,
                config.broker.connect_timeout_s,
            )
        except WriterError as exc:
            raise WriterStartError(EXIT_PROBE, f"broker connection failed: {exc.message}") from None
        broker = config.broker
        probe_now = _prober(session, config, secret)
        first = session.call(probe_now(), 3 * broker.probe_timeout_s + 10)
        if first.verdict is not Verdict.MATCHES_ROLE:
            raise WriterStartError(
                EXIT_PROBE,
                f"permission probe {first.verdict.value} for role {config.role.value}",
                first,
            )
        kill_switch = WriterKillSwitch(config.policy_peer_timeout_s)
        permission = PermissionMonitor(first, probe_now, kill_switch)
        index = ReconciliationIndex(secret.account_hash)
        writer = LiveOrderWriter(
            session,
            secret.accounts,
            kill_switch,
            index,
            broker.request_timeout_s,
            admission=WriteAdmission(config.role, permission, secret.account_hash),
            close_first=CloseFirst(config.server.close_first_max_wait_s),
        )
        _probe_after_reconnect(session, permission)
        stops = AutoStops(config.auto_stops, kill_switch)
        unexplained = UnexplainedWatch(stops, secret.account_hash)
        # At start too: an order nobody explains trips before the first write (a desk wants
        # to know); its close reaches the policy through ClaimAutoStops.
        index.on_unexplained = lambda views: unexplained.observe(views, "reconciliation")
        permission.on_verdict = on_probe(stops)
        try:
            writer.reconcile()
        except WriterError as exc:
            raise WriterStartError(EXIT_PROBE, f"reconciliation failed: {exc.message}") from None
        reference = BrokerReference(session, secret.accounts, config.broker.request_timeout_s)
        state = WriterState(
            config.role,
            config.principals,
            writer,
            kill_switch,
            permission,
            session.is_connected,
            reference,
            auto_stops=stops,
            rejections=RejectionStreak(stops, config.auto_stops.broker_rejections_count),
        )
        server, port, health_servicer = build_server(config, state)
        server.start()
        mark_serving(health_servicer, [WRITER_SERVICE_NAME], True)
    except BaseException:
        if session is not None:
            session.stop()
        vault.stop()
        unredact()
        raise
    handle = WriterHandle(
        server,
        port,
        health_servicer,
        session,
        vault,
        writer,
        kill_switch,
        first,
        permission,
        auto_stops=stops,
        _unredact=unredact,
    )
    handle.watch_kill_switch()
    handle.watch_broker(
        unexplained,
        SessionWatch(stops, session.broker_up, config.auto_stops.session_lost_after_s),
    )
    handle.watch_permission(broker.probe_interval_s, broker.probe_timeout_s)
    log.info(
        "serving",
        extra={"port": port, "role": config.role.value, "cpus": sorted(os.sched_getaffinity(0))},
    )
    return handle


def _prober(
    session: IbSession, config: WriterConfig, secret: BrokerSecret
) -> Callable[[], Coroutine[Any, Any, ProbeResult]]:
    """A fresh probe of SESSION for this writer's role and accounts, to run on its loop."""
    broker = config.broker

    def probe_now() -> Coroutine[Any, Any, ProbeResult]:
        return probe(
            session,
            config.role,
            secret.accounts,
            broker.probe_symbol,
            broker.probe_timeout_s,
            secret.account_hash,
        )

    return probe_now


def _probe_after_reconnect(session: IbSession, permission: PermissionMonitor) -> None:
    """Chain the probe after the hook already there (reconciliation): writes wait for both."""
    reconcile = session.on_reconnected

    async def after_reconnect() -> None:
        if reconcile is not None:
            await reconcile()
        await permission.reprobe("reconnect")

    session.on_reconnected = after_reconnect
