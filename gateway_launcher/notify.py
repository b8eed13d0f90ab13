"""systemd's sd_notify, by hand: READY=1 once the gateway listens, STATUS= while it waits."""

from __future__ import annotations

import os
import socket


def notify(message: str) -> bool:
    """Send MESSAGE to $NOTIFY_SOCKET; False when not run by systemd (or it cannot be sent)."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError:
        return False
    return True
