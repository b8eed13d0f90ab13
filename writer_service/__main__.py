"""livegate-writer: start the writer service from its config file."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from livegate_common import logs
from livegate_common.config import ConfigError
from livegate_common.devconfig import WRITER_SERVICE_NAME
from livegate_common.server import mark_serving, serve_until_signalled
from writer_service import config as writer_config
from writer_service.server import build_server

log = logging.getLogger("livegate.writer")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="livegate-writer", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="YAML config file")
    args = parser.parse_args(argv)
    logs.configure("writer")
    try:
        config = writer_config.load(args.config)
    except (ConfigError, FileNotFoundError) as exc:
        log.error("bad config", extra={"error": str(exc)})
        return 2
    logs.configure("writer", config.log_level)
    server, port, health_servicer = build_server(config)
    server.start()
    mark_serving(health_servicer, [WRITER_SERVICE_NAME], True)
    log.info("serving", extra={"port": port, "listen": config.server.listen})
    serve_until_signalled(server, health_servicer, [WRITER_SERVICE_NAME])
    return 0


if __name__ == "__main__":
    sys.exit(main())
