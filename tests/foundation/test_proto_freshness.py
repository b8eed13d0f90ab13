"""The generated contract package and docs/api.md are checked fresh; a stale file fails."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gen_protos.py"


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy_generated(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "livegate_api",
        tmp_path / "livegate_api",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "api.md", tmp_path / "docs" / "api.md")
    return tmp_path


def test_check_when_generated_package_is_fresh_then_passes(tmp_path: Path) -> None:
    result = _check(_copy_generated(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_when_a_generated_file_was_edited_then_fails_naming_it(tmp_path: Path) -> None:
    root = _copy_generated(tmp_path)
    stub = root / "livegate_api" / "v1" / "policy_pb2.pyi"
    stub.write_text(stub.read_text() + "\n# hand edit\n")
    result = _check(root)
    assert result.returncode == 1
    assert "v1/policy_pb2.pyi" in result.stdout


def test_check_when_a_generated_file_is_missing_then_fails(tmp_path: Path) -> None:
    root = _copy_generated(tmp_path)
    (root / "livegate_api" / "v1" / "writer_pb2_grpc.py").unlink()
    result = _check(root)
    assert result.returncode == 1
    assert "writer_pb2_grpc.py" in result.stdout


def test_check_when_the_api_reference_is_stale_then_fails_naming_it(tmp_path: Path) -> None:
    root = _copy_generated(tmp_path)
    doc = root / "docs" / "api.md"
    doc.write_text(doc.read_text().replace("scope live.submit.", "scope anything."))
    result = _check(root)
    assert result.returncode == 1
    assert "docs/api.md" in result.stdout


def test_api_reference_when_generated_then_documents_every_policy_call_with_its_comment() -> None:
    doc = (ROOT / "docs" / "api.md").read_text()
    assert "| `SubmitOrder` | [`SubmitOrderRequest`](#submitorderrequest) |" in doc
    assert "scope orders.read: what the broker holds now" in doc
    # Field comments, types and numbers come from the .proto.
    assert "| `idempotency_key` | `string` | 4 | 8..64 characters of [A-Za-z0-9._:-]" in doc
    assert "| `metadata` | map<`string`, `string`> | 4 |" in doc
