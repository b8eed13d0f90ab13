"""The simulator runs on the standard library alone: the deployment test's hosts start it with
Debian's bare python3 from the wheel's gateway_sim/ directory, where no third-party package is."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import gateway_sim

PACKAGE = Path(gateway_sim.__file__).resolve().parent


def test_import_when_site_packages_absent_then_the_entry_point_loads(tmp_path: Path) -> None:
    shutil.copytree(PACKAGE, tmp_path / "gateway_sim", ignore=shutil.ignore_patterns("__pycache__"))
    # -S: no site-packages; -s: no user site; -E: no PYTHONPATH. The copy is found from cwd.
    code = "import gateway_sim.__main__ as m; print(m.__file__)"
    result = subprocess.run(
        [sys.executable, "-S", "-s", "-E", "-c", code],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().startswith(str(tmp_path))  # the copy, not the installed one
