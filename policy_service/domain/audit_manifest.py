"""Export manifests: keyed, so an export verifies offline with the key and no database."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from policy_service import reasons
from policy_service.domain.audit_keys import Keyring
from policy_service.domain.audit_verify import ChainWalk, Problem

FORMAT: Final = "livegate-audit-export-v1"
_DOMAIN = b"livegate-audit-manifest-v1\n"


def _text(body: Mapping[str, Any]) -> str:
    return json.dumps(dict(body), sort_keys=True, separators=(",", ":"))


def sign_manifest(keyring: Keyring, body: Mapping[str, Any]) -> dict[str, Any]:
    """BODY plus mac_key_id and mac (HMAC-SHA256 over its canonical JSON)."""
    unsigned = {**body, "format": FORMAT, "mac_key_id": keyring.current_id}
    mac = hmac.new(keyring.current, _DOMAIN + _text(unsigned).encode(), hashlib.sha256)
    return {**unsigned, "mac": mac.hexdigest()}


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """sha256 of the signed manifest's canonical JSON: what a purge event records."""
    return hashlib.sha256(_text(manifest).encode()).hexdigest()


@dataclass(frozen=True)
class ExportCheck:
    problem: Problem | None
    events: int
    first_event_id: int
    last_event_id: int
    key_ids: tuple[str, ...]


def _mac_ok(keyring: Keyring, manifest: Mapping[str, Any]) -> bool:
    key = keyring.get(str(manifest.get("mac_key_id", "")))
    if key is None or manifest.get("format") != FORMAT:
        return False
    unsigned = {k: v for k, v in manifest.items() if k != "mac"}
    mac = hmac.new(key, _DOMAIN + _text(unsigned).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, str(manifest.get("mac", "")))


def check_export(keyring: Keyring, manifest: Mapping[str, Any], data: bytes) -> ExportCheck:
    """The manifest is ours (MAC), the file is the one it describes, the events chain."""
    first = int(manifest.get("first_event_id", 0) or 0)
    last = int(manifest.get("last_event_id", 0) or 0)

    def result(problem: Problem | None, walk: ChainWalk | None = None) -> ExportCheck:
        events = walk.checked if walk else 0
        keys = tuple(walk.key_ids) if walk else ()
        return ExportCheck(problem, events, first, last, keys)

    if not _mac_ok(keyring, manifest):
        return result(Problem(reasons.AUDIT_MANIFEST_INVALID, 0, "manifest MAC does not verify"))
    walk = ChainWalk(keyring, first - 1, str(manifest.get("first_prev_link", "")))
    try:
        events = [json.loads(line) for line in data.decode().splitlines() if line]
        walk.feed_all(events)
    except (ValueError, KeyError, TypeError) as exc:
        return result(Problem(reasons.AUDIT_MANIFEST_INVALID, walk.next_id, str(exc)), walk)
    if walk.problem is not None:
        return result(walk.problem, walk)
    if walk.next_id - 1 != last or walk.link != manifest.get("last_link"):
        return result(Problem(reasons.AUDIT_CHAIN_TRUNCATED, walk.next_id, "range"), walk)
    checks = {
        "sha256": hashlib.sha256(data).hexdigest() == manifest.get("sha256"),
        "event_count": walk.checked == manifest.get("event_count"),
        "key_ids": list(walk.key_ids) == list(manifest.get("key_ids", [])),
    }
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        return result(Problem(reasons.AUDIT_MANIFEST_INVALID, 0, ",".join(failed)), walk)
    return result(None, walk)
