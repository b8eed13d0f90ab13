"""Offline checks of the deployment files: ansible-lint, hadolint, docker compose config."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.ansible_run import ANSIBLE_DIR, DOCKER_DIR, REPO, ansible_env, tool

DOCKERFILES = sorted(p for p in DOCKER_DIR.rglob("*Dockerfile*") if p.suffix != ".dockerignore")
SERVICE_TARGETS = ("policy", "writer", "gateway-sim")


def _stages(dockerfile: Path) -> dict[str, list[str]]:
    """Instructions per named stage (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text(encoding="utf-8"))
    stages: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.IGNORECASE)
        if match:
            current = match.group(1)
            stages[current] = []
        elif current:
            stages[current].append(line)
    return stages


def test_lint_when_run_offline_with_production_profile_then_clean(tmp_path: Path) -> None:
    result = subprocess.run(
        [tool("ansible-lint"), "--offline", "--profile", "production", "--nocolor"],
        cwd=ANSIBLE_DIR,
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "Profile 'production' was required, and it passed" in output


def test_lint_when_every_role_has_an_argument_spec_then_role_choice_is_w_r_abh() -> None:
    roles = sorted(p for p in (ANSIBLE_DIR / "roles").iterdir() if p.is_dir())
    assert len(roles) >= 7
    for role in roles:
        spec = yaml.safe_load((role / "meta/argument_specs.yml").read_text(encoding="utf-8"))
        options = spec["argument_specs"]["main"]["options"]
        if role.name == "livegate_vault_provision":
            assert options["livegate_vault_provision_roles"]["choices"] == ["W", "R", "ABH"]
        else:
            assert options["livegate_role"]["choices"] == ["W", "R", "ABH"], role.name


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_when_run_on_dockerfile_then_clean(dockerfile: Path) -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_when_read_then_runtime_is_non_root_numeric_from_a_pinned_base_arg() -> None:
    dockerfile = DOCKER_DIR / "Dockerfile"
    text = dockerfile.read_text(encoding="utf-8")
    assert re.search(r"^ARG BASE_IMAGE=\S+@sha256:[0-9a-f]{64}$", text, re.MULTILINE)
    assert text.count("FROM ${BASE_IMAGE} AS") == 2
    stages = _stages(dockerfile)
    assert "USER 10001:10001" in stages["runtime"]
    assert "COPY --from=builder /opt/livegate/venv /opt/livegate/venv" in stages["runtime"]


@pytest.mark.parametrize("target", SERVICE_TARGETS)
def test_dockerfile_when_service_target_read_then_exec_form_entrypoint_and_healthcheck(
    target: str,
) -> None:
    stage = _stages(DOCKER_DIR / "Dockerfile")[target]
    entrypoints = [line for line in stage if line.startswith("ENTRYPOINT ")]
    assert len(entrypoints) == 1
    argv = json.loads(entrypoints[0].removeprefix("ENTRYPOINT "))
    assert argv == [f"livegate-{target}"]
    checks = [line for line in stage if line.startswith("HEALTHCHECK ")]
    assert len(checks) == 1 and " CMD [" in checks[0]
    assert not any(line.startswith("USER ") and "root" in line for line in stage)


def test_compose_when_validated_then_config_is_accepted(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            tool("docker-compose"),
            "-f",
            str(DOCKER_DIR / "compose.yaml"),
            "config",
            "--format",
            "json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert {"policy", "writer", "gateway-sim", "openbao", "postgres"} <= set(services)
    for name in ("policy", "writer", "gateway-sim"):
        assert services[name]["build"]["target"] == name
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile"
