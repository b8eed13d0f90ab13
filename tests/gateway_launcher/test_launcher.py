"""The launcher as a process: the rendered file, the password's absence, 2FA, every way out."""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway_launcher import ports
from livegate_common.roles import Role
from tests.gateway_launcher.chain import MODES, R_LOGIN, W_LOGIN, probe_writer
from tests.support.gateways import (
    SimLogin,
    is_ready,
    launcher_document,
    start_launcher,
    store_login,
    write_users,
)
from tests.support.net import free_port, wait_until
from tests.support.vault import DevVault

pytestmark = pytest.mark.timeout(120)


def _msg(text: str) -> Any:
    return lambda r: r.get("msg") == text


def _proc_bytes(pid: int, name: str) -> bytes:
    return Path(f"/proc/{pid}/{name}").read_bytes()


def _started(vault: DevVault, tmp: Path, ini: Path, login: SimLogin, role: Role, **kw: Any):  # type: ignore[no-untyped-def]
    store_login(vault, role, login)
    users = write_users(tmp / "users.yaml", [login], kw.pop("approval_file", None))
    port = free_port()
    mode = kw.pop("mode", MODES["W live"] if role is Role.W else MODES["R read-only"])
    doc = launcher_document(vault, role, tmp, ini, users, mode, port, **kw)
    return doc, port


def test_launcher_when_gateway_listens_then_config_was_0600_for_its_user_and_is_gone(
    vault: DevVault, tmp_path: Path, ini_dir: Path
) -> None:
    doc, _ = _started(vault, tmp_path, ini_dir, R_LOGIN, Role.R)
    launcher = start_launcher(doc, tmp_path)
    try:
        assert launcher.wait_for(is_ready, 30), launcher.text()[-3000:]
        assert launcher.wait_for(_msg("rendered IBC config removed"), 5)
        left = list(ini_dir.iterdir())
    finally:
        launcher.stop()
    seen = launcher.find(lambda r: "ibc_ini_seen" in str(r.get("line", "")))
    assert seen is not None
    # What the gateway process found at its start, reported by it and relayed.
    print(f"\nconfig.ini as the gateway saw it: {seen['line']}; after ready: {left}")
    assert '"mode": "0600"' in seen["line"] and f'"uid": {os.geteuid()}' in seen["line"]
    assert left == []


def test_launcher_when_running_then_password_is_in_no_log_line_argv_or_environment(
    dev_pki: Path, vault: DevVault, tmp_path: Path, ini_dir: Path
) -> None:
    doc, port = _started(vault, tmp_path, ini_dir, W_LOGIN, Role.W)
    launcher = start_launcher(doc, tmp_path)
    secret = W_LOGIN.password.encode()
    try:
        assert launcher.wait_for(is_ready, 30), launcher.text()[-3000:]
        started = launcher.find(_msg("gateway started"))
        assert started is not None
        gateway_pid = int(started["pid"])
        exposed = {
            f"{who} {name}": _proc_bytes(pid, name)
            for who, pid in (("gateway", gateway_pid), ("launcher", launcher.process.pid))
            for name in ("environ", "cmdline")
        }
        gateway_env = dict(
            item.split(b"=", 1) for item in exposed["gateway environ"].split(b"\0") if item
        )
        writer, _, probe = probe_writer(dev_pki, vault, Role.W, tmp_path, port, ("U1234567",))
    finally:
        launcher.stop()
    assert probe is not None and probe["verdict"] == "MATCHES_ROLE"
    for where, data in exposed.items():
        assert secret not in data, where
    # The child's environment is the configured one, nothing of the launcher's (a Vault token).
    assert set(gateway_env) == {b"PATH", b"LANG"}
    lines = launcher.lines + writer.lines
    assert len(lines) > 30
    assert not any(W_LOGIN.password in line for line in lines)
    assert any("IbPassword=***" in line for line in launcher.lines)  # IBC's dump, masked


def test_launcher_when_w_login_waits_for_second_factor_then_says_so_and_writer_fails_closed(
    dev_pki: Path, vault: DevVault, tmp_path: Path, ini_dir: Path
) -> None:
    approval = tmp_path / "approved-on-ibkr-mobile"
    notify_path = tmp_path / "notify.sock"
    notices = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notices.bind(str(notify_path))
    notices.settimeout(0.1)
    doc, port = _started(vault, tmp_path, ini_dir, W_LOGIN, Role.W, approval_file=approval)
    launcher = start_launcher(doc, tmp_path, env={"NOTIFY_SOCKET": str(notify_path)})
    try:
        assert launcher.wait_for(lambda r: r.get("event") == "second_factor", 30)
        assert not ports.is_listening(port)
        # The writer started meanwhile finds no gateway and does not serve (exit 3).
        waiting_writer, waiting_exit, _ = probe_writer(
            dev_pki, vault, Role.W, tmp_path, port, ("U1234567",)
        )
        approval.touch()
        assert launcher.wait_for(is_ready, 30), launcher.text()[-3000:]
        _, serving_exit, probe = probe_writer(dev_pki, vault, Role.W, tmp_path, port, ("U1234567",))
    finally:
        launcher.stop()
        received = _drain(notices)
        notices.close()
    warning = launcher.find(lambda r: r.get("event") == "second_factor")
    print(f"\n2FA: launcher {warning['level']}: {warning['msg']}")  # type: ignore[index]
    print(f"2FA: writer while waiting exit={waiting_exit}; after approval probe={probe['verdict']}")  # type: ignore[index]
    assert warning is not None and warning["level"] == "warning"
    assert waiting_exit == 3
    assert any("broker connection failed" in line for line in waiting_writer.lines)
    assert serving_exit is None and probe is not None and probe["verdict"] == "MATCHES_ROLE"
    assert "STATUS=waiting for second-factor approval (IBKR Mobile)" in received
    assert any(m.startswith("READY=1") for m in received)
    assert received.index(next(m for m in received if m.startswith("READY=1"))) > 0


