"""livegate audit verify-export: an export and its keyed manifest, checked offline (no database)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from livegate_common.config import ConfigError
from policy_service.audit_keysource import read_keyring_file
from policy_service.domain.audit_manifest import check_export
from policy_service.storage.audit_export import load_manifest, manifest_path_of

EXIT_BAD = 4  # as `livegate audit verify`: the evidence does not verify
EXIT_USAGE = 2


def _pair(path: Path) -> tuple[Path, Path]:
    """(events file, manifest) from either one of them."""
    if path.name.endswith(".manifest.json"):
        return path.with_name(path.name.removesuffix(".manifest.json") + ".jsonl"), path
    return path, manifest_path_of(path)


def verify_export(args: argparse.Namespace) -> int:
    events_path, manifest_path = _pair(Path(args.file))
    try:
        keyring = read_keyring_file(Path(args.keyring), "--keyring")
    except ConfigError as exc:
        print(f"verify-export: {exc}", file=sys.stderr)
        return EXIT_USAGE
    manifest = load_manifest(manifest_path)
    if manifest is None:
        print(f"verify-export: {manifest_path} is missing or not JSON", file=sys.stderr)
        return EXIT_USAGE
    # The manifest names its events file; a file renamed beside it is read by that name.
    events_path = manifest_path.with_name(str(manifest.get("file") or events_path.name))
    try:
        data = events_path.read_bytes()
    except OSError as exc:
        print(f"verify-export: cannot read {events_path}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    check = check_export(keyring, manifest, data)
    report: dict[str, Any] = {
        "ok": check.problem is None,
        "file": str(events_path),
        "manifest": str(manifest_path),
        "events_checked": check.events,
        "first_event_id": check.first_event_id,
        "last_event_id": check.last_event_id,
        "key_ids": list(check.key_ids),
    }
    if check.problem is not None:
        report.update(
            problem=check.problem.code,
            event_id=check.problem.event_id,
            detail=check.problem.detail,
        )
    print(json.dumps(report, indent=2))
    return 0 if check.problem is None else EXIT_BAD


def add_parser(audit: Any) -> None:
    parser = audit.add_parser(
        "verify-export",
        help="check an export and its keyed manifest offline, with the audit keyring",
    )
    parser.add_argument("file", help="the export's .jsonl or its .manifest.json")
    parser.add_argument(
        "--keyring",
        required=True,
        help="the audit keyring (JSON, mode 0600): current and retired keys by id",
    )
    parser.set_defaults(handler=verify_export)
