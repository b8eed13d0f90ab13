"""livegate vault: provision the Vault layout (policies, AppRoles) of the writer, the gateway
launcher and the policy service per instance role; issue wrapped secret ids; rotate the audit
keyring."""

from __future__ import annotations

import argparse
import json
import os
import sys

import hvac
import hvac.exceptions
import requests

from livegate_common.vault_layout import (
    APPROLE_MOUNT,
    GATEWAY_LAYOUT,
    KV_MOUNT,
    LAYOUT,
    POLICY_LAYOUT,
    ensure_audit_keyring,
    provision,
    read_audit_keyring,
    wrapped_secret_id,
    write_audit_keyring,
)
from policy_service.domain.audit_keys import Keyring, KeyringError, new_keyring
from writer_service.config import Role

# Each identity's own AppRoles: the writer reads its broker secret, the gateway launcher its
# role's IB login, the policy service its role's audit keyring.
TABLES = {"writer": LAYOUT, "gateway": GATEWAY_LAYOUT, "policy": POLICY_LAYOUT}


def _client(args: argparse.Namespace) -> hvac.Client | None:
    token = os.environ.get(args.token_env, "")
    if not token:
        print(f"environment variable {args.token_env} holds no Vault token", file=sys.stderr)
        return None
    verify: bool | str = args.ca_cert or True
    return hvac.Client(url=args.addr, token=token, verify=verify, timeout=10)


def _roles(raw: list[str] | None) -> list[Role]:
    return [Role(r) for r in raw] if raw else list(Role)


def _provision(args: argparse.Namespace) -> int:
    client = _client(args)
    if client is None:
        return 2
    roles = _roles(args.role)
    try:
        done = provision(client, roles, args.kv_mount, args.approle_mount, TABLES[args.identity])
        if args.identity == "policy":  # a keyring to read, made once and never replaced here
            for role in roles:
                ensure_audit_keyring(client, role, new_keyring().to_document(), args.kv_mount)
    except (hvac.exceptions.VaultError, requests.exceptions.RequestException, ValueError) as exc:
        print(f"provisioning failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    # Role ids are identifiers, not secrets; printing them is how Ansible picks them up.
    print(
        json.dumps(
            {
                p.role.value: {
                    "approle": p.approle_name,
                    "policy": p.policy_name,
                    "role_id": p.role_id,
                    "secret_path": f"{args.kv_mount}/{p.secret_path}",
                }
                for p in done
            },
            indent=2,
        )
    )
    return 0


def _wrap_secret_id(args: argparse.Namespace) -> int:
    client = _client(args)
    if client is None:
        return 2
    try:
        token = wrapped_secret_id(
            client, Role(args.role), args.wrap_ttl, args.approle_mount, TABLES[args.identity]
        )
    except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
        print(f"issuing a secret id failed: {type(exc).__name__}", file=sys.stderr)
        return 1
    # Written with 0600 so only the service's user can read the (single-use) wrapping token.
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    print(f"wrapped secret id for the {args.identity} of role {args.role} written to {args.out}")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    """A new current key for ROLE's audit keyring; the old keys stay to verify their segments.
    The policy replicas pick it up at their next start (a deployment issues their secret ids)."""
    client = _client(args)
    if client is None:
        return 2
    role = Role(args.role)
    try:
        keyring = Keyring.from_document(read_audit_keyring(client, role, args.kv_mount))
        rotated = keyring.rotated(args.key_id or _next_id(keyring))
        write_audit_keyring(client, role, rotated.to_document(), args.kv_mount)
    except KeyringError as exc:
        print(f"rotation refused: {exc}", file=sys.stderr)
        return 1
    except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
        print(f"rotation failed: {type(exc).__name__}", file=sys.stderr)
        return 1
    # Key ids are not secrets; the keys are never printed.
    print(
        json.dumps(
            {
                "role": role.value,
                "current": rotated.current_id,
                "retired": sorted(k for k in rotated.keys if k != rotated.current_id),
            }
        )
    )
    return 0


def _next_id(keyring: Keyring) -> str:
    n = len(keyring.keys) + 1
    while f"k{n}" in keyring.keys:
        n += 1
    return f"k{n}"


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--addr", required=True, help="Vault/OpenBao address, e.g. https://vault:8200"
    )
    parser.add_argument(
        "--token-env", required=True, help="name of the environment variable holding an admin token"
    )
    parser.add_argument("--ca-cert", default=None, help="CA bundle to verify Vault's TLS")
    parser.add_argument("--approle-mount", default=APPROLE_MOUNT)
    parser.add_argument(
        "--identity",
        choices=sorted(TABLES),
        default="writer",
        help="whose AppRoles: the writer's (broker secret), the gateway launcher's (IB login) or"
        " the policy service's (audit keyring)",
    )


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    vault = subparsers.add_parser(
        "vault", help="provision the Vault layout of each identity, rotate audit keys"
    )
    sub = vault.add_subparsers(dest="vault_command", required=True)

    prov = sub.add_parser("provision", help="create/update policies and AppRoles per role")
    _common(prov)
    prov.add_argument("--kv-mount", default=KV_MOUNT)
    prov.add_argument(
        "--role", action="append", choices=[r.value for r in Role], help="repeatable; default all"
    )
    prov.set_defaults(handler=_provision)

    wrap = sub.add_parser("wrap-secret-id", help="issue a response-wrapped secret id for a role")
    _common(wrap)
    wrap.add_argument("--role", required=True, choices=[r.value for r in Role])
    wrap.add_argument("--wrap-ttl", default="300s")
    wrap.add_argument("--out", required=True, help="file to write the wrapping token to (0600)")
    wrap.set_defaults(handler=_wrap_secret_id)

    rotate = sub.add_parser("rotate-audit-key", help="add a current key to a role's keyring")
    _common(rotate)
    rotate.add_argument("--kv-mount", default=KV_MOUNT)
    rotate.add_argument("--role", required=True, choices=[r.value for r in Role])
    rotate.add_argument("--key-id", default="", help="the new key's id (default k<n+1>)")
    rotate.set_defaults(handler=_rotate)
