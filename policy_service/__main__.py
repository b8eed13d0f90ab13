"""livegate-policy: start the policy service from its config file."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from livegate_common import cpus, logs
from livegate_common.config import ConfigError
from livegate_common.metrics import start_exporter
from livegate_common.vault_client import VaultStartError
from policy_service import config as policy_config
from policy_service.metrics import register_state_gauges
from policy_service.server import build_service

log = logging.getLogger("livegate.policy")
# As the writer's: a Vault failure that a restart cannot fix (the secret id is single-use).
EXIT_VAULT = 4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="livegate-policy", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="YAML config file")
    args = parser.parse_args(argv)
    logs.configure("policy")
    try:
        config = policy_config.load(args.config)
        logs.configure("policy", config.log_level)
        cpus.pin(config.server.cpus)  # before the server starts its threads
        service = build_service(config)
    except (ConfigError, FileNotFoundError) as exc:
        log.error("bad config", extra={"error": str(exc)})
        return 2
    except VaultStartError as exc:
        # The audit keyring: without it no event can be linked, so nothing may be decided.
        log.error("vault", extra={"error": str(exc)})
        return EXIT_VAULT
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    service.start()
    if config.metrics_listen:
        register_state_gauges(service.store)
        log.info("metrics", extra={"port": start_exporter(config.metrics_listen)})
    log.info(
        "serving",
        extra={
            "port": service.port,
            "listen": config.server.listen,
            "instance_role": config.instance_role.value,
            "live_trading_enabled": config.live.enabled,
            "risk_policy_id": service.gate.policy.policy_id,
            "cpus": sorted(os.sched_getaffinity(0)),
        },
    )
    try:
        stop.wait()
    finally:
        log.info("stopping")
        service.stop(grace_s=5.0)
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
