"""`livegate vault ...` against a real OpenBao: provisioning and wrapped secret ids."""

from __future__ import annotations

import argparse
import json
import stat
from pathlib import Path

import hvac
import pytest

from livegate_cli import vault_cmd
from livegate_common.roles import Role
from livegate_common.vault_layout import GATEWAY_LAYOUT, provision
from tests.support.vault import DevVault


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="livegate")
    vault_cmd.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_provision_when_token_in_env_then_prints_role_ids_for_each_role(
    vault: DevVault, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LG_TEST_BAO_TOKEN", vault.root_token)
    code = _run(["vault", "provision", "--addr", vault.addr, "--token-env", "LG_TEST_BAO_TOKEN"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert sorted(out) == ["ABH", "R", "W"]
    assert out["W"]["secret_path"] == "secret/livegate/W/broker"
    assert out["R"]["policy"] == "livegate-writer-r"
    assert vault.root_token not in json.dumps(out)


def test_provision_when_identity_is_gateway_then_prints_the_launchers_approles_and_paths(
    vault: DevVault, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LG_TEST_BAO_TOKEN", vault.root_token)
    argv = ["vault", "provision", "--addr", vault.addr, "--token-env", "LG_TEST_BAO_TOKEN"]
    assert _run([*argv, "--identity", "gateway"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["W"]["secret_path"] == "secret/livegate/W/ib_login"
    assert out["ABH"]["approle"] == "livegate-gateway-abh"
    writer_ids = {p.role.value: p.role_id for p in provision(vault.client())}
    assert all(out[role]["role_id"] != writer_ids[role] for role in out)


def test_provision_when_token_env_empty_then_exit_2(
    vault: DevVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LG_TEST_BAO_TOKEN", raising=False)
    assert (
        _run(["vault", "provision", "--addr", vault.addr, "--token-env", "LG_TEST_BAO_TOKEN"]) == 2
    )


def test_wrap_secret_id_when_issued_then_file_is_private_and_unwraps_once(
    vault: DevVault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LG_TEST_BAO_TOKEN", vault.root_token)
    out = tmp_path / "wrap"
    code = _run(
        [
            "vault",
            "wrap-secret-id",
            "--addr",
            vault.addr,
            "--token-env",
            "LG_TEST_BAO_TOKEN",
            "--role",
            "R",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    token = out.read_text().strip()
    assert vault.client(token).sys.unwrap()["data"]["secret_id"]


def test_wrap_secret_id_when_identity_is_gateway_then_logs_in_as_the_launchers_approle(
    vault: DevVault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LG_TEST_BAO_TOKEN", vault.root_token)
    out = tmp_path / "wrap"
    argv = ["vault", "wrap-secret-id", "--addr", vault.addr, "--token-env", "LG_TEST_BAO_TOKEN"]
    assert _run([*argv, "--role", "R", "--identity", "gateway", "--out", str(out)]) == 0
    secret_id = vault.client(out.read_text().strip()).sys.unwrap()["data"]["secret_id"]
    role_id = provision(vault.client(), [Role.R], table=GATEWAY_LAYOUT)[0].role_id
    client = hvac.Client(url=vault.addr, timeout=5)
    client.auth.approle.login(role_id=role_id, secret_id=secret_id)
    assert client.auth.token.lookup_self()["data"]["policies"] == ["default", "livegate-gateway-r"]
