"""Local stack only: wait, bounded, until files exist and TCP peers accept, then run a command.

Each service of docker/compose.yaml waits for its own inputs this way, so the stack starts in
order on an engine that ignores `depends_on` conditions (podman-compose on podman 4.3) too.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path


def _accepts(peer: str) -> bool:
    host, _, port = peer.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def missing(files: list[str], peers: list[str]) -> list[str]:
    absent = [f for f in files if not Path(f).is_file() or Path(f).stat().st_size == 0]
    return absent + [p for p in peers if not _accepts(p)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="await", description=__doc__)
    parser.add_argument("--file", action="append", default=[], help="a file that must exist")
    parser.add_argument("--tcp", action="append", default=[], help="HOST:PORT that must accept")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds, then exit 1")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given after --")
    deadline = time.monotonic() + args.timeout
    waiting = missing(args.file, args.tcp)
    while waiting:
        if time.monotonic() >= deadline:
            print(
                f"await: gave up after {args.timeout:.0f}s waiting for {waiting}", file=sys.stderr
            )
            return 1
        time.sleep(1)
        waiting = missing(args.file, args.tcp)
    sys.stdout.flush()
    os.execvp(command[0], command)  # noqa: S606 - the service's own argv, from compose.yaml


if __name__ == "__main__":
    sys.exit(main())
