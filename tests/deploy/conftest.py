"""Fixtures of the deployment tests: per-role vault-ids and a render of each role."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from livegate_common.config import ServerConfig
from livegate_common.identity import PrincipalMap
from livegate_common.pki import spiffe_id
from livegate_common.server import create_server
from livegate_common.tls import TLSFiles
from tests.deploy.ansible_run import (
    ROLES,
    PlayResult,
    RoleFixture,
    finish,
    make_inventory,
    make_role_fixture,
    start_playbook,
)

# W is the one host that may be configured live; the render proves the guard lets it through.
W_LIVE_SETTINGS: Mapping[str, Any] = {
    "livegate_policy_live_trading_enabled": True,
    "livegate_policy_safety_live_trading_enabled": True,
    "livegate_policy_paper_to_live_checklist_acknowledged": True,
    "livegate_policy_allowed_accounts": ["U1234567"],
    "livegate_policy_risk_policy_id": "risk-2026-01",
    # The live host pins each service to a core of its own; the others leave them unpinned.
    "livegate_policy_cpus": [0],
    "livegate_writer_cpus": [1],
    # Not the default, so the render shows the variable reaches both services' config.
    "livegate_policy_close_first_max_wait_s": 1.5,
    "livegate_writer_close_first_max_wait_s": 0.5,
}
# ABH experiments on paper: its gate may be enabled, for paper (DU...) accounts only.
ABH_PAPER_SETTINGS: Mapping[str, Any] = {
    "livegate_policy_live_trading_enabled": True,
    "livegate_policy_safety_live_trading_enabled": True,
    "livegate_policy_paper_to_live_checklist_acknowledged": True,
    "livegate_policy_allowed_accounts": ["DU1234567"],
    "livegate_policy_risk_policy_id": "risk-paper-1",
}


@dataclass(frozen=True)
class Render:
    role: str
    host: str
    root: Path
    result: PlayResult
    fixture: RoleFixture

    def text(self, relative: str) -> str:
        return (self.root / relative.lstrip("/")).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def renders(tmp_path_factory: pytest.TempPathFactory, dev_pki: Path) -> dict[str, Render]:
    """site.yml rendered for each role, each run with only that role's vault-id, in parallel."""
    tmp = tmp_path_factory.mktemp("render")
    fixtures = {role: make_role_fixture(tmp, role) for role in ROLES}
    inventory = make_inventory(
        tmp, dev_pki, fixtures, host_vars={"w1": W_LIVE_SETTINGS, "abh1": ABH_PAPER_SETTINGS}
    )
    started = {
        role: start_playbook(
            tmp,
            "site.yml",
            inventory,
            vault_ids=[fixtures[role].vault_id],
            limit=f"{role.lower()}1",
            log_name=f"render-{role.lower()}",
        )
        for role in ROLES
    }
    return {
        role: Render(
            role=role,
            host=f"{role.lower()}1",
            root=tmp / "root" / f"{role.lower()}1",
            result=finish(*started[role]),
            fixture=fixtures[role],
        )
        for role in ROLES
    }


WRITER_SERVICE = "livegate.v1.WriterService"


@pytest.fixture
def writer_like(dev_pki: Path) -> Iterator[tuple[grpc.Server, int, object]]:
    """A server that answers health like the writer: only the policy identity is mapped."""
    tls = TLSFiles(dev_pki / "ca.pem", dev_pki / "writer.pem", dev_pki / "writer.key")
    principals = PrincipalMap({"policy": ([spiffe_id("policy")], ["writer.call"])})
    srv, port, health = create_server(
        ServerConfig("127.0.0.1:0", tls), principals, [], [WRITER_SERVICE]
    )
    srv.start()
    try:
        yield srv, port, health
    finally:
        srv.stop(0).wait(5)
