"""Config loading: one YAML file, environment overrides, typed reads that name the bad key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from livegate_common.close_first import DEFAULT_MAX_WAIT_S, MAX_WAIT_CEILING_S
from livegate_common.identity import PrincipalMap
from livegate_common.roles import Role
from livegate_common.tls import TLSFiles

T = TypeVar("T")
_MISSING: Any = object()


class ConfigError(ValueError):
    """A config value is missing or invalid; the message starts with the key."""

    def __init__(self, key: str, message: str):
        super().__init__(f"config key {key}: {message}")
        self.key = key


def load_document(
    path: Path | None, env_prefix: str, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Read PATH (if given) and apply overrides like PREFIX__LIVE_TRADING__ENABLED=true.

    Override values are parsed as YAML scalars/flow values, so "true", "42" and "[a, b]" work.
    """
    doc: dict[str, Any] = {}
    if path is not None:
        if not path.is_file():
            raise ConfigError("(file)", f"{path} does not exist")
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError("(file)", f"{path} must hold a mapping at the top level")
        doc = loaded or {}
    env = os.environ if environ is None else environ
    marker = f"{env_prefix}__"
    for name, raw in sorted(env.items()):
        if not name.startswith(marker):
            continue
        keys = [k.lower() for k in name[len(marker) :].split("__") if k]
        node = doc
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        node[keys[-1]] = yaml.safe_load(raw) if raw != "" else ""
    return doc


def get(doc: Mapping[str, Any], key: str, kind: type[T], default: T = _MISSING) -> T:
    """Read dotted KEY as KIND; a missing key takes DEFAULT or fails naming the key."""
    node: Any = doc
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node or node[part] is None:
            if default is _MISSING:
                raise ConfigError(key, "is required")
            return default
        node = node[part]
    if kind is bool and not isinstance(node, bool):
        raise ConfigError(key, f"must be true or false, got {node!r}")
    if kind is int and (isinstance(node, bool) or not isinstance(node, int)):
        raise ConfigError(key, f"must be an integer, got {node!r}")
    if kind is float and isinstance(node, int | float) and not isinstance(node, bool):
        return float(node)  # type: ignore[return-value]
    if kind is list and isinstance(node, list):
        return list(node)  # type: ignore[return-value]
    if kind is str and isinstance(node, str):
        return node  # type: ignore[return-value]
    if kind is dict and isinstance(node, Mapping):
        return dict(node)  # type: ignore[return-value]
    if kind in (bool, int):
        return node  # type: ignore[no-any-return]
    raise ConfigError(key, f"must be a {kind.__name__}, got {type(node).__name__}")


def positive(doc: Mapping[str, Any], key: str, default: float) -> float:
    """Dotted KEY as a number > 0 (seconds, mostly); anything else fails naming the key."""
    value = get(doc, key, float, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(key, f"must be a positive number, got {value!r}")
    return float(value)


def instance_role(doc: Mapping[str, Any], key: str = "role") -> Role:
    """Dotted KEY as an instance role (W, R, ABH); required."""
    raw = get(doc, key, str)
    try:
        return Role(raw)
    except ValueError:
        raise ConfigError(key, f"must be one of W, R, ABH, got {raw!r}") from None


def get_path(doc: Mapping[str, Any], key: str, base: Path, default: str | None = None) -> Path:
    raw = get(doc, key, str) if default is None else get(doc, key, str, default)
    path = Path(raw)
    return path if path.is_absolute() else (base / path)


@dataclass(frozen=True)
class ServerConfig:
    listen: str
    tls: TLSFiles
    cpus: frozenset[int] = frozenset()  # pinned at start: see livegate_common.cpus
    # The longest a write waits for a kill-switch close to end: see livegate_common.close_first.
    close_first_max_wait_s: float = DEFAULT_MAX_WAIT_S


def server_config(doc: Mapping[str, Any], base: Path, default_listen: str) -> ServerConfig:
    return ServerConfig(
        listen=get(doc, "server.listen", str, default_listen),
        tls=TLSFiles(
            ca=get_path(doc, "server.tls.ca", base),
            cert=get_path(doc, "server.tls.cert", base),
            key=get_path(doc, "server.tls.key", base),
        ),
        cpus=cpus_config(doc),
        close_first_max_wait_s=close_first_config(doc),
    )


CLOSE_FIRST_KEY = "server.close_first_max_wait_s"


def close_first_config(doc: Mapping[str, Any]) -> float:
    """server.close_first_max_wait_s: seconds, > 0 and at most MAX_WAIT_CEILING_S."""
    value = positive(doc, CLOSE_FIRST_KEY, DEFAULT_MAX_WAIT_S)
    if value > MAX_WAIT_CEILING_S:
        raise ConfigError(
            CLOSE_FIRST_KEY, f"must be at most {MAX_WAIT_CEILING_S} seconds, got {value!r}"
        )
    return value


CPUS_KEY = "server.cpus"


def cpus_config(doc: Mapping[str, Any]) -> frozenset[int]:
    """server.cpus: the CPU numbers to pin the process to; absent or empty: not pinned."""
    raw = get(doc, CPUS_KEY, list, [])
    if any(isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in raw):
        raise ConfigError(CPUS_KEY, f"must be a list of CPU numbers (0, 1, ...), got {raw!r}")
    if len(set(raw)) != len(raw):
        raise ConfigError(CPUS_KEY, f"names a CPU twice: {raw!r}")
    return frozenset(raw)


def principal_map(doc: Mapping[str, Any], known_scopes: frozenset[str]) -> PrincipalMap:
    """principals: {name: {sans: [...], scopes: [...]}}; unknown scopes are a config error."""
    raw = get(doc, "principals", dict)
    entries: dict[str, tuple[list[str], list[str]]] = {}
    for name, body in raw.items():
        key = f"principals.{name}"
        if not isinstance(body, Mapping):
            raise ConfigError(key, "must be a mapping with sans and scopes")
        sans = get(body, "sans", list)
        scopes = get(body, "scopes", list, [])
        if not sans or not all(isinstance(s, str) and s for s in sans):
            raise ConfigError(f"{key}.sans", "must be a non-empty list of SAN strings")
        unknown = sorted(set(map(str, scopes)) - known_scopes)
        if unknown:
            raise ConfigError(f"{key}.scopes", f"unknown scope(s) {unknown}")
        entries[str(name)] = (list(sans), [str(s) for s in scopes])
    try:
        return PrincipalMap(entries)
    except ValueError as exc:
        raise ConfigError("principals", str(exc)) from exc
