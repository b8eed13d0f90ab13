"""The policy service's configuration: one frozen object, read and validated once at start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livegate_common import config as cfg
from livegate_common.identity import PrincipalMap
from livegate_common.scopes import POLICY_SCOPES

ENV_PREFIX = "LIVEGATE_POLICY"
DEFAULT_LISTEN = "127.0.0.1:50051"


@dataclass(frozen=True)
class PolicyConfig:
    server: cfg.ServerConfig
    principals: PrincipalMap
    log_level: str


def from_document(doc: Mapping[str, Any], base: Path) -> PolicyConfig:
    return PolicyConfig(
        server=cfg.server_config(doc, base, DEFAULT_LISTEN),
        principals=cfg.principal_map(doc, POLICY_SCOPES),
        log_level=cfg.get(doc, "logging.level", str, "INFO"),
    )


def load(path: Path | None, environ: Mapping[str, str] | None = None) -> PolicyConfig:
    doc = cfg.load_document(path, ENV_PREFIX, environ)
    return from_document(doc, path.parent if path else Path.cwd())
