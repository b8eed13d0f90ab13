"""Command-line entry point: livegate-gateway-sim / python -m gateway_sim."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path

from gateway_sim.config import MAX_SERVER_VERSION, QuoteSpec, SimConfig
from gateway_sim.faults import READ_ONLY_REFUSES
from gateway_sim.login import EXIT_LOGIN_FAILED, LoginFailed, log_in
from gateway_sim.server import GatewaySimulator


def _quote(text: str) -> QuoteSpec:
    try:
        symbol, prices = text.split("=", 1)
        bid, ask, last = (Decimal(p) for p in prices.split(":"))
    except (ValueError, InvalidOperation) as exc:
        raise argparse.ArgumentTypeError(f"expected SYMBOL=BID:ASK:LAST, got {text!r}") from exc
    return QuoteSpec(symbol.upper(), bid, ask, last)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="livegate-gateway-sim", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=4002, help="0 picks a free port")
    p.add_argument("--account", action="append", default=[], help="U... live, DU... paper")
    p.add_argument("--read-only", action="store_true")
    p.add_argument("--max-server-version", type=int, default=MAX_SERVER_VERSION)
    p.add_argument("--what-if-in-read-only", choices=("refuse", "allow"), default="refuse")
    p.add_argument(
        "--read-only-flavor",
        choices=sorted(READ_ONLY_REFUSES),
        default=None,
        help="what read-only mode refuses with 321 (default: from --what-if-in-read-only)",
    )
    p.add_argument("--quote", action="append", type=_quote, default=[])
    p.add_argument("--log-level", default="INFO")
    login = p.add_argument_group(
        "login mode", "log in like IB Gateway under IBC: accounts, read-only and port come from it"
    )
    login.add_argument("--ibc-config", type=Path, help="the IBC config.ini the launcher rendered")
    login.add_argument("--users", type=Path, help="IBKR users: login -> password, accounts, ...")
    return p


def _say(line: str) -> None:
    print(line, flush=True)


def _config(args: argparse.Namespace) -> SimConfig | int:
    """The simulator's config: from the flags, or in login mode from what the login allows."""
    common = {
        "max_server_version": args.max_server_version,
        "host": args.host,
        "what_if_refused_in_read_only": args.what_if_in_read_only == "refuse",
        "read_only_flavor": args.read_only_flavor,
        "quotes": tuple(args.quote),
    }
    if args.ibc_config is None and args.users is None:
        return SimConfig(
            accounts=tuple(args.account) or ("U1234567",),
            read_only=args.read_only,
            port=args.port,
            **common,
        )
    if args.ibc_config is None or args.users is None or args.account or args.read_only:
        print(
            "livegate-gateway-sim: login mode needs --ibc-config and --users, and takes its "
            "accounts and read-only mode from the login (no --account, no --read-only)",
            file=sys.stderr,
        )
        return 2
    try:
        session = log_in(args.ibc_config, args.users, _say)
    except LoginFailed as exc:
        _say(str(exc))
        return EXIT_LOGIN_FAILED
    return SimConfig(
        accounts=session.accounts, read_only=session.read_only, port=session.api_port, **common
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        config = _config(args)
    except ValueError as exc:
        print(f"livegate-gateway-sim: {exc}", file=sys.stderr)
        return 2
    if isinstance(config, int):
        return config
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _signo, _frame: stop.set())
    sim = GatewaySimulator(config).start()
    print(json.dumps({"event": "listening", "host": config.host, "port": sim.port}), flush=True)
    try:
        # Waking up periodically keeps signal delivery prompt on every platform.
        while not stop.wait(0.5):
            pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