def _drain(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except TimeoutError:
            return out


def test_launcher_when_password_is_wrong_then_exit_3_the_gateway_stopped_nothing_listens(
    vault: DevVault, tmp_path: Path, ini_dir: Path
) -> None:
    wrong = SimLogin(R_LOGIN.login_id, "not-the-password", "paper", paper_accounts=("DU1",))
    store_login(vault, Role.R, wrong)
    users = write_users(tmp_path / "users.yaml", [R_LOGIN])
    port = free_port()
    doc = launcher_document(vault, Role.R, tmp_path, ini_dir, users, MODES["R read-only"], port)
    launcher = start_launcher(doc, tmp_path)
    assert launcher.wait_exit(30) == 3
    assert any(
        "Unrecognized Username or Password" in str(r.get("line")) for r in launcher.records()
    )
    assert not ports.is_listening(port)
    assert list(ini_dir.iterdir()) == []


def test_launcher_when_vault_holds_a_login_of_another_trading_mode_then_exit_3_before_gateway(
    vault: DevVault, tmp_path: Path, ini_dir: Path
) -> None:
    # Written past write_ib_login's own check, as a hand edit in Vault would be.
    vault.client().secrets.kv.v2.create_or_update_secret(
        path="livegate/ABH/ib_login",
        secret={"login_id": "x-live", "password": "pw-123456", "trading_mode": "live"},
        mount_point="secret",
    )
    users = write_users(tmp_path / "users.yaml", [R_LOGIN])
    doc = launcher_document(
        vault, Role.ABH, tmp_path, ini_dir, users, MODES["ABH paper"], free_port()
    )
    launcher = start_launcher(doc, tmp_path)
    assert launcher.wait_exit(30) == 3
    refused = launcher.find(_msg("the IB login does not fit this host; not starting"))
    assert refused is not None and "is a live login" in refused["error"]
    assert launcher.find(_msg("gateway started")) is None
    assert "pw-123456" not in launcher.text()


def test_launcher_when_api_port_is_taken_then_exit_5_without_touching_vault(
    vault: DevVault, tmp_path: Path, ini_dir: Path
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        store_login(vault, Role.R, R_LOGIN)
        users = write_users(tmp_path / "users.yaml", [R_LOGIN])
        doc = launcher_document(vault, Role.R, tmp_path, ini_dir, users, MODES["R read-only"], port)
        launcher = start_launcher(doc, tmp_path)
        assert launcher.wait_exit(30) == 5
    wrapped = Path(doc["vault"]["wrapped_secret_id_file"]).read_text().strip()
    # The single-use wrapping token was never spent: Vault was not asked for the login.
    assert vault.client(wrapped).sys.unwrap()["data"]["secret_id"]
    assert launcher.find(_msg("IB login read from vault")) is None


def test_launcher_when_gateway_never_listens_then_exit_5_and_the_gateway_is_stopped(
    vault: DevVault, tmp_path: Path, ini_dir: Path
) -> None:
    doc, _ = _started(vault, tmp_path, ini_dir, R_LOGIN, Role.R, ready_timeout_s=1.5)
    marker = tmp_path / "still-running"
    script = f"import time, pathlib; p = pathlib.Path({str(marker)!r}); p.touch(); time.sleep(60)"
    doc["gateway"]["argv"] = [sys.executable, "-c", script, "{ibc_ini}"]
    launcher = start_launcher(doc, tmp_path)
    assert launcher.wait_exit(30) == 5
    started = launcher.find(_msg("gateway started"))
    assert started is not None and marker.exists()
    assert not Path(f"/proc/{started['pid']}").exists()
    assert list(ini_dir.iterdir()) == []


def test_launcher_when_sigterm_then_gateway_stops_and_launcher_exits_0(
    vault: DevVault, tmp_path: Path, ini_dir: Path
) -> None:
    doc, port = _started(vault, tmp_path, ini_dir, R_LOGIN, Role.R)
    launcher = start_launcher(doc, tmp_path)
    assert launcher.wait_for(is_ready, 30), launcher.text()[-3000:]
    launcher.process.send_signal(signal.SIGTERM)
    assert launcher.wait_exit(20) == 0
    assert wait_until(lambda: not ports.is_listening(port), 5)


def test_launcher_when_config_is_bad_then_exit_2_naming_the_key(
    vault: DevVault, tmp_path: Path, ini_dir: Path
) -> None:
    doc, _ = _started(vault, tmp_path, ini_dir, R_LOGIN, Role.R, mode=MODES["W live"])
    launcher = start_launcher(doc, tmp_path)
    assert launcher.wait_exit(30) == 2
    bad = launcher.find(_msg("bad config; not starting"))
    assert bad is not None and "config key ibc.trading_mode" in bad["error"]
