"""Caller identity: the certificate's SAN, mapped by config to a principal and its scopes."""

from __future__ import annotations

import contextvars
import hashlib
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import grpc

from livegate_common.errors import status_with_reason
from livegate_common.interceptors import PerMethodInterceptor
from livegate_common.metrics import record_refusal
from livegate_common.refusals import PlumbingRefusal, RefusalSink, request_id_of

SAN_PROPERTY: Final = "x509_subject_alternative_name"
PEM_PROPERTY: Final = "x509_pem_cert"
REASON_UNMAPPED: Final = "PRINCIPAL_NOT_CONFIGURED"


@dataclass(frozen=True)
class Principal:
    name: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return scope in self.scopes


class PrincipalMap:
    """SAN -> principal. A SAN may belong to one principal only; config loading enforces it."""

    def __init__(self, principals: Mapping[str, tuple[Iterable[str], Iterable[str]]]):
        by_san: dict[str, Principal] = {}
        for name, (sans, scopes) in principals.items():
            principal = Principal(name=name, scopes=frozenset(scopes))
            for san in sans:
                if san in by_san:
                    raise ValueError(f"SAN {san!r} is mapped to both {by_san[san].name} and {name}")
                by_san[san] = principal
        self._by_san = by_san

    def names(self) -> frozenset[str]:
        """Every principal's name (what an operator may name in a scoped stop)."""
        return frozenset(p.name for p in self._by_san.values())

    def resolve_sans(self, sans: Iterable[str]) -> Principal | None:
        for san in sans:
            principal = self._by_san.get(san)
            if principal is not None:
                return principal
        return None

    def resolve(self, context: grpc.ServicerContext) -> Principal | None:
        checked = _checked.get()
        if checked is not None and checked[0] is self:
            return checked[1]  # this call's interceptor already resolved it
        return self.resolve_sans(peer_sans(context))


# The principal RequireMappedPrincipal resolved for the call running in this context (and the
# map it used), so the servicer does not parse the peer's certificate properties a second time.
_checked: contextvars.ContextVar[tuple[PrincipalMap, Principal] | None] = contextvars.ContextVar(
    "livegate_checked_principal", default=None
)


def peer_sans(context: grpc.ServicerContext) -> list[str]:
    values: bytes | Iterable[bytes] = context.auth_context().get(SAN_PROPERTY) or []
    if isinstance(values, bytes):
        values = [values]
    return [v.decode("utf-8", "replace") for v in values]


def peer_cert_sha256(context: grpc.ServicerContext) -> str:
    """sha256 (hex) of the peer certificate's DER, or "" if the transport did not give one."""
    values: bytes | Iterable[bytes] = context.auth_context().get(PEM_PROPERTY) or []
    pem = values if isinstance(values, bytes) else next(iter(values), b"")
    try:
        der = ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return ""
    return hashlib.sha256(der).hexdigest()


class RequireMappedPrincipal(PerMethodInterceptor):
    """Refuses every call, health and reflection included, from a SAN the config does not map.

    The TLS layer already refused clients without a certificate from our CA; this closes the
    gap of a valid certificate that names nobody we know.
    """

    def __init__(self, principals: PrincipalMap, on_refusal: RefusalSink):
        super().__init__()
        self._principals = principals
        self._on_refusal = on_refusal

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        return _wrap(handler, lambda ctx: self._check(ctx, method))

    def _check(self, context: grpc.ServicerContext, method: str) -> contextvars.Token[Any]:
        sans = peer_sans(context)
        principal = self._principals.resolve_sans(sans)
        if principal is not None:
            return _checked.set((self._principals, principal))
        message = "the client certificate's SAN is not mapped to a principal"
        # The fingerprint tells apart certificates whose SANs are alike (or absent).
        metadata = {"sans": ",".join(sans)[:256], "cert_sha256": peer_cert_sha256(context)}
        record_refusal(REASON_UNMAPPED)
        self._on_refusal(
            PlumbingRefusal(
                method=method, sans=tuple(sans), code="PERMISSION_DENIED",
                reason=REASON_UNMAPPED, message=message, step=1,
                request_id=request_id_of(context.invocation_metadata()), metadata=metadata,
            )
        )  # fmt: skip
        context.abort_with_status(
            status_with_reason(
                grpc.StatusCode.PERMISSION_DENIED, REASON_UNMAPPED, message, metadata
            )
        )
        raise AssertionError("abort_with_status returns only by raising")


def _wrap(
    handler: grpc.RpcMethodHandler,
    check: Callable[[grpc.ServicerContext], contextvars.Token[Any]],
) -> grpc.RpcMethodHandler:
    def guard(behavior: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(request_or_iterator: Any, context: grpc.ServicerContext) -> Any:
            token = check(context)  # aborts the call unless the SAN is mapped
            try:
                return behavior(request_or_iterator, context)
            finally:
                _checked.reset(token)

        return guarded

    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(guard(handler.unary_unary), **kwargs)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(guard(handler.unary_stream), **kwargs)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(guard(handler.stream_unary), **kwargs)
    if handler.stream_stream:
        return grpc.stream_stream_rpc_method_handler(guard(handler.stream_stream), **kwargs)
    return handler
