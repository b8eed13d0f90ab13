"""A loopback TCP relay that delays one direction: a slow network link between two services."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time

CHUNK = 65536


class SlowLink:
    """Relays 127.0.0.1:port to the target; bytes towards the target arrive DELAY_S late.

    Order within a connection is kept (it is a byte stream); TLS passes through untouched.
    """

    def __init__(self, target_port: int, delay_s: float):
        self.target_port = target_port
        self.delay_s = delay_s
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = [self._listener]
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="slow-link", daemon=True).start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._closed:
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            pending: queue.Queue[tuple[float, bytes]] = queue.Queue()
            for target, args in (
                (self._read_delayed, (client, pending)),
                (self._send_delayed, (pending, upstream)),
                (self._pump, (upstream, client)),
            ):
                threading.Thread(target=target, args=args, daemon=True).start()

    def _read_delayed(
        self, source: socket.socket, pending: queue.Queue[tuple[float, bytes]]
    ) -> None:
        while True:
            try:
                data = source.recv(CHUNK)
            except OSError:
                data = b""
            pending.put((time.monotonic() + self.delay_s, data))
            if not data:
                return

    @staticmethod
    def _send_delayed(pending: queue.Queue[tuple[float, bytes]], sink: socket.socket) -> None:
        while True:
            due, data = pending.get()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if not data:
                with contextlib.suppress(OSError):
                    sink.shutdown(socket.SHUT_WR)
                return
            try:
                sink.sendall(data)
            except OSError:
                return

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(CHUNK)
                if not data:
                    break
                sink.sendall(data)
            except OSError:
                break
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
