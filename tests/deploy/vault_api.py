"""The few Vault HTTP calls the deployment tests make, as plain requests (no client magic)."""

from __future__ import annotations

from typing import Any, Final

import requests

TIMEOUT_S: Final = 5


def call(
    addr: str,
    method: str,
    path: str,
    token: str,
    body: dict[str, Any] | None = None,
    wrap_ttl: str | None = None,
) -> requests.Response:
    headers = {"X-Vault-Token": token}
    if wrap_ttl:
        headers["X-Vault-Wrap-TTL"] = wrap_ttl
    return requests.request(
        method, f"{addr}/v1/{path}", headers=headers, json=body, timeout=TIMEOUT_S
    )


def role_id(addr: str, root: str, approle: str) -> str:
    reply = call(addr, "GET", f"auth/approle/role/{approle}/role-id", root)
    reply.raise_for_status()
    return str(reply.json()["data"]["role_id"])


def wrapped_secret_id(addr: str, token: str, approle: str) -> requests.Response:
    return call(addr, "POST", f"auth/approle/role/{approle}/secret-id", token, {}, "120s")


def unwrap(addr: str, wrapping_token: str) -> str:
    reply = call(addr, "POST", "sys/wrapping/unwrap", wrapping_token)
    reply.raise_for_status()
    return str(reply.json()["data"]["secret_id"])


def login(addr: str, role: str, secret: str) -> str:
    reply = requests.post(
        f"{addr}/v1/auth/approle/login",
        json={"role_id": role, "secret_id": secret},
        timeout=TIMEOUT_S,
    )
    reply.raise_for_status()
    return str(reply.json()["auth"]["client_token"])


def login_as(addr: str, root: str, approle: str) -> str:
    """Log in the way the writer does: unwrap a wrapped secret-id once, then AppRole login."""
    wrapped = wrapped_secret_id(addr, root, approle)
    wrapped.raise_for_status()
    secret = unwrap(addr, wrapped.json()["wrap_info"]["token"])
    return login(addr, role_id(addr, root, approle), secret)


def child_token(addr: str, root: str, policy: str) -> str:
    reply = call(addr, "POST", "auth/token/create", root, {"policies": [policy], "ttl": "10m"})
    reply.raise_for_status()
    return str(reply.json()["auth"]["client_token"])
