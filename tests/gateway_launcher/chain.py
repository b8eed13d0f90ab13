"""The chain per role: Vault -> launcher -> gateway login -> writer probe -> the verdict."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livegate_common.roles import Role
from tests.support.gateways import (
    IbcMode,
    ProcessLog,
    SimLogin,
    is_probe,
    is_ready,
    launcher_document,
    make_login,
    start_launcher,
    start_writer_process,
    store_login,
    write_users,
)
from tests.support.net import free_port
from tests.support.vault import DevVault
from tests.support.writers import writer_document

W_LOGIN = make_login("w-trader", "live", live_accounts=("U1234567",), paper_accounts=("DU1234567",))
R_LOGIN = make_login("r-reader", "paper", paper_accounts=("DU2345678",), trading_permissions=False)
ABH_LOGIN = make_login("abh-experiments", "paper", paper_accounts=("DU3456789",))
MODES = {
    "W live": IbcMode("live", read_only_login=False, read_only_api=False),
    "R read-only": IbcMode("paper", read_only_login=True, read_only_api=True),
    "ABH read-only": IbcMode("paper", read_only_login=False, read_only_api=True),
    "ABH paper": IbcMode("paper", read_only_login=False, read_only_api=False),
}


@dataclass
class Chain:
    launcher: ProcessLog
    writer: ProcessLog | None = None
    writer_exit: int | None = None
    probe: dict[str, Any] | None = None

    def lines(self, role: str) -> list[str]:
        """The chain's story: launcher ready, the gateway's login line, the probe's verdict."""
        out = []
        ready = self.launcher.find(is_ready)
        if ready:
            out.append(f"{role} launcher: {ready['msg']} port={ready['port']}")
        for record in self.launcher.records():
            line = str(record.get("line", ""))
            if "Login has completed" in line or "Second Factor" in line:
                out.append(f"{role} gateway:  {line}")
        if self.probe:
            out.append(
                f"{role} writer:   probe verdict={self.probe['verdict']} role={self.probe['role']}"
                f" exit={self.writer_exit if self.writer_exit is not None else 'serving'}"
            )
        return out


def _is_serving(record: dict[str, Any]) -> bool:
    return record.get("msg") == "serving"


def probe_writer(
    dev_pki: Path, vault: DevVault, role: Role, tmp: Path, port: int, accounts: tuple[str, ...]
) -> tuple[ProcessLog, int | None, dict[str, Any] | None]:
    """Start the role's writer against the gateway; its probe verdict and exit (None: serving)."""
    doc = writer_document(dev_pki, vault, role, tmp, gateway_port=port, accounts=",".join(accounts))
    writer = start_writer_process(doc, tmp)
    writer.wait_for(lambda r: is_probe(r) or _is_serving(r), 45)
    probe = writer.find(is_probe)
    if probe is not None and probe["verdict"] == "MATCHES_ROLE":
        assert writer.wait_for(_is_serving, 20), writer.text()[-3000:]
        writer.stop()
        return writer, None, probe
    return writer, writer.wait_exit(30), probe


def run_chain(
    dev_pki: Path,
    vault: DevVault,
    tmp: Path,
    ini_dir: Path,
    role: Role,
    login: SimLogin,
    mode: IbcMode,
) -> Chain:
    store_login(vault, role, login)
    users = write_users(tmp / "users.yaml", [login])
    port = free_port()
    launcher = start_launcher(launcher_document(vault, role, tmp, ini_dir, users, mode, port), tmp)
    chain = Chain(launcher)
    try:
        assert launcher.wait_for(is_ready, 30), launcher.text()[-3000:]
        chain.writer, chain.writer_exit, chain.probe = probe_writer(
            dev_pki, vault, role, tmp, port, login.accounts
        )
    finally:
        launcher.stop()
    return chain
