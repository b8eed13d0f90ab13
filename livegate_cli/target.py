"""Where the operator's commands connect, and as whom: flags, environment, or the dev stack."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path

import grpc

from livegate_common.tls import TLSFiles, secure_channel

DEV_STACK_FILE = Path(".livegate/dev/stack.json")


@dataclass(frozen=True)
class Target:
    address: str
    tls: TLSFiles

    def channel(self) -> grpc.Channel:
        return secure_channel(self.address, self.tls)

    def grpcurl(self, *flags: str) -> str:
        """The grpcurl command up to the method; flags go before the address, as grpcurl needs."""
        extra = "".join(f" {f}" for f in flags)
        return (
            f"grpcurl -cacert {self.tls.ca} -cert {self.tls.cert} -key {self.tls.key}{extra} "
            f"{self.address}"
        )


def add_target_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        default=os.environ.get("LIVEGATE_TARGET"),
        help="policy service host:port (env LIVEGATE_TARGET; default: the running dev stack)",
    )
    parser.add_argument(
        "--pki",
        type=Path,
        default=os.environ.get("LIVEGATE_PKI"),
        help="directory with ca.pem and IDENTITY.pem/.key (env LIVEGATE_PKI)",
    )
    parser.add_argument(
        "--identity", default=os.environ.get("LIVEGATE_IDENTITY", "operator"), help="cert name"
    )
    parser.add_argument(
        "--show-grpcurl", action="store_true", help="print the equivalent grpcurl line first"
    )


def resolve(args: argparse.Namespace) -> Target:
    address, pki = args.target, args.pki
    if (address is None or pki is None) and DEV_STACK_FILE.is_file():
        stack = json.loads(DEV_STACK_FILE.read_text())
        address = address or f"localhost:{stack['policy_port']}"
        pki = pki or Path(stack["pki"])
    if address is None or pki is None:
        raise SystemExit("no target: pass --target and --pki, or start `livegate dev`")
    pki = Path(pki)
    identity = args.identity
    return Target(
        address=address,
        tls=TLSFiles(ca=pki / "ca.pem", cert=pki / f"{identity}.pem", key=pki / f"{identity}.key"),
    )
