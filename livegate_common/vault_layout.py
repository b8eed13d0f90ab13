"""Vault layout as code: per-role KV paths, policies and AppRoles of each identity; a provisioner.

Shared by every identity that reads Vault: the writer (its broker secret), the gateway launcher
(the IB login) and the policy service (the audit chain's keyring). Each identity keeps its own
table of per-role paths and AppRoles here, so one module says who may read what: no identity
reads another identity's path, nor another role's. provision() and wrapped_secret_id() take the
identity's table (the writer's by default).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import hvac
import hvac.exceptions

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
# The IB login the gateway of a role's host logs in with; only the launcher's AppRole reads it.
IB_LOGIN_KEYS: Final = ("login_id", "password", "trading_mode")
TRADING_MODES: Final = ("live", "paper")


@dataclass(frozen=True)
class RoleLayout:
    role: Role
    secret_path: str
    policy_name: str
    approle_name: str

    def policy_hcl(self, kv_mount: str = KV_MOUNT) -> str:
        # KV v2 puts data under <mount>/data/; read-only, this role's own path and nothing else.
        return f'path "{kv_mount}/data/{self.secret_path}" {{\n  capabilities = ["read"]\n}}\n'


def identity_table(identity: str, secret: str) -> Mapping[Role, RoleLayout]:
    """Per role: KV path livegate/<ROLE>/<SECRET>, policy and AppRole livegate-<IDENTITY>-<role>."""
    return {
        role: RoleLayout(
            role=role,
            secret_path=f"livegate/{role.value}/{secret}",
            policy_name=f"livegate-{identity}-{role.value.lower()}",
            approle_name=f"livegate-{identity}-{role.value.lower()}",
        )
        for role in Role
    }


# The writer's table: its broker connection secret (gateway host/port, client id, accounts).
LAYOUT: Final = identity_table("writer", "broker")
# The gateway launcher's table: the IB login (the credential that trades, on W only).
GATEWAY_LAYOUT: Final = identity_table("gateway", "ib_login")
LIVE_SECRET_PATH: Final = LAYOUT[Role.W].secret_path
LIVE_LOGIN_PATH: Final = GATEWAY_LAYOUT[Role.W].secret_path
# The policy service's own identity: the audit chain's keyring ({"current": id, "keys": {id:
# hex}}), read once at start. No other identity may read it: not the writer, not another role.
POLICY_LAYOUT: Final = identity_table("policy", "audit")


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
    table: Mapping[Role, RoleLayout] = LAYOUT,
) -> list[Provisioned]:
    """Create (or update, idempotently) the mounts, policies and AppRoles for ROLES, of the
    identity whose TABLE it is (the writer's by default)."""
    _ensure_kv_v2(client, kv_mount)
    _ensure_approle(client, approle_mount)
    return [_provision_one(client, table[role], kv_mount, approle_mount) for role in roles]


def _provision_one(
    client: hvac.Client, layout: RoleLayout, kv_mount: str, approle_mount: str
) -> Provisioned:
    client.sys.create_or_update_policy(name=layout.policy_name, policy=layout.policy_hcl(kv_mount))
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
    return Provisioned(
        layout.role,
        layout.approle_name,
        layout.policy_name,
        role_id["data"]["role_id"],
        layout.secret_path,
    )


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


def ensure_audit_keyring(
    client: hvac.Client, role: Role, document: Mapping[str, Any], kv_mount: str = KV_MOUNT
) -> bool:
    """Store DOCUMENT as ROLE's audit keyring unless one is there already; True if written.

    A keyring is never replaced here: its retired keys verify the segments they linked.
    Rotation adds a key (`livegate vault rotate-audit-key`) and keeps the old ones.
    """
    path = POLICY_LAYOUT[role].secret_path
    try:
        client.secrets.kv.v2.read_secret_version(
            path=path, mount_point=kv_mount, raise_on_deleted_version=True
        )
        return False
    except hvac.exceptions.InvalidPath:
        pass
    write_audit_keyring(client, role, document, kv_mount)
    return True


def write_audit_keyring(
    client: hvac.Client, role: Role, document: Mapping[str, Any], kv_mount: str = KV_MOUNT
) -> None:
    """A new version of ROLE's audit keyring (KV v2 keeps the versions before)."""
    client.secrets.kv.v2.create_or_update_secret(
        path=POLICY_LAYOUT[role].secret_path, secret=dict(document), mount_point=kv_mount
    )


def read_audit_keyring(
    client: hvac.Client, role: Role, kv_mount: str = KV_MOUNT
) -> Mapping[str, Any]:
    response = client.secrets.kv.v2.read_secret_version(
        path=POLICY_LAYOUT[role].secret_path, mount_point=kv_mount, raise_on_deleted_version=True
    )
    return dict(response["data"]["data"])


def write_ib_login(
    client: hvac.Client, role: Role, values: Mapping[str, Any], kv_mount: str = KV_MOUNT
) -> None:
    """Store a role's IB login (login id, password, trading mode) for its gateway launcher."""
    missing = [k for k in IB_LOGIN_KEYS if not values.get(k)]
    if missing:
        raise ValueError(f"IB login misses {missing}")
    if values["trading_mode"] not in TRADING_MODES:
        raise ValueError(f"IB login trading_mode must be one of {TRADING_MODES}")
    # Only W's host may hold a login that trades live (seed ADR 38).
    if role is not Role.W and values["trading_mode"] == "live":
        raise ValueError(f"role {role.value} may not hold a live IB login")
    client.secrets.kv.v2.create_or_update_secret(
        path=GATEWAY_LAYOUT[role].secret_path,
        secret={k: str(values[k]) for k in IB_LOGIN_KEYS},
        mount_point=kv_mount,
    )


def wrapped_secret_id(
    client: hvac.Client,
    role: Role,
    wrap_ttl: str = "300s",
    approle_mount: str = APPROLE_MOUNT,
    table: Mapping[Role, RoleLayout] = LAYOUT,
) -> str:
    """Issue a secret id for ROLE, response-wrapped: only the wrapping token leaves Vault."""
    response = client.auth.approle.generate_secret_id(
        table[role].approle_name, mount_point=approle_mount, wrap_ttl=wrap_ttl
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
