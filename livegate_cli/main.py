"""livegate: operator and developer commands (dev PKI, local stack, kill switch, audit)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from livegate_cli import demo, dev, lease_ops, ops, risk_ops, scope_ops, vault_cmd
from livegate_common.pki import init_dev_pki

Handler = Callable[[argparse.Namespace], int]


def _pki_init(args: argparse.Namespace) -> int:
    paths = init_dev_pki(Path(args.dir))
    for name, p in paths.items():
        print(f"{name}: cert={p.cert} key={p.key}")
    print(f"ca: {Path(args.dir) / 'ca.pem'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="livegate", description=__doc__)
    # One place holds the version: pyproject.toml, read back from the installed metadata.
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {metadata.version('livegate')}"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    pki = sub.add_parser("pki", help="dev certificates").add_subparsers(
        dest="pki_command", required=True
    )
    init = pki.add_parser("init", help="make a throwaway CA and the dev identities in DIR")
    init.add_argument("dir")
    init.set_defaults(handler=_pki_init)

    dev.add_parser(sub)
    demo.add_parser(sub)
    ops.add_parsers(sub)
    risk_ops.add_parsers(sub)
    scope_ops.add_parsers(sub)
    lease_ops.add_parsers(sub)
    vault_cmd.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
