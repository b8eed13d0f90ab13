"""One client connection: handshake, framing, and the read side of the TWS protocol."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import struct
import time

from gateway_sim.config import MIN_SERVER_VERSION
from gateway_sim.core import SimCore, log
from gateway_sim.handlers import HANDLERS, Handler
from gateway_sim.models import ReceivedMessage
from gateway_sim.protocol import (
    HANDSHAKE_PREFIX,
    IN_NAMES,
    MAX_FRAME_BYTES,
    Field,
    decode_payload,
    encode_frame,
    parse_version_range,
)
from gateway_sim.wire_out_misc import error

# A client that cannot keep up with this many queued frames is treated as dead.
MAX_QUEUED_FRAMES = 50_000
HANDSHAKE_TIMEOUT_S = 10.0


class ProtocolError(Exception):
    """The peer broke framing or the handshake; the connection must be closed."""


class Session:
    """Reads frames sequentially, dispatches them, and writes replies through a delay queue."""

    def __init__(
        self, core: SimCore, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.core = core
        self.reader = reader
        self.writer = writer
        self.version = 0
        self.client_id: int | None = None
        self.market_data_type = 1
        self.subscriptions: dict[int, str] = {}
        self.positions_subscribed = False
        self.account_subscription: str | None = None
        self._queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(MAX_QUEUED_FRAMES)
        self._writer_task: asyncio.Task[None] | None = None
        self.closing = False
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)

    @property
    def default_account(self) -> str:
        return self.core.config.accounts[0]

    # ---- lifecycle ---------------------------------------------------------------------

    async def run(self) -> None:
        self.core.connections.add(self)
        self._writer_task = asyncio.create_task(self._drain_queue())
        try:
            await asyncio.wait_for(self._handshake(), HANDSHAKE_TIMEOUT_S)
            while not self.closing:
                fields = await self._read_frame()
                self._dispatch(fields)
        except (asyncio.IncompleteReadError, ConnectionError):
            log.debug("connection %s closed by peer", self.peer)
        except (ProtocolError, TimeoutError) as exc:
            log.warning("closing connection %s: %s", self.peer, exc)
        finally:
            await self._shutdown()

    async def _shutdown(self) -> None:
        self.core.connections.discard(self)
        if self.client_id is not None and self.core.sessions.get(self.client_id) is self:
            del self.core.sessions[self.client_id]
        self.closing = True
        task = self._writer_task
        if task is not None and not task.done():
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(None)
            # asyncio.wait never raises, so a cancelled writer cannot break the shutdown.
            await asyncio.wait([task], timeout=5)
            task.cancel()
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 2)

    def abort(self) -> None:
        """Close the socket abruptly, like a gateway restart or network loss."""
        self.closing = True
        self.core.connections.discard(self)
        if self.client_id is not None and self.core.sessions.get(self.client_id) is self:
            del self.core.sessions[self.client_id]
        if self._writer_task is not None:
            self._writer_task.cancel()
        self.writer.transport.abort()

    def close_after_flush(self) -> None:
        self.closing = True
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    # ---- framing -----------------------------------------------------------------------

    async def _handshake(self) -> None:
        prefix = await self.reader.readexactly(len(HANDSHAKE_PREFIX))
        if prefix != HANDSHAKE_PREFIX:
            raise ProtocolError(f"bad handshake prefix {prefix!r}")
        (length,) = struct.unpack(">I", await self.reader.readexactly(4))
        if not 0 < length <= 256:
            raise ProtocolError(f"bad handshake length {length}")
        try:
            low, high = parse_version_range((await self.reader.readexactly(length)).decode())
        except (UnicodeDecodeError, ValueError) as exc:
            raise ProtocolError(f"bad version range: {exc}") from exc
        negotiated = min(high, self.core.config.max_server_version)
        if negotiated < max(low, MIN_SERVER_VERSION):
            raise ProtocolError(f"client range v{low}..{high} not supported")
        self.version = negotiated
        now = dt.datetime.now(dt.UTC).strftime("%Y%m%d %H:%M:%S UTC")
        self.send([negotiated, now])

    async def _read_frame(self) -> list[str]:
        (length,) = struct.unpack(">I", await self.reader.readexactly(4))
        if length > MAX_FRAME_BYTES:
            raise ProtocolError(f"frame of {length} bytes exceeds {MAX_FRAME_BYTES}")
        payload = await self.reader.readexactly(length)
        try:
            return decode_payload(payload)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ProtocolError(f"malformed frame: {exc}") from exc

    def send(self, fields: list[Field]) -> None:
        if self.closing and fields and fields[0] != 4:
            return
        answer = self.core.answers.current
        if answer is not None:
            # Part of an answer the fault API delays or drops as a whole.
            answer.frames.append((self, encode_frame(fields)))
            return
        self.enqueue(encode_frame(fields))

    def enqueue(self, frame: bytes) -> None:
        due = asyncio.get_running_loop().time() + self.core.delay
        try:
            self._queue.put_nowait((due, frame))
        except asyncio.QueueFull:
            log.warning("client %s is not reading; dropping connection", self.peer)
            self.abort()

    def send_error(self, req_id: int, code: int, message: str) -> None:
        self.send(error(req_id, code, message, self.version))

    async def _drain_queue(self) -> None:
        loop = asyncio.get_running_loop()
        queue = self._queue
        held: tuple[float, bytes] | None = None  # taken from the queue but not due yet
        while True:
            item = held if held is not None else await queue.get()
            held = None
            if item is None:
                return
            due, data = item
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            # Frames already queued and due go out in one write (one send, not one per frame):
            # the byte stream is the same and no frame leaves before its due time.
            batch = [data]
            closing = False
            while not queue.empty():
                queued = queue.get_nowait()
                if queued is None:
                    closing = True
                    break
                if queued[0] > loop.time():
                    held = queued
                    break
                batch.append(queued[1])
            self.writer.write(data if len(batch) == 1 else b"".join(batch))
            if closing:
                return
            if held is None and queue.empty():
                with contextlib.suppress(ConnectionError):
                    await self.writer.drain()

    # ---- dispatch ----------------------------------------------------------------------

    def _dispatch(self, fields: list[str]) -> None:
        msg_id = int(fields[0])
        name = IN_NAMES.get(msg_id, f"UNKNOWN_{msg_id}")
        self.core.received.append(
            ReceivedMessage(
                monotonic_ns=time.monotonic_ns(),
                wall_time=dt.datetime.now(dt.UTC),
                msg_id=msg_id,
                name=name,
                fields=list(fields),
                client_id=self.client_id if msg_id != 71 else _start_api_client_id(fields),
            )
        )
        handler: Handler | None = HANDLERS.get(msg_id)
        if handler is None:
            log.info("ignoring unsupported message %s from %s", name, self.peer)
            return
        if self.client_id is None and msg_id != 71:
            log.info("ignoring %s before startApi from %s", name, self.peer)
            return
        answer = self.core.answers.open(self, msg_id, fields)
        try:
            handler(self, fields)
        except (ValueError, IndexError) as exc:
            # A malformed request: tell the client like TWS does, keep the connection.
            log.warning("bad %s from client %s: %s", name, self.client_id, exc)
            req_id = int(fields[1]) if msg_id == 3 and fields[1].isdigit() else -1
            self.send_error(req_id, 320, f"Error reading request. {exc}")
        finally:
            if answer is not None:
                self.core.answers.close(answer)


def _start_api_client_id(fields: list[str]) -> int | None:
    return int(fields[2]) if len(fields) > 2 and fields[2].lstrip("-").isdigit() else None
