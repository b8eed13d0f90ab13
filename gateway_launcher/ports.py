"""Is a TCP port listening on this host? Read from /proc/net, without connecting to it."""

from __future__ import annotations

from pathlib import Path
from typing import Final

_TABLES: Final = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
_LISTEN: Final = "0A"


def is_listening(port: int, tables: tuple[Path, ...] = _TABLES) -> bool:
    """True when a socket in this network namespace listens on PORT (any address).

    Reading the kernel's table instead of connecting leaves the gateway alone: a probe
    connection would be one more API client for it to accept or reject.
    """
    wanted = f"{port:04X}"
    for table in tables:
        try:
            lines = table.read_text(encoding="ascii").splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == _LISTEN and fields[1].rsplit(":", 1)[1] == wanted:
                return True
    return False
