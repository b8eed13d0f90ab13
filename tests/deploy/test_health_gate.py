"""The writer role's health gate: the play fails unless the writer reports SERVING over mTLS."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import grpc

from livegate_common.server import mark_serving
from tests.deploy.ansible_run import ANSIBLE_DIR, PlayResult, run_playbook, write_yaml
from tests.deploy.conftest import WRITER_SERVICE as SERVICE
from tests.support.net import free_port


def _run_health_gate(tmp: Path, dev_pki: Path, port: int) -> PlayResult:
    """Run only the writer role's health tasks, with a venv layout made of this interpreter."""
    venv_bin = tmp / "opt/livegate/venv/bin"
    venv_bin.mkdir(parents=True)
    # A wrapper, not a symlink: a symlinked interpreter would not find this venv's packages.
    (venv_bin / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (venv_bin / "python").chmod(0o755)
    (tmp / "opt/livegate/bin").mkdir(parents=True)
    shutil.copy(
        ANSIBLE_DIR / "roles/livegate/files/livegate_health.py",
        tmp / "opt/livegate/bin/livegate-health",
    )
    inventory = tmp / "hosts.yml"
    write_yaml(
        inventory,
        {
            "all": {
                "hosts": {
                    "w1": {
                        "ansible_connection": "local",
                        "ansible_python_interpreter": sys.executable,
                    }
                }
            }
        },
    )
    playbook = tmp / "health_gate.yml"
    playbook.write_text(
        "- hosts: all\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.include_role:\n"
        "        name: livegate_writer\n"
        "        tasks_from: health\n",
        encoding="utf-8",
    )
    extra = tmp / "vars.yml"
    write_yaml(
        extra,
        {
            "livegate_role": "W",
            "livegate_venv": str(tmp / "opt/livegate/venv"),
            "livegate_tls_dir": str(dev_pki),
            "livegate_writer_health_target": f"127.0.0.1:{port}",
            "livegate_writer_health_retries": 2,
            "livegate_writer_health_delay_s": 1,
        },
    )
    return run_playbook(tmp, str(playbook), inventory, extra_vars_files=[extra])


def test_deploy_when_writer_serving_then_health_gate_passes(
    tmp_path: Path, dev_pki: Path, writer_like: tuple[grpc.Server, int, object]
) -> None:
    _, port, health = writer_like
    mark_serving(health, [SERVICE], True)  # type: ignore[arg-type]
    result = _run_health_gate(tmp_path, dev_pki, port)
    assert result.returncode == 0, result.output[-4000:]
    assert "failed=0" in result.output


def test_deploy_when_writer_not_serving_then_play_fails_writer_unhealthy(
    tmp_path: Path, dev_pki: Path, writer_like: tuple[grpc.Server, int, object]
) -> None:
    # Started but never marked SERVING: what a writer whose probe has not passed looks like.
    _, port, _ = writer_like
    result = _run_health_gate(tmp_path, dev_pki, port)
    assert result.returncode != 0
    assert "WRITER_UNHEALTHY" in result.output


def test_deploy_when_writer_down_then_play_fails_writer_unhealthy(
    tmp_path: Path, dev_pki: Path
) -> None:
    result = _run_health_gate(tmp_path, dev_pki, free_port())
    assert result.returncode != 0
    assert "WRITER_UNHEALTHY" in result.output
