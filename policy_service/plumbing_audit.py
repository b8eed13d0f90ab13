"""Audits the refusals the shared plumbing decides before the servicer runs (steps 1 and 2)."""

from __future__ import annotations

import uuid

from livegate_common.identity import PrincipalMap
from livegate_common.refusals import PlumbingRefusal, RefusalSink
from policy_service.domain import model as m
from policy_service.domain.gate import Gate


def audit_sink(gate: Gate, principals: PrincipalMap) -> RefusalSink:
    def audit(refusal: PlumbingRefusal) -> None:
        principal = principals.resolve_sans(refusal.sans)
        call = m.Call(
            method=refusal.method.rsplit("/", 1)[-1],
            request_id=refusal.request_id or uuid.uuid4().hex,
            # An unmapped caller has no principal; its SANs go into the event's detail.
            principal=principal.name if principal else "",
            scopes=principal.scopes if principal else frozenset(),
        )
        metadata = {**refusal.metadata, "sans": ",".join(refusal.sans)[:256]}
        gate.refuse(
            call, m.Denial(refusal.reason, refusal.code, refusal.step, refusal.message, metadata)
        )

    return audit
