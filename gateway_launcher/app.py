"""In order: port free -> Vault -> config.ini on tmpfs -> gateway -> API port listens -> file gone.

Then the launcher supervises the gateway and exits with its code. Every way out before that
removes the rendered file first; the password is never logged, passed in argv or environment,
or written anywhere but that one file.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from gateway_launcher import ibc_render, notify, ports
from gateway_launcher.config import LauncherConfig
from gateway_launcher.gateway import Gateway, LoginState
from gateway_launcher.ib_login import IbLogin, LoginMismatch, VaultStartError, read_login

log = logging.getLogger("livegate.gateway")

EXIT_CONFIG: Final = 2
# The login does not fit this host (Vault holds another trading mode) or IB refused it.
EXIT_LOGIN: Final = 3
EXIT_VAULT: Final = 4
# The gateway did not come up: port taken, exited early, timed out, 2FA not approved.
EXIT_GATEWAY: Final = 5
POLL_S: Final = 0.05


@dataclass
class Launch:
    """One run of the launcher; stop (from a signal handler) ends any wait at once."""

    config: LauncherConfig
    stop: threading.Event
    clock: Callable[[], float] = time.monotonic

    def run(self) -> int:
        ibc = self.config.ibc
        if ports.is_listening(ibc.api_port):
            log.error(
                "the gateway's API port is already in use; not reading the login",
                extra={"port": ibc.api_port},
            )
            return EXIT_GATEWAY
        try:
            ibc_render.check_directory(ibc)
            login = read_login(self.config.vault, ibc.trading_mode)
        except ibc_render.RenderError as exc:
            log.error("cannot render IBC's config here; not starting", extra={"error": str(exc)})
            return EXIT_CONFIG
        except VaultStartError as exc:
            log.error("vault failed; not starting", extra={"error": str(exc)})
            return EXIT_VAULT
        except LoginMismatch as exc:
            log.error(
                "the IB login does not fit this host; not starting", extra={"error": str(exc)}
            )
            return EXIT_LOGIN
        return self._start(login)

    def _start(self, login: IbLogin) -> int:
        ibc = self.config.ibc
        path = ibc.config_file
        if ibc_render.remove(path):
            log.warning(
                "removed a rendered config.ini left by an earlier run", extra={"path": str(path)}
            )
        values = ibc_render.settings(ibc, login, self.config.gateway.second_factor_timeout_s)
        try:
            ibc_render.write_private(path, ibc_render.render(values, self.config.role.value))
        except OSError as exc:
            log.error(
                "cannot write IBC's config.ini", extra={"path": str(path), "error": exc.strerror}
            )
            return EXIT_CONFIG
        log.info(
            "IBC config rendered",
            extra={
                "path": str(path),
                "mode": "0600",
                "trading_mode": ibc.trading_mode,
                "read_only_login": ibc.read_only_login,
                "read_only_api": ibc.read_only_api,
                "api_port": ibc.api_port,
            },
        )
        try:
            gateway = self._spawn(login)
            code = EXIT_GATEWAY if gateway is None else self._until_ready(gateway)
        finally:
            if ibc_render.remove(path):
                log.info("rendered IBC config removed", extra={"path": str(path)})
        if code is not None:
            return code
        assert gateway is not None  # only a started gateway becomes ready
        # Ready only once the file is gone: systemd starts the writer after this.
        notify.notify("READY=1\nSTATUS=gateway logged in; API port listens")
        return self._supervise(gateway)

    def _spawn(self, login: IbLogin) -> Gateway | None:
        command, ibc = self.config.gateway, self.config.ibc
        fill = {"{ibc_ini}": str(ibc.config_file), "{api_port}": str(ibc.api_port)}
        argv = [_fill(arg, fill) for arg in command.argv]
        try:
            gateway = Gateway.start(argv, command.env, masked=(login.password,))
        except OSError as exc:
            log.error("cannot start the gateway", extra={"command": argv[0], "error": exc.strerror})
            return None
        log.info("gateway started", extra={"pid": gateway.pid, "command": argv[0]})
        return gateway

    def _until_ready(self, gateway: Gateway) -> int | None:
        """None once the API port listens; otherwise the exit code, the gateway stopped."""
        command, port = self.config.gateway, self.config.ibc.api_port
        started = self.clock()
        deadline = started + command.ready_timeout_s
        announced = False
        while True:
            if gateway.state is LoginState.REFUSED:
                log.error("IB refused the login; stopping the gateway before it retries")
                return self._give_up(gateway, EXIT_LOGIN)
            if ports.is_listening(port):
                log.info(
                    "gateway ready: API port listens",
                    extra={"port": port, "elapsed_s": round(self.clock() - started, 3)},
                )
                return None
            if gateway.poll() is not None:
                gateway.finish_relay()
                log.error(
                    "gateway exited before its API port listened",
                    extra={"exit_code": gateway.exit_code(), "login": gateway.state.value},
                )
                return EXIT_LOGIN if gateway.state is LoginState.REFUSED else EXIT_GATEWAY
            if gateway.second_factor_since is not None and not announced:
                announced = True
                deadline = gateway.second_factor_since + command.second_factor_timeout_s
                log.warning(
                    "gateway login waits for the second factor: approve it on IBKR Mobile",
                    extra={"event": "second_factor", "timeout_s": command.second_factor_timeout_s},
                )
                notify.notify("STATUS=waiting for second-factor approval (IBKR Mobile)")
            if self.clock() >= deadline:
                log.error(
                    "gateway did not listen in time",
                    extra={"port": port, "login": gateway.state.value},
                )
                return self._give_up(gateway, EXIT_GATEWAY)
            if self.stop.wait(POLL_S):
                log.info("stop requested while the gateway was logging in")
                return self._give_up(gateway, 0)

    def _give_up(self, gateway: Gateway, code: int) -> int:
        gateway.stop(self.config.gateway.stop_timeout_s)
        return code

    def _supervise(self, gateway: Gateway) -> int:
        while gateway.poll() is None:
            if self.stop.wait(0.2):
                log.info("stopping the gateway", extra={"pid": gateway.pid})
                gateway.stop(self.config.gateway.stop_timeout_s)
                return 0
        gateway.finish_relay()
        code = gateway.exit_code()
        log.log(
            logging.INFO if code == 0 else logging.ERROR,
            "gateway exited",
            extra={"exit_code": code},
        )
        return code


def _fill(arg: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        arg = arg.replace(placeholder, value)
    return arg
