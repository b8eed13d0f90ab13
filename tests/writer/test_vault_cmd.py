"""`livegate vault ...` against a real OpenBao: provisioning and wrapped secret ids."""

from __future__ import annotations

import argparse
import json
import stat
from pathlib import Path

import pytest

from livegate_cli import vault_cmd
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
