"""Login mode: the simulator logs in from IBC's config.ini and behaves as the login allows."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from ib_async import IB, LimitOrder, Stock

from gateway_sim import ibc_ini
from tests.gateway_sim.helpers import wait_until
from tests.support.gateways import ProcessLog
from tests.support.net import free_port

pytestmark = pytest.mark.timeout(60)
PASSWORD = "s3cret#pw=with:chars"
USERS = {
    "trader": {
        "password": PASSWORD,
        "live_accounts": ["U1234567"],
        "paper_accounts": ["DU7654321"],
        "trading_permissions": True,
    },
    "live-only": {"password": "other-pw-123", "live_accounts": ["U1111111"]},
}


def _ini(path: Path, port: int, **settings: str) -> Path:
    lines = [
        "# written by hand, as an operator might",
        "IbLoginId=trader",
        # The '#', '=' and ':' escaped as Properties.store would write them.
        "IbPassword=s3cret\\#pw\\=with\\:chars",
        "TradingMode=paper",
        f"OverrideTwsApiPort={port}",
        *(f"{k}={v}" for k, v in settings.items()),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="iso-8859-1")
    return path


def _start(tmp_path: Path, port: int, **settings: str) -> ProcessLog:
    users = tmp_path / "users.json"
    users.write_text(json.dumps(USERS), encoding="utf-8")
    ini = _ini(tmp_path / "config.ini", port, **settings)
    argv = [sys.executable, "-m", "gateway_sim", "--ibc-config", str(ini), "--users", str(users)]
    return ProcessLog.start([*argv, "--quote", "AAPL=10:10.5:10.25"])


def _listening(run: ProcessLog) -> bool:
    return run.wait_for(lambda r: r.get("event") == "listening", 20)


def _place_and_collect(port: int) -> tuple[list[str], str, list[int]]:
    ib = IB()
    errors: list[int] = []
    ib.errorEvent += lambda _req, code, _msg, _c: errors.append(code)
    try:
        ib.connect("127.0.0.1", port, clientId=5, timeout=5)
        accounts = ib.managedAccounts()
        trade = ib.placeOrder(
            Stock("AAPL", "SMART", "USD"), LimitOrder("BUY", 1, 9, account=accounts[0])
        )
        wait_until(ib, lambda: trade.orderStatus.status not in ("PendingSubmit", ""))
        return accounts, trade.orderStatus.status, errors
    finally:
        ib.disconnect()


def _log_in_and_place(
    tmp_path: Path, **settings: str
) -> tuple[ProcessLog, list[str], str, list[int]]:
    port = free_port()
    run = _start(tmp_path, port, **settings)
    try:
        assert _listening(run), run.text()
        return (run, *_place_and_collect(port))
    finally:
        run.stop()


def test_login_when_paper_mode_and_right_password_then_serves_the_paper_accounts_trade_capable(
    tmp_path: Path,
) -> None:
    run, accounts, status, errors = _log_in_and_place(tmp_path)
    assert accounts == ["DU7654321"]
    assert status in ("Submitted", "PreSubmitted") and 321 not in errors
    assert any("IBC: Login has completed (TradingMode=paper, read-only=no" in x for x in run.lines)


@pytest.mark.parametrize("setting", ["ReadOnlyLogin", "ReadOnlyApi"])
def test_login_when_read_only_login_or_api_then_orders_are_refused_with_321(
    tmp_path: Path, setting: str
) -> None:
    _, accounts, status, errors = _log_in_and_place(tmp_path, **{setting: "yes"})
    assert accounts == ["DU7654321"]
    assert 321 in errors and status == "ValidationError"


def test_login_when_password_wrong_then_exits_1_says_why_and_never_listens(
    tmp_path: Path,
) -> None:
    port = free_port()
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"trader": {**USERS["trader"], "password": "not-it"}}))
    ini = _ini(tmp_path / "config.ini", port)
    argv = [sys.executable, "-m", "gateway_sim", "--ibc-config", str(ini), "--users", str(users)]
    run = ProcessLog.start(argv)
    assert run.wait_exit(20) == 1
    assert "IBC: Unrecognized Username or Password" in run.lines
    assert not any('"listening"' in line for line in run.lines)


def test_login_when_login_has_no_account_in_that_trading_mode_then_refused(
    tmp_path: Path,
) -> None:
    port = free_port()
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"trader": USERS["live-only"] | {"password": PASSWORD}}))
    argv = [sys.executable, "-m", "gateway_sim", "--ibc-config",
            str(_ini(tmp_path / "config.ini", port)), "--users", str(users)]  # fmt: skip
    run = ProcessLog.start(argv)
    assert run.wait_exit(20) == 1
    assert any("this login has no paper account" in line for line in run.lines)


def test_login_when_started_then_settings_dump_masks_login_and_password(tmp_path: Path) -> None:
    port = free_port()
    run = _start(tmp_path, port)
    try:
        assert _listening(run), run.text()
    finally:
        run.stop()
    assert "    IbPassword=***" in run.lines and "    IbLoginId=***" in run.lines
    assert f"    OverrideTwsApiPort={port}" in run.lines
    assert PASSWORD not in run.text() and "trader" not in run.text()


def test_login_when_flags_mix_login_mode_with_accounts_then_exit_2(tmp_path: Path) -> None:
    ini = _ini(tmp_path / "config.ini", free_port())
    argv = [sys.executable, "-m", "gateway_sim", "--ibc-config", str(ini), "--account", "U1"]
    run = ProcessLog.start(argv)
    assert run.wait_exit(20) == 2
    assert any("login mode needs --ibc-config and --users" in line for line in run.lines)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"IbPassword=a\\\\b\\ c", {"IbPassword": "a\\b c"}),
        (b"  IbPassword :  \\ lead", {"IbPassword": " lead"}),
        (
            b"IbPassword=caf\\u00e9\\n\nReadOnlyApi=yes",
            {"IbPassword": "caf\xe9\n", "ReadOnlyApi": "yes"},
        ),
        (b"# IbPassword=x\n! also a comment\nA=1", {"A": "1"}),
        (b"IbPassword=first \\\n    second", {"IbPassword": "first second"}),
        (b"IbPassword=x\\#y\\=z\\:w", {"IbPassword": "x#y=z:w"}),
        (b"TradingMode paper", {"TradingMode": "paper"}),
    ],
)
def test_ibc_ini_when_parsed_then_escapes_decode_as_java_properties_does(
    text: bytes, expected: dict[str, str]
) -> None:
    assert ibc_ini.parse(text) == expected
