"""Refusals decided by the plumbing, before a servicer runs, handed to whoever audits them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PlumbingRefusal:
    """One refused call: the full method path, the caller's SANs, and the status it got."""

    method: str
    sans: tuple[str, ...]
    code: str
    reason: str
    message: str
    # DESIGN.md's gate step: 1 for identity, 2 for shape.
    step: int
    request_id: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


RefusalSink = Callable[[PlumbingRefusal], None]


def request_id_of(metadata: object) -> str:
    """The caller's x-request-id, bounded, or "" (the sink makes one)."""
    for key, value in metadata or ():  # type: ignore[attr-defined]
        if key == "x-request-id" and isinstance(value, str):
            return value[:64]
    return ""
