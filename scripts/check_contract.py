"""buf lint, and buf breaking against the last release: an incompatible livegate.v1 fails CI.

The baseline is the newest release tag v*. A clone without one (the first release, before its
tag exists; a clone that was given no tags) is checked against the release commit instead: the
last commit that set the version in pyproject.toml, which every release makes. It says which it
used; with neither, or in a shallow clone without the tag, it fails: no baseline is never a pass.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUF = Path(sys.executable).parent / "buf"
RELEASE_TAG = re.compile(r"v\d+\.\d+\.\d+")


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=60
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def baseline(root: Path) -> tuple[str, str]:
    """(git ref, how it was chosen) of the contract to stay compatible with."""
    tags = [t for t in _git(root, "tag", "--list", "v*", "--sort=-v:refname").splitlines()]
    releases = [t for t in tags if RELEASE_TAG.fullmatch(t)]
    if releases:
        return releases[0], f"the last release tag {releases[0]}"
    if _git(root, "rev-parse", "--is-shallow-repository") == "true":
        # Its oldest commit would look as if it set the version: a baseline of itself.
        raise SystemExit("check_contract: a shallow clone with no release tag v*: no baseline")
    bump = _git(root, "log", "-1", "--format=%H", "-G", r'^version = "', "--", "pyproject.toml")
    if bump:
        return bump, f"no release tag v* here: the release commit {bump[:12]} (version bump)"
    raise SystemExit("check_contract: no release tag v* and no release commit: no baseline")


def _extract(root: Path, ref: str, into: Path) -> None:
    """protos/ as of REF, beside today's buf.yaml (one module layout for both sides)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "protos"],
        cwd=root, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    shutil.copy(root / "buf.yaml", into / "buf.yaml")


def _buf(root: Path, *args: str) -> int:
    print(f"$ buf {' '.join(args)}", flush=True)
    return subprocess.run([str(BUF), *args], cwd=root, check=False, timeout=300).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout holding buf.yaml")
    parser.add_argument("--against", help="git ref to compare with (default: see above)")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    if _buf(root, "lint") != 0:
        print("buf lint failed")
        return 1
    ref, why = (args.against, f"--against {args.against}") if args.against else baseline(root)
    print(f"buf breaking against {why}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        _extract(root, ref, Path(tmp))
        if _buf(root, "breaking", "--against", tmp) != 0:
            print(f"incompatible with {why}: livegate.v1 changed in a way its callers would break")
            return 1
    print("contract: lint clean, compatible")
    return 0


if __name__ == "__main__":
    sys.exit(main())
