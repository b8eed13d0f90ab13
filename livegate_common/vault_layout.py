"""Vault layout as code: per-role KV paths, policies and AppRoles of each identity; a provisioner.

Shared by every identity that reads Vault (the writer today); each identity keeps its own table of
per-role paths and AppRoles here, so one module says who may read what.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import hvac

from livegate_common.roles import Role

KV_MOUNT: Final = "secret"
APPROLE_MOUNT: Final = "approle"
# Short-lived tokens, renewed by the running writer; a lost host's token dies on its own.
TOKEN_TTL: Final = "1h"  # noqa: S105 - a duration, not a secret
TOKEN_MAX_TTL: Final = "24h"  # noqa: S105 - a duration, not a secret
# A secret id is good for one login, and only for a short while after it is issued.
SECRET_ID_NUM_USES: Final = 1
SECRET_ID_TTL: Final = "1h"  # noqa: S105 - a duration, not a secret
# account_hash_key: the key of the account hash in the writer's logs (the policy's
# audit.account_hash_key, so both services' lines join on it).
BROKER_SECRET_KEYS: Final = (
    "gateway_host",
    "gateway_port",
    "client_id",
    "accounts",
    "account_hash_key",
)


@dataclass(frozen=True)
class RoleLayout:
    role: Role
    secret_path: str
    policy_name: str
    approle_name: str

    def policy_hcl(self, kv_mount: str = KV_MOUNT) -> str:
        # KV v2 puts data under <mount>/data/; read-only, this role's own path and nothing else.
        return f'path "{kv_mount}/data/{self.secret_path}" {{\n  capabilities = ["read"]\n}}\n'


LAYOUT: Final[Mapping[Role, RoleLayout]] = {
    role: RoleLayout(
        role=role,
        secret_path=f"livegate/{role.value}/broker",
        policy_name=f"livegate-writer-{role.value.lower()}",
        approle_name=f"livegate-writer-{role.value.lower()}",
    )
    for role in Role
}
LIVE_SECRET_PATH: Final = LAYOUT[Role.W].secret_path


@dataclass(frozen=True)
class Provisioned:
    role: Role
    approle_name: str
    policy_name: str
    role_id: str
    secret_path: str


def provision(
    client: hvac.Client,
    roles: Iterable[Role] = tuple(Role),
    kv_mount: str = KV_MOUNT,
    approle_mount: str = APPROLE_MOUNT,
) -> list[Provisioned]:
    """Create (or update, idempotently) the mounts, policies and AppRoles for ROLES."""
    _ensure_kv_v2(client, kv_mount)
    _ensure_approle(client, approle_mount)
    out: list[Provisioned] = []
    for role in roles:
        layout = LAYOUT[role]
        client.sys.create_or_update_policy(
            name=layout.policy_name, policy=layout.policy_hcl(kv_mount)
        )
        client.auth.approle.create_or_update_approle(
            role_name=layout.approle_name,
            token_policies=[layout.policy_name],
            token_ttl=TOKEN_TTL,
            token_max_ttl=TOKEN_MAX_TTL,
            secret_id_num_uses=SECRET_ID_NUM_USES,
            secret_id_ttl=SECRET_ID_TTL,
            mount_point=approle_mount,
        )
        role_id = client.auth.approle.read_role_id(layout.approle_name, mount_point=approle_mount)
        out.append(
            Provisioned(
                role,
                layout.approle_name,
                layout.policy_name,
                role_id["data"]["role_id"],
                layout.secret_path,
            )
        )
    return out


def write_broker_secret(
    client: hvac.Client, role: Role, values: Mapping[str, Any], kv_mount: str = KV_MOUNT
) -> None:
    """Store a role's broker secret (gateway host/port, client id, accounts, account-hash key)."""
    missing = [k for k in BROKER_SECRET_KEYS if k not in values]
    if missing:
        raise ValueError(f"broker secret misses {missing}")
    client.secrets.kv.v2.create_or_update_secret(
        path=LAYOUT[role].secret_path,
        secret={k: str(values[k]) for k in BROKER_SECRET_KEYS},
        mount_point=kv_mount,
    )


def wrapped_secret_id(
    client: hvac.Client, role: Role, wrap_ttl: str = "300s", approle_mount: str = APPROLE_MOUNT
) -> str:
    """Issue a secret id for ROLE, response-wrapped: only the wrapping token leaves Vault."""
    response = client.auth.approle.generate_secret_id(
        LAYOUT[role].approle_name, mount_point=approle_mount, wrap_ttl=wrap_ttl
    )
    return str(response["wrap_info"]["token"])


def _ensure_kv_v2(client: hvac.Client, mount: str) -> None:
    mounts = client.sys.list_mounted_secrets_engines()
    mounts = mounts.get("data", mounts)
    existing = mounts.get(f"{mount}/")
    if existing is None:
        client.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
        return
    if existing.get("type") != "kv" or (existing.get("options") or {}).get("version") != "2":
        raise ValueError(f"mount {mount}/ exists and is not a KV v2 engine")


def _ensure_approle(client: hvac.Client, mount: str) -> None:
    methods = client.sys.list_auth_methods()
    methods = methods.get("data", methods)
    if f"{mount}/" not in methods:
        client.sys.enable_auth_method("approle", path=mount)
