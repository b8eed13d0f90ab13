"""The release: python -m build's wheel, installed into a fresh venv, works on its own."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.support.project import ROOT, VERSION
from tests.support.stack import Stack

# Run by the fresh venv's python, from outside the source tree: the installed client only.
CLIENT_SCRIPT = textwrap.dedent(
    """
    import sys
    from decimal import Decimal
    from pathlib import Path

    import livegate_client
    from livegate_client import Action, Client, Order, TlsFiles

    port, pki = sys.argv[1], Path(sys.argv[2])
    assert "site-packages" in livegate_client.__file__, livegate_client.__file__
    up = Client.connect(f"localhost:{port}", TlsFiles.from_dir(pki, "upstream"))
    approver = Client.connect(f"localhost:{port}", TlsFiles.from_dir(pki, "approver"))
    order = Order.limit("AAPL", Action.BUY, Decimal(4), Decimal("189.00"))
    preview = up.create_order_preview("U1234567", order)
    approval = approver.approve_preview(preview.preview_id)
    done = up.submit_order("U1234567", preview.preview_id, approval.approval_id)
    print(livegate_client.__version__, done.idempotency_key, done.order.broker_order_id,
          done.order.status, done.order.order.quantity)
    """
)


def _run(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{argv}:\n{result.stdout}\n{result.stderr}"
    return result


def _source_copy(into: Path) -> Path:
    """The files git tracks or would track (no venv, no build leftovers) in a clean tree."""
    listed = _run(["git", "ls-files", "-co", "--exclude-standard"], ROOT).stdout.splitlines()
    for name in listed:
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_wheel_when_installed_in_a_fresh_venv_then_commands_and_client_work(
    stack: Stack, dev_pki: Path, tmp_path: Path
) -> None:
    source, dist, elsewhere = tmp_path / "src", tmp_path / "dist", tmp_path / "elsewhere"
    source.mkdir(), elsewhere.mkdir()
    # No isolation: the build backend comes from this venv, not from the network.
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist),
          str(_source_copy(source))], source)  # fmt: skip
    wheel = dist / f"livegate-{VERSION}-py3-none-any.whl"
    sdist = dist / f"livegate-{VERSION}.tar.gz"
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("livegate_api/v1/policy_pb2.py", "livegate_api/v1/policy_pb2.pyi",
                   "livegate_client/py.typed", "livegate_client/aio.py",
                   "policy_service/migrations/env.py"):  # fmt: skip
        assert needed in names, needed
    entry_points = zipfile.ZipFile(wheel).read(f"livegate-{VERSION}.dist-info/entry_points.txt")
    for script in (b"livegate ", b"livegate-policy", b"livegate-writer", b"livegate-gateway-sim"):
        assert script in entry_points
    with tarfile.open(sdist) as tar:
        held = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"protos/livegate_api/v1/policy.proto", "livegate_api/v1/policy_pb2.py",
            "CHANGELOG.md", "buf.yaml", "docs/api.md"} <= held  # fmt: skip

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], elsewhere)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)], elsewhere)

    version = _run([str(venv / "bin" / "livegate"), "--version"], elsewhere)
    assert version.stdout.strip() == f"livegate {VERSION}"
    sim_help = _run([str(venv / "bin" / "livegate-gateway-sim"), "--help"], elsewhere)
    assert "--port" in sim_help.stdout and "--account" in sim_help.stdout
    traded = _run(
        [str(venv / "bin" / "python"), "-c", CLIENT_SCRIPT, str(stack.policy.port), str(dev_pki)],
        elsewhere,
        timeout=120,
    )
    got_version, key, order_id, status, quantity = traded.stdout.split()
    assert got_version == VERSION and quantity == "4"
    [held_order] = stack.broker_orders_with_ref(key)
    assert str(held_order.order_id) == order_id and status in ("Submitted", "PreSubmitted")
    print(version.stdout, sim_help.stdout.splitlines()[0], traded.stdout, sep="\n")
