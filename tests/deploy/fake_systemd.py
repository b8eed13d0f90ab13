"""A stand-in `systemctl` and `journalctl` for local plays: units as files, every action logged.

Ansible's systemd_service module and livegate-health call `systemctl` from PATH; this one keeps
each unit's state in a JSON file and appends every start/restart/stop to a log, so a test can
count how often a play started the writer. FAKE_SYSTEMD_FAIL="unit:status" makes that unit exit
with that status right after each start, as a writer whose probe did not match would.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

STATE = Path(os.environ["FAKE_SYSTEMD_DIR"])
UNIT_DIR = Path(os.environ["FAKE_SYSTEMD_UNIT_DIR"])


def _load() -> dict[str, dict[str, str]]:
    path = STATE / "units.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _save(units: dict[str, dict[str, str]]) -> None:
    (STATE / "units.json").write_text(json.dumps(units))


def _log(line: str) -> None:
    with (STATE / "actions.log").open("a", encoding="utf-8") as out:
        out.write(line + "\n")


def _unit(units: dict[str, dict[str, str]], name: str) -> dict[str, str]:
    return units.setdefault(
        name,
        {"ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0", "Enabled": "no"},
    )


def _start(units: dict[str, dict[str, str]], name: str, action: str) -> int:
    if not (UNIT_DIR / name).is_file():
        print(f"Failed to {action} {name}: Unit {name} not found.", file=sys.stderr)
        return 5
    _log(f"{action} {name}")
    unit = _unit(units, name)
    unit["InvocationID"] = uuid.uuid4().hex
    fail_unit, _, status = os.environ.get("FAKE_SYSTEMD_FAIL", "").partition(":")
    if fail_unit == name:
        unit.update(ActiveState="failed", Result="exit-code", ExecMainStatus=status)
    else:
        unit.update(ActiveState="active", Result="success", ExecMainStatus="0")
    return 0


def systemctl(args: list[str]) -> int:
    units = _load()
    words = [a for a in args if not a.startswith("-")]
    verb, names = words[0], [n.strip("'") for n in words[1:]]
    code = 0
    if verb in ("start", "restart"):
        code = _start(units, names[0], verb)
    elif verb == "stop":
        _log(f"stop {names[0]}")
        _unit(units, names[0])["ActiveState"] = "inactive"
    elif verb in ("enable", "disable"):
        _unit(units, names[0])["Enabled"] = "yes" if verb == "enable" else "no"
    elif verb == "is-enabled":
        enabled = _unit(units, names[0])["Enabled"] == "yes"
        print("enabled" if enabled else "disabled")
        code = 0 if enabled else 1
    elif verb == "is-active":
        print(_unit(units, names[0])["ActiveState"])
    elif verb == "show":
        unit = _unit(units, names[0])
        loaded = "loaded" if (UNIT_DIR / names[0]).is_file() else "not-found"
        print(f"Id={names[0]}\nLoadState={loaded}")
        for key in ("ActiveState", "Result", "ExecMainStatus", "InvocationID"):
            print(f"{key}={unit.get(key, '')}")
    elif verb == "list-unit-files":
        pass
    elif verb != "daemon-reload":
        print(f"fake systemctl: {verb} not supported", file=sys.stderr)
        code = 1
    _save(units)
    return code


def journalctl(args: list[str]) -> int:
    # What a writer whose probe failed logs: the verdict and its evidence.
    print('{"msg": "permission probe", "verdict": "MISMATCH", "evidence": "queries answered"}')
    print('{"msg": "not starting", "error": "permission probe MISMATCH for role R"}')
    return 0


if __name__ == "__main__":
    tool, rest = sys.argv[1], sys.argv[2:]
    sys.exit(systemctl(rest) if tool == "systemctl" else journalctl(rest))
