"""Who reads what, on an OpenBao provisioned by the project's code: each identity, each role.

Two identities per role: the writer (its broker secret) and the gateway launcher (the IB login).
Each reads its own role's own path and gets 403 on the other five; only W's launcher ever
reads a live login.
"""

from __future__ import annotations

import hvac
import hvac.exceptions
import pytest

from livegate_common.roles import Role
from livegate_common.vault_layout import (
    BROKER_SECRET_KEYS,
    GATEWAY_LAYOUT,
    LAYOUT,
    LIVE_LOGIN_PATH,
    RoleLayout,
    provision,
    wrapped_secret_id,
    write_broker_secret,
    write_ib_login,
)
from tests.support.vault import DevVault

TABLES = {"writer": LAYOUT, "gateway": GATEWAY_LAYOUT}
PATHS = [table[role] for table in TABLES.values() for role in Role]


def _seed(vault: DevVault) -> None:
    client = vault.client()
    for role in Role:
        # Whatever keys the broker secret has: only whether it can be read matters here.
        write_broker_secret(client, role, {key: f"x-{key}" for key in BROKER_SECRET_KEYS})
        mode = "live" if role is Role.W else "paper"
        write_ib_login(
            client, role, {"login_id": f"l-{role.value}", "password": "pw", "trading_mode": mode}
        )


def _login(vault: DevVault, identity: str, role: Role) -> hvac.Client:
    """Log in as the service does: unwrap a wrapped secret-id once, then AppRole login."""
    root = vault.client()
    wrapped = wrapped_secret_id(root, role, table=TABLES[identity])
    secret_id = vault.client(wrapped).sys.unwrap()["data"]["secret_id"]
    client = hvac.Client(url=vault.addr, timeout=5)
    role_id = provision(root, [role], table=TABLES[identity])[0].role_id
    client.auth.approle.login(role_id=role_id, secret_id=secret_id)
    return client


def _status(client: hvac.Client, layout: RoleLayout) -> int:
    try:
        client.secrets.kv.v2.read_secret_version(
            path=layout.secret_path, mount_point="secret", raise_on_deleted_version=True
        )
    except hvac.exceptions.Forbidden:
        return 403
    return 200


def test_vault_when_each_identity_of_each_role_reads_every_path_then_only_its_own_is_200(
    vault: DevVault,
) -> None:
    _seed(vault)
    matrix: dict[tuple[str, Role], list[int]] = {}
    for identity in TABLES:
        for role in Role:
            client = _login(vault, identity, role)
            matrix[(identity, role)] = [_status(client, layout) for layout in PATHS]
    header = " " * 22 + " ".join(f"{p.secret_path:>22}" for p in PATHS)
    print("\n" + header)
    for (identity, role), row in matrix.items():
        name = TABLES[identity][role].approle_name
        print(f"{name:>22}" + " ".join(f"{code:>22}" for code in row))
    for (identity, role), row in matrix.items():
        own = TABLES[identity][role]
        assert row == [200 if p == own else 403 for p in PATHS], (identity, role)


@pytest.mark.parametrize("role", [Role.R, Role.ABH])
def test_vault_when_a_non_w_login_is_written_live_then_refused_before_vault(
    vault: DevVault, role: Role
) -> None:
    with pytest.raises(ValueError, match="may not hold a live IB login"):
        write_ib_login(
            vault.client(),
            role,
            {"login_id": "x", "password": "y", "trading_mode": "live"},
        )


def test_vault_when_writer_of_w_reads_ws_live_login_then_403(vault: DevVault) -> None:
    _seed(vault)
    client = _login(vault, "writer", Role.W)
    with pytest.raises(hvac.exceptions.Forbidden):
        client.secrets.kv.v2.read_secret_version(
            path=LIVE_LOGIN_PATH, mount_point="secret", raise_on_deleted_version=True
        )
