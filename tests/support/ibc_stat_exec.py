"""Stands in for IBC's start script in tests: report how the config.ini is kept, then exec.

The launcher relays the child's output, so the line below shows what the gateway saw when it
started: the rendered file's mode and owner, observed from outside the launcher.
"""

from __future__ import annotations

import json
import os
import stat
import sys


def main() -> None:
    path, argv = sys.argv[1], sys.argv[2:]
    info = os.stat(path)
    seen = {"mode": f"{stat.S_IMODE(info.st_mode):04o}", "uid": info.st_uid, "path": path}
    print(json.dumps({"ibc_ini_seen": seen}), flush=True)
    os.execv(argv[0], argv)  # noqa: S606 - replace this process, as IBC's script does


if __name__ == "__main__":
    main()
