"""The gateway child: IBC's start script in a session of its own, its output relayed and read.

IBC says on its console how the login goes; the launcher reads the same lines an operator would:
"Second Factor Authentication initiated" (a W login waits for IBKR Mobile), "Login has
completed", "Unrecognized Username or Password". Each line is relayed to the launcher's log with
the password masked, in case anything in the gateway ever prints it.
"""

from __future__ import annotations

import enum
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Final

log = logging.getLogger("livegate.gateway.output")

SECOND_FACTOR_MARKER: Final = "Second Factor Authentication initiated"
LOGIN_COMPLETED_MARKER: Final = "Login has completed"
LOGIN_REFUSED_MARKER: Final = "Unrecognized Username or Password"
MASK: Final = "***"
# A line longer than this is cut: the relay must not buffer without bound.
MAX_LINE_CHARS: Final = 4000


class LoginState(enum.Enum):
    STARTING = "starting"
    WAITING_FOR_SECOND_FACTOR = "waiting for second factor"
    LOGGED_IN = "logged in"
    REFUSED = "refused"


def _state_after(line: str, state: LoginState) -> LoginState:
    if LOGIN_REFUSED_MARKER in line:
        return LoginState.REFUSED
    if LOGIN_COMPLETED_MARKER in line:
        return LoginState.LOGGED_IN
    if SECOND_FACTOR_MARKER in line:
        return LoginState.WAITING_FOR_SECOND_FACTOR
    return state


@dataclass
class Gateway:
    """A started gateway process; state follows its console, updated by the relay thread."""

    process: subprocess.Popen[bytes]
    masked: tuple[str, ...] = field(repr=False)
    state: LoginState = LoginState.STARTING
    second_factor_since: float | None = None
    _relay: threading.Thread | None = None

    @classmethod
    def start(cls, argv: Sequence[str], env: Mapping[str, str], masked: Sequence[str]) -> Gateway:
        process = subprocess.Popen(
            list(argv),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            close_fds=True,
            # Its own session: a stop reaches IBC, the JVM and anything they started.
            start_new_session=True,
        )
        gateway = cls(process, tuple(m for m in masked if m))
        assert process.stdout is not None
        gateway._relay = threading.Thread(
            target=gateway._relay_output, args=(process.stdout,), name="gateway-relay", daemon=True
        )
        gateway._relay.start()
        return gateway

    @property
    def pid(self) -> int:
        return self.process.pid

    def mask(self, line: str) -> str:
        for secret in self.masked:
            line = line.replace(secret, MASK)
        return line

    def _relay_output(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = self.mask(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
            line = line[:MAX_LINE_CHARS]
            state = _state_after(line, self.state)
            if state is LoginState.WAITING_FOR_SECOND_FACTOR and self.second_factor_since is None:
                self.second_factor_since = time.monotonic()
            self.state = state
            log.info("gateway output", extra={"event": "gateway_output", "line": line})
        stream.close()

    def poll(self) -> int | None:
        return self.process.poll()

    def exit_code(self) -> int:
        """The process's exit status as a shell reports it (128 + N for signal N)."""
        code = self.process.returncode
        if code is None:
            raise RuntimeError("the gateway is still running")
        return 128 - code if code < 0 else code

    def stop(self, timeout_s: float) -> None:
        """SIGTERM to the gateway's whole session, then SIGKILL after TIMEOUT_S."""
        for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
            if self.process.poll() is not None:
                break
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(wait_s)
            except subprocess.TimeoutExpired:
                continue
        self.finish_relay()

    def finish_relay(self) -> None:
        """Wait (bounded) for the last lines of a gateway that has exited."""
        if self._relay is not None:
            self._relay.join(timeout=5)
