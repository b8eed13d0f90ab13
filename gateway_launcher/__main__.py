"""livegate-gateway-launcher: log IB Gateway in with this host's IB login, then supervise it."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from gateway_launcher import config as launcher_config
from gateway_launcher.app import EXIT_CONFIG, Launch
from livegate_common import logs
from livegate_common.config import ConfigError

log = logging.getLogger("livegate.gateway")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="livegate-gateway-launcher", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="YAML config file")
    args = parser.parse_args(argv)
    logs.configure("gateway-launcher")
    try:
        config = launcher_config.load(args.config)
    except (ConfigError, FileNotFoundError) as exc:
        log.error("bad config; not starting", extra={"error": str(exc)})
        return EXIT_CONFIG
    logs.configure("gateway-launcher", config.log_level)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _signo, _frame: stop.set())
    log.info(
        "gateway launcher starting",
        extra={
            "role": config.role.value,
            "secret_path": f"{config.vault.kv_mount}/{config.vault.secret_path}",
            "trading_mode": config.ibc.trading_mode,
        },
    )
    return Launch(config, stop).run()


if __name__ == "__main__":
    sys.exit(main())
