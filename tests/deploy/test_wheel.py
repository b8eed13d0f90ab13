"""The play builds the project wheel itself when none is given, and the same source gives the
same file: a second run copies nothing new to a host, so it restarts nothing."""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

import pytest

from tests.deploy.ansible_run import REPO, run_playbook, write_yaml
from tests.support.project import VERSION

# Two wheel builds, each in an isolated build environment.
pytestmark = pytest.mark.timeout(480)

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Build the wheel as site.yml does when livegate_wheel_src is empty
      ansible.builtin.include_role:
        name: livegate
        tasks_from: wheel
    - name: Keep it
      ansible.builtin.copy:
        src: "{{ livegate_wheel_src }}"
        dest: "{{ out }}/"
        mode: "0644"
    - name: Remove the build directory
      ansible.builtin.file:
        path: "{{ livegate_wheel_build_dir.path }}"
        state: absent
"""


def _build(tmp: Path, out: Path) -> Path:
    inventory = tmp / "hosts.yml"
    write_yaml(inventory, {"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
    }}}})  # fmt: skip
    playbook = tmp / "wheel.yml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    extra = tmp / f"{out.name}.yml"
    # site.yml sits in ansible/, whose parent is the checkout; this playbook does not.
    write_yaml(extra, {"out": str(out), "livegate_project_dir": str(REPO)})
    result = run_playbook(tmp, str(playbook), inventory, extra_vars_files=[extra])
    assert result.returncode == 0, result.output[-4000:]
    wheels = sorted(out.glob("livegate-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_when_built_twice_by_the_play_then_the_same_file(tmp_path: Path) -> None:
    first = _build(tmp_path, tmp_path / "first")
    second = _build(tmp_path, tmp_path / "second")
    assert first.name == f"livegate-{VERSION}-py3-none-any.whl"
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (first, second)]
    assert digest[0] == digest[1]
    with zipfile.ZipFile(first) as archive:
        names = set(archive.namelist())
    for module in (
        "policy_service/__main__.py",
        "writer_service/__main__.py",
        "gateway_sim/core.py",
    ):
        assert module in names
