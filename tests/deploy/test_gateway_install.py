"""The gateway role installs IB Gateway and IBC only from installers whose sha256 matches.

Stand-in installers made here (an install4j-like script that records each run, a zip laid out
like IBC's), given as a control-node path or served over loopback HTTP: nothing is downloaded
from anywhere else. The role's own install tasks run into a temporary root.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import stat
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.ansible_run import PlayResult, finish, start_playbook, write_yaml

FAKE_INSTALLER = """#!/bin/sh
# Stands in for IB Gateway's install4j installer: -q -dir DIR
set -eu
[ "$1" = "-q" ] && [ "$2" = "-dir" ]
mkdir -p "$3"
echo installed > "$3/ibgateway"
echo run >> "$3/../installer-runs"
"""


@dataclass(frozen=True)
class Installers:
    directory: Path
    ibgateway: Path
    ibc: Path

    def sha256(self, path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def installers(tmp_path_factory: pytest.TempPathFactory) -> Installers:
    directory = tmp_path_factory.mktemp("installers")
    ibgateway = directory / "ibgateway-standalone-linux-x64.sh"
    ibgateway.write_text(FAKE_INSTALLER, encoding="utf-8")
    ibc = directory / "IBCLinux.zip"
    with zipfile.ZipFile(ibc, "w") as archive:
        archive.writestr("scripts/ibcstart.sh", "#!/bin/sh\necho ibc\n")
        archive.writestr("gatewaystart.sh", "#!/bin/sh\n")
        archive.writestr("IBC.jar", "not really a jar")
    return Installers(directory, ibgateway, ibc)


@pytest.fixture(scope="module")
def loopback_http(installers: Installers) -> Iterator[str]:
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(installers.directory)
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


PLAYBOOK = """- name: Install IB Gateway and IBC as the gateway role does
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Run the role's install tasks
      ansible.builtin.include_role:
        name: livegate_gateway
        tasks_from: install.yml
"""


@dataclass(frozen=True)
class Run:
    result: PlayResult
    root: Path


def _start(
    tmp: Path, name: str, source: str, sha: dict[str, str], installers: Installers, root: Path
):  # type: ignore[no-untyped-def]
    workdir = tmp / name
    workdir.mkdir()
    root.mkdir(exist_ok=True)
    playbook = workdir / "install.yml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "livegate_role": "R",
        "livegate_root": str(root),
        # The restart handler skips: there is no unit to restart here.
        "livegate_render_only": True,
        "livegate_gateway_ibgateway_installer": f"{source}/{installers.ibgateway.name}",
        "livegate_gateway_ibgateway_installer_sha256": sha["ibgateway"],
        "livegate_gateway_ibc_zip": f"{source}/{installers.ibc.name}",
        "livegate_gateway_ibc_zip_sha256": sha["ibc"],
    }
    inventory = workdir / "hosts.yml"
    write_yaml(inventory, {"all": {"hosts": {"localhost": host}}})
    return start_playbook(workdir, str(playbook), inventory, log_name=name)


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, installers: Installers, loopback_http: str
) -> dict[str, Run]:
    """Each case played once, all at once; then path_ok again onto its own installed root."""
    tmp = tmp_path_factory.mktemp("gateway-install")
    good = {
        "ibgateway": installers.sha256(installers.ibgateway),
        "ibc": installers.sha256(installers.ibc),
    }
    bad = dict(good, ibgateway="0" * 64)
    cases = {
        "path_ok": (str(installers.directory), good),
        "path_bad": (str(installers.directory), bad),
        "url_ok": (loopback_http, good),
        "url_bad": (loopback_http, bad),
    }
    roots = {name: tmp / f"root-{name}" for name in cases}
    started = {
        name: _start(tmp, name, source, sha, installers, roots[name])
        for name, (source, sha) in cases.items()
    }
    done = {name: Run(finish(*proc_log), roots[name]) for name, proc_log in started.items()}
    source, sha = cases["path_ok"]
    again = _start(tmp, "path_ok_second", source, sha, installers, roots["path_ok"])
    done["path_ok_second"] = Run(finish(*again), roots["path_ok"])
    return done


@pytest.mark.parametrize("case", ["path_ok", "url_ok"])
def test_install_when_sha256_matches_then_gateway_installed_and_ibc_scripts_executable(
    runs: dict[str, Run], case: str
) -> None:
    run = runs[case]
    assert run.result.returncode == 0, run.result.output[-3000:]
    assert (run.root / "opt/ibgateway/ibgateway").read_text() == "installed\n"
    script = run.root / "opt/ibc/scripts/ibcstart.sh"
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert (run.root / "opt/ibc/IBC.jar").exists()


@pytest.mark.parametrize("case", ["path_bad", "url_bad"])
def test_install_when_sha256_does_not_match_then_fails_before_installing_anything(
    runs: dict[str, Run], case: str
) -> None:
    run = runs[case]
    assert run.result.returncode != 0
    words = "INSTALLER_CHECKSUM_MISMATCH" if case == "path_bad" else "checksum"
    assert words in run.result.output
    assert not (run.root / "opt/ibgateway").exists()
    assert not (run.root / "opt/ibc").exists()
    staged = run.root / "var/cache/livegate-gateway"
    assert not (staged / "ibgateway-installer.sh").exists()


def test_install_when_run_again_with_the_same_installers_then_nothing_changes(
    runs: dict[str, Run],
) -> None:
    second = runs["path_ok_second"]
    assert second.result.returncode == 0, second.result.output[-3000:]
    assert "changed=0" in second.result.output
    # The installer ran once, on the first run only.
    assert (second.root / "opt/installer-runs").read_text() == "run\n"
