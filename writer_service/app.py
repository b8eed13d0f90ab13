"""Start-up in order: Vault -> broker -> probe -> reconcile -> serve; a handle to stop it all."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health

from livegate_common.devconfig import WRITER_SERVICE_NAME
from livegate_common.server import mark_serving
from writer_service import log_redaction
from writer_service.config import WriterConfig
from writer_service.errors import WriterError
from writer_service.ib_reference import BrokerReference
from writer_service.ib_session import IbSession
from writer_service.kill_switch import WriterKillSwitch
from writer_service.live_writer import LiveOrderWriter
from writer_service.probe import ProbeResult, Verdict, run_probe
from writer_service.reconciliation import ReconciliationIndex
from writer_service.server import build_server
from writer_service.servicer import WriterState
from writer_service.vault_credentials import WriterVault, load_credentials

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
    probe: ProbeResult
    _stop: threading.Event = field(default_factory=threading.Event)
    _unredact: Callable[[], None] = lambda: None

    def watch_kill_switch(self) -> None:
        """Poll the switch so a silent policy peer closes it (and logs why) without any call."""

        def loop() -> None:
            while not self._stop.wait(0.5):
                self.kill_switch.snapshot()

        threading.Thread(target=loop, name="kill-switch-watch", daemon=True).start()

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
    redact = log_redaction.install(secret.gateway_host, secret.gateway_port, secret.client_id)

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
        probe = run_probe(
            session,
            config.role,
            secret.accounts,
            config.broker.probe_symbol,
            config.broker.probe_timeout_s,
        )
        if probe.verdict is not Verdict.MATCHES_ROLE:
            raise WriterStartError(
                EXIT_PROBE,
                f"permission probe {probe.verdict.value} for role {config.role.value}",
                probe,
            )
        kill_switch = WriterKillSwitch(config.policy_peer_timeout_s)
        index = ReconciliationIndex()
        writer = LiveOrderWriter(
            session, secret.accounts, kill_switch, index, config.broker.request_timeout_s
        )
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
            probe,
            session.is_connected,
            reference,
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
        probe,
        _unredact=unredact,
    )
    handle.watch_kill_switch()
    log.info(
        "serving",
        extra={"port": port, "role": config.role.value, "cpus": sorted(os.sched_getaffinity(0))},
    )
    return handle
