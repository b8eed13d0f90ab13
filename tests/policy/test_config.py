"""Config: live trading off by default; half-enabled or short retention refuses to start."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

from livegate_common.config import ConfigError
from policy_service import config as policy_config
from policy_service import devconfig
from policy_service.__main__ import main
from policy_service.server import settings_from
from tests.policy.harness import policy_doc, set_path
from tests.support.affinity import one_cpu, thread_cpus


def _doc(tmp_path: Path, dev_pki: Path, **overrides: Any) -> dict[str, Any]:
    doc = policy_doc(dev_pki, tmp_path, 1, f"sqlite:///{tmp_path / 'p.db'}")
    for dotted, value in overrides.items():
        set_path(doc, dotted.replace("__", "."), value)
    return doc


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"safety__live_trading_enabled": False}, "safety.live_trading_enabled"),
        ({"live_trading__enabled": False}, "live_trading.enabled"),
        ({"audit__retention_days": 2554}, "audit.retention_days"),
        ({"audit__export_before_purge": False}, "audit.export_before_purge"),
        ({"live_trading__allowed_accounts": ["bad id!"]}, "live_trading.allowed_accounts"),
        ({"writer__deadline_s": 0}, "writer.deadline_s"),
        ({"approvals__four_eyes": False}, "approvals.four_eyes"),
        ({"kill_switch__reopen_second_operator": False}, "kill_switch.reopen_second_operator"),
        ({"kill_switch__reopen_confirm_window_s": 0}, "kill_switch.reopen_confirm_window_s"),
        (
            {"kill_switch__reducing_position_max_age_s": 0},
            "kill_switch.reducing_position_max_age_s",
        ),
        (
            {"kill_switch__reducing_position_max_age_s": "soon"},
            "kill_switch.reducing_position_max_age_s",
        ),
        ({"writer__expected_san": ""}, "writer.expected_san"),
        ({"dead_man__min_ttl_s": 0}, "dead_man.min_ttl_s"),
        ({"dead_man__min_ttl_s": 60, "dead_man__max_ttl_s": 30}, "dead_man.max_ttl_s"),
        ({"dead_man__check_interval_s": 0}, "dead_man.check_interval_s"),
        ({"dead_man__claim_stale_s": 2}, "dead_man.claim_stale_s"),  # under the writer deadline
        ({"dead_man__enabled": "yes"}, "dead_man.enabled"),
        ({"server__close_first_max_wait_s": 0}, "server.close_first_max_wait_s"),
        ({"server__close_first_max_wait_s": 10.5}, "server.close_first_max_wait_s"),
        ({"server__close_first_max_wait_s": "soon"}, "server.close_first_max_wait_s"),
    ],
)
def test_load_when_config_unsafe_then_refused_naming_key(
    tmp_path: Path, dev_pki: Path, overrides: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        policy_config.from_document(_doc(tmp_path, dev_pki, **overrides), tmp_path)
    assert caught.value.key == key


def test_load_when_close_first_wait_set_then_the_server_config_carries_it(
    tmp_path: Path, dev_pki: Path
) -> None:
    default = policy_config.from_document(_doc(tmp_path, dev_pki), tmp_path)
    assert default.server.close_first_max_wait_s == 2.0
    doc = _doc(tmp_path, dev_pki, server__close_first_max_wait_s=0.5)
    assert policy_config.from_document(doc, tmp_path).server.close_first_max_wait_s == 0.5


def test_load_when_flags_absent_then_live_trading_off(tmp_path: Path, dev_pki: Path) -> None:
    doc = _doc(tmp_path, dev_pki)
    del doc["live_trading"], doc["safety"]
    config = policy_config.from_document(doc, tmp_path)
    assert (config.live.enabled, config.live.safety_enabled) == (False, False)
    assert config.four_eyes and config.preview_ttl_s == 300.0


def test_load_when_live_trading_off_then_four_eyes_and_expected_san_may_be_off(
    tmp_path: Path, dev_pki: Path
) -> None:
    doc = _doc(tmp_path, dev_pki, approvals__four_eyes=False, writer__expected_san="")
    del doc["live_trading"], doc["safety"]
    config = policy_config.from_document(doc, tmp_path)
    assert not config.four_eyes and config.writer.expected_san == ""


def test_load_when_live_trading_off_then_one_operator_may_reopen(
    tmp_path: Path, dev_pki: Path
) -> None:
    doc = _doc(tmp_path, dev_pki, kill_switch__reopen_second_operator=False)
    del doc["live_trading"], doc["safety"]
    config = policy_config.from_document(doc, tmp_path)
    assert not config.reopen_second_operator


def test_load_when_dead_man_keys_absent_then_on_with_the_documented_defaults(
    tmp_path: Path, dev_pki: Path
) -> None:
    config = policy_config.from_document(_doc(tmp_path, dev_pki), tmp_path)
    d = config.dead_man
    assert (d.enabled, d.min_ttl_s, d.max_ttl_s, d.check_interval_s) == (True, 5.0, 3600.0, 1.0)
    assert d.claim_stale_s == max(30.0, config.writer.deadline_s + 1.0)


def test_load_when_reopen_keys_absent_then_two_operators_within_300_s(
    tmp_path: Path, dev_pki: Path
) -> None:
    config = policy_config.from_document(_doc(tmp_path, dev_pki), tmp_path)
    assert (config.reopen_second_operator, config.reopen_confirm_window_s) == (True, 300.0)


def test_load_when_reducing_age_absent_then_5_s_and_the_gate_gets_it(
    tmp_path: Path, dev_pki: Path
) -> None:
    default = policy_config.from_document(_doc(tmp_path, dev_pki), tmp_path)
    set_to = _doc(tmp_path, dev_pki, kill_switch__reducing_position_max_age_s=2.5)

    assert default.reducing_position_max_age_s == 5.0
    config = policy_config.from_document(set_to, tmp_path)
    assert settings_from(config).reducing_position_max_age_us == 2_500_000


def _main_on(doc: dict[str, Any], tmp_path: Path) -> int:
    """main() on DOC; its JSON log handler is taken off again afterwards."""
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(doc))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return main(["--config", str(path)])
    finally:
        # main() logs through a handler on capsys's stream, which closes with the test.
        root.handlers[:] = handlers
        root.setLevel(level)


def test_main_when_live_and_four_eyes_off_then_exits_2_naming_the_key(
    tmp_path: Path, dev_pki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main_on(_doc(tmp_path, dev_pki, approvals__four_eyes=False), tmp_path) == 2
    assert "config key approvals.four_eyes" in capsys.readouterr().err


def test_load_when_env_overrides_then_env_wins(tmp_path: Path, dev_pki: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(_doc(tmp_path, dev_pki)))
    config = policy_config.load(path, {"LIVEGATE_POLICY__AUDIT__RETENTION_DAYS": "3000"})
    assert config.audit.retention_days == 3000


def test_main_when_config_half_enabled_then_exits_2(tmp_path: Path, dev_pki: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(_doc(tmp_path, dev_pki, safety__live_trading_enabled=False)))
    assert main(["--config", str(path)]) == 2


def test_dev_config_when_loaded_then_live_for_the_sim_account(
    tmp_path: Path, dev_pki: Path
) -> None:
    doc = devconfig.dev_config(dev_pki, tmp_path / "data", 50052, "U1234567")
    config = policy_config.from_document(doc, tmp_path)
    assert config.live.enabled and config.live.allowed_accounts == frozenset({"U1234567"})
    assert config.audit.retention_days == 2555
    assert config.storage_url.endswith("policy.db")
    assert Path(doc["risk"]["policy_file"]).is_file()


def test_main_when_cpus_cannot_be_pinned_then_exits_2_naming_the_key(
    tmp_path: Path, dev_pki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main_on(_doc(tmp_path, dev_pki, server__cpus=[4095]), tmp_path) == 2
    assert "config key server.cpus: cannot pin to CPUs [4095]" in capsys.readouterr().err


def test_main_when_started_pinned_then_serves_on_its_cpu_logs_json_and_stops_on_sigterm(
    tmp_path: Path, dev_pki: Path
) -> None:
    import json
    import signal
    import subprocess
    import sys

    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from tests.support.grpc_clients import channel_as
    from tests.support.net import free_port, wait_until

    port = free_port()
    doc = devconfig.dev_config(dev_pki, tmp_path / "data", free_port(), "U1234567")
    doc["server"]["listen"] = f"127.0.0.1:{port}"
    cpu = one_cpu()
    doc["server"]["cpus"] = [cpu]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(doc))
    proc = subprocess.Popen(
        [sys.executable, "-m", "policy_service", "--config", str(path)],
        stderr=subprocess.PIPE,
        text=True,
    )
    channel = channel_as(dev_pki, "operator", port)
    try:
        stub = health_pb2_grpc.HealthStub(channel)

        def serving() -> bool:
            try:
                answer = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
            except grpc.RpcError:  # not up yet
                return False
            return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)

        assert wait_until(serving, timeout_s=20)
        # Every thread, the gRPC server's included, started after the pin or was moved by it.
        threads = thread_cpus(proc.pid)
        assert len(threads) > 3 and set(threads.values()) == {frozenset({cpu})}, threads
    finally:
        channel.close()
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    messages = [line["msg"] for line in lines]
    assert "serving" in messages and messages[-1] == "stopped"
    assert [line["cpus"] for line in lines if line["msg"] == "serving"] == [[cpu]]
