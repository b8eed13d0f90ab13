"""The gateway launcher over a provisioned OpenBao, with the simulator logging in behind it."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from livegate_cli.procs import terminate
from livegate_common.roles import Role
from livegate_common.vault_layout import (
    GATEWAY_LAYOUT,
    provision,
    wrapped_secret_id,
    write_ib_login,
)
from tests.support.net import wait_until
from tests.support.vault import DevVault

STAT_EXEC = Path(__file__).with_name("ibc_stat_exec.py")
QUOTES = ("SPY=500.00:500.10:500.05", "AAPL=189.20:189.30:189.25")


@dataclass(frozen=True)
class SimLogin:
    """One IBKR user as the simulator's users file knows it, and how a host logs it in."""

    login_id: str
    password: str = field(repr=False)
    trading_mode: str
    live_accounts: tuple[str, ...] = ()
    paper_accounts: tuple[str, ...] = ()
    trading_permissions: bool = True

    @property
    def accounts(self) -> tuple[str, ...]:
        return self.live_accounts if self.trading_mode == "live" else self.paper_accounts


def make_login(login_id: str, trading_mode: str, **kwargs: Any) -> SimLogin:
    # A password with characters IBC's Properties format must escape: the login only works if
    # the launcher's escaping and the gateway's reading agree.
    password = f"pw#{secrets.token_hex(8)}=\\ {secrets.token_hex(4)}:é"
    return SimLogin(login_id, password, trading_mode, **kwargs)


def write_users(path: Path, logins: list[SimLogin], approval_file: Path | None = None) -> Path:
    users: dict[str, dict[str, Any]] = {}
    for login in logins:
        users[login.login_id] = {
            "password": login.password,
            "live_accounts": list(login.live_accounts),
            "paper_accounts": list(login.paper_accounts),
            "trading_permissions": login.trading_permissions,
        }
        if approval_file is not None and login.trading_mode == "live":
            users[login.login_id]["second_factor_approval_file"] = str(approval_file)
    path.write_text(yaml.safe_dump(users), encoding="utf-8")
    return path


def store_login(vault: DevVault, role: Role, login: SimLogin) -> None:
    """The role's IB login, written by the project's own provisioning code."""
    write_ib_login(
        vault.client(),
        role,
        {
            "login_id": login.login_id,
            "password": login.password,
            "trading_mode": login.trading_mode,
        },
    )


@contextmanager
def private_tmpfs_dir() -> Iterator[Path]:
    """A 0700 directory on /dev/shm (tmpfs), as systemd's RuntimeDirectory= gives the unit."""
    path = Path(tempfile.mkdtemp(prefix="lg-gateway-", dir="/dev/shm"))
    path.chmod(0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class IbcMode:
    trading_mode: str
    read_only_login: bool
    read_only_api: bool


def launcher_document(
    vault: DevVault,
    role: Role,
    workdir: Path,
    ini_dir: Path,
    users: Path,
    mode: IbcMode,
    api_port: int,
    *,
    secret_path: str | None = None,
    ready_timeout_s: float = 20.0,
    second_factor_timeout_s: float = 30.0,
) -> dict[str, Any]:
    """A launcher config for ROLE: its own AppRole, a fresh wrapped secret-id, the simulator."""
    client = vault.client()
    gateway_role_ids = {p.role: p.role_id for p in provision(client, table=GATEWAY_LAYOUT)}
    wrap_file = workdir / f"gateway-secret-id-{role.value}.wrap"
    wrap_file.write_text(wrapped_secret_id(client, role, table=GATEWAY_LAYOUT), encoding="utf-8")
    sim = [sys.executable, "-m", "gateway_sim", "--ibc-config", "{ibc_ini}", "--users", str(users)]
    for quote in QUOTES:
        sim += ["--quote", quote]
    return {
        "role": role.value,
        "vault": {
            "addr": vault.addr,
            "role_id": gateway_role_ids[role],
            "wrapped_secret_id_file": str(wrap_file),
            "secret_path": secret_path or GATEWAY_LAYOUT[role].secret_path,
        },
        "ibc": {
            "config_file": str(ini_dir / "config.ini"),
            "trading_mode": mode.trading_mode,
            "read_only_login": mode.read_only_login,
            "read_only_api": mode.read_only_api,
            "api_port": api_port,
        },
        "gateway": {
            "argv": [sys.executable, str(STAT_EXEC), "{ibc_ini}", *sim],
            "env": {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            "ready_timeout_s": ready_timeout_s,
            "second_factor_timeout_s": second_factor_timeout_s,
            "stop_timeout_s": 5,
        },
        "logging": {"level": "INFO"},
    }


@dataclass
class ProcessLog:
    """A child process whose stderr and stdout lines are collected as they come."""

    process: subprocess.Popen[bytes]
    lines: list[str] = field(default_factory=list)
    _readers: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def start(cls, argv: list[str], env: Mapping[str, str] | None = None) -> ProcessLog:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        run = cls(proc)
        for stream in (proc.stdout, proc.stderr):
            reader = threading.Thread(target=run._read, args=(stream,), daemon=True)
            reader.start()
            run._readers.append(reader)
        return run

    def _read(self, stream: Any) -> None:
        for raw in iter(stream.readline, b""):
            self.lines.append(raw.decode("utf-8", errors="replace").rstrip("\n"))
        stream.close()

    def records(self) -> list[dict[str, Any]]:
        out = []
        for line in list(self.lines):
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out

    def find(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        return next((r for r in self.records() if predicate(r)), None)

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float) -> bool:
        return wait_until(
            lambda: self.find(predicate) is not None or self.process.poll() is not None,
            timeout_s,
        ) and (self.find(predicate) is not None)

    def wait_exit(self, timeout_s: float) -> int:
        code = self.process.wait(timeout=timeout_s)
        self.join()
        return code

    def join(self) -> None:
        for reader in self._readers:
            reader.join(timeout=5)

    def stop(self) -> int | None:
        terminate(self.process)
        self.join()
        return self.process.returncode

    def text(self) -> str:
        return "\n".join(self.lines)


def write_config(doc: Mapping[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def start_launcher(
    doc: Mapping[str, Any], workdir: Path, env: Mapping[str, str] | None = None
) -> ProcessLog:
    path = write_config(doc, workdir / f"gateway-{doc['role']}.yaml")
    argv = [sys.executable, "-m", "gateway_launcher", "--config", str(path)]
    return ProcessLog.start(argv, env)


def start_writer_process(doc: Mapping[str, Any], workdir: Path) -> ProcessLog:
    path = write_config(doc, workdir / f"writer-{doc['role']}.yaml")
    return ProcessLog.start([sys.executable, "-m", "writer_service", "--config", str(path)])


def is_probe(record: Mapping[str, Any]) -> bool:
    return record.get("event") == "probe"


def is_ready(record: Mapping[str, Any]) -> bool:
    return str(record.get("msg", "")).startswith("gateway ready")
