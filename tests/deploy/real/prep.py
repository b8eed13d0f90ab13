"""What the control node makes before any host exists: PKI, SSH key, the wheel and its deps."""

from __future__ import annotations

import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from livegate_common.pki import init_dev_pki
from tests.deploy.real.shell import CheckFailed, run

REPO: Final = Path(__file__).resolve().parents[3]
# The same fixed epoch as the play's own build (roles/livegate/tasks/wheel.yml): the wheel is
# reproducible, so both builds of the same source are the same file.
SOURCE_DATE_EPOCH: Final = "315532800"


@dataclass(frozen=True)
class ControlNode:
    pki: Path
    ssh_key: Path
    wheel: Path
    wheelhouse: Path
    gateway_sim: Path


def prepare(work: Path, logs: Path) -> ControlNode:
    pki = work / "pki"
    init_dev_pki(pki)
    ssh_key = work / "id_ed25519"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh_key)], logs / "prep.log")
    dist = work / "dist"
    wheelhouse = dist / "wheelhouse"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--wheel-dir",
            str(wheelhouse),
            str(REPO),
        ],
        logs / "prep.log",
        env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH},
        timeout=900,
    )
    built = sorted(wheelhouse.glob("livegate-*.whl"))
    if len(built) != 1:
        raise CheckFailed(f"expected one livegate wheel in {wheelhouse}, found {built}")
    # The project wheel travels on its own (livegate_wheel_src); the wheelhouse is its deps.
    wheel = dist / built[0].name
    built[0].rename(wheel)
    archive = dist / "wheelhouse.tar"
    run(["tar", "-C", str(wheelhouse), "-cf", str(archive), "."], logs / "prep.log")
    return ControlNode(pki, ssh_key, wheel, archive, _extract_gateway_sim(wheel, work))


def _extract_gateway_sim(wheel: Path, work: Path) -> Path:
    """The wheel's simulator package (standard library only), to run as a host's IB Gateway."""
    target = work / "gateway-sim"
    with zipfile.ZipFile(wheel) as archive:
        members = [n for n in archive.namelist() if n.startswith("gateway_sim/")]
        archive.extractall(target, members)
    return target
