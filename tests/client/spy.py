"""Clients whose channel records the idempotency key of every attempt as it leaves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc

from livegate_client import AsyncClient, Client, TlsFiles
from livegate_client.channel import channel_options, secure_channel


class KeySpy:
    """(method, idempotency key) of every attempt, in the order they were sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def record(self, method: str | bytes, request: Any) -> None:
        name = method.decode() if isinstance(method, bytes) else method
        self.sent.append((name.rsplit("/", 1)[-1], getattr(request, "idempotency_key", "")))

    def keys(self, method: str) -> list[str]:
        return [key for name, key in self.sent if name == method]


class _SyncSpy(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, spy: KeySpy):
        self._spy = spy

    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        self._spy.record(details.method, request)
        return continuation(details, request)


class _AioSpy(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, spy: KeySpy):
        self._spy = spy

    async def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        self._spy.record(details.method, request)
        return await continuation(details, request)


def connect(
    pki: Path, port: int, identity: str, spy: KeySpy | None = None, **options: Any
) -> Client:
    channel = secure_channel(f"localhost:{port}", TlsFiles.from_dir(pki, identity))
    if spy is not None:
        channel = grpc.intercept_channel(channel, _SyncSpy(spy))
    return Client(channel, owns_channel=True, **options)


def connect_aio(
    pki: Path, port: int, identity: str, spy: KeySpy | None = None, **options: Any
) -> AsyncClient:
    channel = grpc.aio.secure_channel(
        f"localhost:{port}",
        TlsFiles.from_dir(pki, identity).credentials(),
        options=channel_options(),
        interceptors=[_AioSpy(spy)] if spy is not None else None,
    )
    return AsyncClient(channel, owns_channel=True, **options)
