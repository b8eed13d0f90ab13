"""livegate-writer: start the writer service from its config file."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from livegate_common import cpus, logs
from livegate_common.config import ConfigError
from livegate_common.devconfig import WRITER_SERVICE_NAME
from livegate_common.metrics import KILL_SWITCH_CLOSED, KILL_SWITCH_REDUCING, start_exporter
from livegate_common.server import serve_until_signalled
from writer_service import config as writer_config
from writer_service.app import EXIT_CONFIG, EXIT_VAULT, WriterStartError, start_writer
from writer_service.kill_switch import SwitchState
from writer_service.vault_credentials import VaultStartError

log = logging.getLogger("livegate.writer")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="livegate-writer", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="YAML config file")
    args = parser.parse_args(argv)
    logs.configure("writer")
    try:
        config = writer_config.load(args.config)
        cpus.pin(config.server.cpus)  # before the broker loop and the server start threads
    except (ConfigError, FileNotFoundError) as exc:
        log.error("bad config; not starting", extra={"error": str(exc)})
        return EXIT_CONFIG
    logs.configure("writer", config.log_level)
    try:
        handle = start_writer(config)
    except VaultStartError as exc:
        log.error("vault failed; not starting", extra={"error": str(exc)})
        return EXIT_VAULT
    except WriterStartError as exc:
        log.error("not starting", extra={"error": str(exc)})
        return exc.exit_code

    if config.metrics_listen:
        switch = handle.kill_switch
        KILL_SWITCH_CLOSED.set_function(lambda: float(switch.state() is SwitchState.CLOSED))
        KILL_SWITCH_REDUCING.set_function(lambda: float(switch.state() is SwitchState.REDUCING))
        log.info("metrics", extra={"port": start_exporter(config.metrics_listen)})

    def release() -> None:
        handle.session.stop()
        handle.vault.stop()

    serve_until_signalled(handle.server, handle.health, [WRITER_SERVICE_NAME], on_stop=release)
    return 0


if __name__ == "__main__":
    sys.exit(main())
