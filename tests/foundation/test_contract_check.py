"""buf lint and buf breaking (scripts/check_contract.py) on a test copy of the contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_contract.py"
POLICY = Path("protos/livegate_api/v1/policy.proto")
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
}  # fmt: skip


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=GIT_ENV, check=True, capture_output=True)


def _check(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(repo)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _edit(repo: Path, old: str, new: str) -> None:
    path = repo / POLICY
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding a copy of the contract, released as v1.0.0."""
    shutil.copytree(ROOT / "protos", tmp_path / "protos")
    shutil.copy(ROOT / "buf.yaml", tmp_path / "buf.yaml")
    (tmp_path / "pyproject.toml").write_text('[project]\nversion = "1.0.0"\n')
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "release 1.0.0")
    return tmp_path


def test_check_when_nothing_changed_since_the_release_tag_then_passes(repo: Path) -> None:
    _git(repo, "tag", "v1.0.0")
    result = _check(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "against the last release tag v1.0.0" in result.stdout


def test_check_when_a_field_changes_type_then_buf_breaking_fails(repo: Path) -> None:
    _git(repo, "tag", "v1.0.0")
    _edit(repo, "  string idempotency_key = 4;\n  // The preview's strategy tag",
          "  int64 idempotency_key = 4;\n  // The preview's strategy tag")  # fmt: skip
    result = _check(repo)
    assert result.returncode == 1
    assert 'Field "4" with name "idempotency_key" on message "SubmitOrderRequest"' in result.stdout
    assert "incompatible with the last release tag v1.0.0" in result.stdout


def test_check_when_a_field_is_renumbered_after_a_later_tag_then_fails_against_the_newest(
    repo: Path,
) -> None:
    _git(repo, "tag", "v0.9.0", "HEAD")
    _git(repo, "tag", "v1.0.0")
    _edit(repo, "  string preview_id = 2;\n  string approval_id = 3;",
          "  string preview_id = 12;\n  string approval_id = 3;")  # fmt: skip
    result = _check(repo)
    assert result.returncode == 1 and "release tag v1.0.0" in result.stdout


def test_check_when_a_field_is_added_then_passes(repo: Path) -> None:
    _git(repo, "tag", "v1.0.0")
    _edit(repo, "  int64 audit_event_id = 3;\n}\n\nmessage CancelOrderRequest",
          "  int64 audit_event_id = 3;\n  // Added.\n  string note = 4;\n}\n\n"
          "message CancelOrderRequest")  # fmt: skip
    assert _check(repo).returncode == 0


def test_check_when_no_release_tag_exists_then_the_release_commit_is_the_baseline(
    repo: Path,
) -> None:
    _edit(repo, "rpc CancelOrder(CancelOrderRequest)", "rpc CancelOrderRenamed(CancelOrderRequest)")
    result = _check(repo)
    assert result.returncode == 1, result.stdout
    assert "no release tag v* here: the release commit" in result.stdout


def test_check_when_a_lint_rule_breaks_then_fails_before_breaking(repo: Path) -> None:
    _git(repo, "tag", "v1.0.0")
    _edit(
        repo,
        "message GetKillSwitchRequest {}",
        "message GetKillSwitchRequest {\n  bool Now = 1;\n}",
    )
    result = _check(repo)
    assert result.returncode == 1 and "buf lint failed" in result.stdout
    assert 'Field name "Now" should be lower_snake_case' in result.stdout


def test_check_when_a_shallow_clone_has_no_release_tag_then_fails_for_want_of_a_baseline(
    repo: Path, tmp_path: Path
) -> None:
    (repo / "pyproject.toml").write_text('[project]\nversion = "1.0.1"\n')
    _git(repo, "commit", "-q", "-am", "release 1.0.1")
    shallow = tmp_path / "shallow"
    _git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow))
    result = _check(shallow)
    assert result.returncode != 0
    assert "shallow clone with no release tag" in result.stderr
