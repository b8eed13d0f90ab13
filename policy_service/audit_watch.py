"""Verifies the chain against the keyring, the anchors and this process's own appends; a broken
chain is an incident: the kill switch closes through its own close path, writer included."""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import Gauge
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from policy_service import reasons
from policy_service.audit_anchors import AnchorWriter
from policy_service.domain import model as m
from policy_service.domain.audit import SERVICE_PRINCIPAL
from policy_service.domain.audit_anchor import (
    AnchorInputs,
    AnchorJudgement,
    AnchorState,
    Reference,
    judge,
)
from policy_service.domain.audit_manifest import manifest_digest
from policy_service.domain.audit_verify import ChainWalk, Problem
from policy_service.domain.killswitch import KillSwitchService
from policy_service.domain.ports import Clock
from policy_service.storage import audit_store
from policy_service.storage.audit_export import file_sha256, load_manifest

log = logging.getLogger("livegate.audit.verify")

CHAIN_BROKEN = Gauge("livegate_audit_chain_broken", "1 when the last verification found a break")
VERIFIED_HEAD = Gauge("livegate_audit_verified_event_id", "newest event the last check verified")


@dataclass(frozen=True)
class AuditVerdict:
    """OK only when the chain verifies and the anchors are current; BROKEN is an incident."""

    problem: Problem | None
    events_checked: int
    head_event_id: int
    head_link: str
    purged_through: int
    key_ids: tuple[str, ...]
    anchors: AnchorJudgement

    @property
    def broken(self) -> bool:
        return self.problem is not None

    @property
    def ok(self) -> bool:
        return not self.broken and self.anchors.state is AnchorState.CURRENT

    @property
    def reported_problem(self) -> str:
        """The problem to show: the break, else why the anchors are not current."""
        if self.problem is not None:
            return self.problem.code
        return {
            AnchorState.MISSING: reasons.AUDIT_ANCHOR_MISSING,
            AnchorState.BEHIND: reasons.AUDIT_ANCHOR_BEHIND,
        }.get(self.anchors.state, "")


class AuditVerifier:
    def __init__(self, engine: Engine, anchors: AnchorWriter, clock: Clock, export_dir: Path):
        self._engine = engine
        self._anchors = anchors
        self._clock = clock
        self._export_dir = export_dir
        # An anchor may lag its event by up to one interval (and a write); twice is "behind".
        self.grace_us = int((2 * anchors.every_s + 1) * 1_000_000)

    def verify(self, resume: ChainWalk | None = None) -> tuple[AuditVerdict, ChainWalk]:
        chain = self._anchors.chain
        # What this process knows first, then the file, then the chain: each later read
        # includes everything the earlier one vouches for.
        written, appended = self._anchors.written(), chain.last()
        reading = self._anchors.file.read(chain)
        walk, head = audit_store.walk(self._engine, chain.keyring, resume)
        problem = walk.finish(
            head.last_event_id,
            head.last_hash,
            head.purged_through_event_id,
            head.purged_through_hash,
        )
        problem = problem or self._purge_export(walk, full=resume is None)
        judgement = judge(
            AnchorInputs(
                reading=reading,
                written=written,
                appended=Reference(appended.event_id, appended.link, appended.at_us)
                if appended
                else None,
                head_event_id=walk.next_id - 1,
                head_time_us=walk.last_time_us,
                purged_through=head.purged_through_event_id,
                now_us=self._clock.now_us(),
                grace_us=self.grace_us,
                link_at=lambda event_id: audit_store.link_at(self._engine, event_id),
                first_after=lambda after, through, at_us: audit_store.first_after(
                    self._engine, after, through, at_us
                ),
            )
        )
        verdict = AuditVerdict(
            problem=problem or judgement.problem,
            events_checked=walk.checked,
            head_event_id=walk.next_id - 1,
            head_link=walk.link,
            purged_through=head.purged_through_event_id,
            key_ids=tuple(walk.key_ids),
            anchors=judgement,
        )
        return verdict, walk

    def _purge_export(self, walk: ChainWalk, full: bool) -> Problem | None:
        """The export the last purge event names, when it is still here, is the one recorded:
        its manifest always; its file too on a full walk (a file may be large, and is only
        replaced by hand, so the minute's incremental check leaves it to the daily one)."""
        mark = walk.last_purge
        if mark is None or not mark.manifest_sha256:
            return None
        path = self._export_dir / f"audit-{mark.export_id}.manifest.json"
        if not path.exists():
            return None  # archived elsewhere: `livegate audit verify-export` checks it there
        manifest = load_manifest(path)
        if manifest is None or manifest_digest(manifest) != mark.manifest_sha256:
            return Problem(reasons.AUDIT_PURGE_EXPORT_MISMATCH, mark.event_id, mark.export_id)
        data = self._export_dir / str(manifest.get("file", ""))
        if full and data.is_file() and file_sha256(data) != manifest.get("sha256"):
            return Problem(
                reasons.AUDIT_PURGE_EXPORT_MISMATCH, mark.event_id, f"{mark.export_id}: file"
            )
        return None


class AuditWatch:
    """On demand a full walk; on schedule from where the last good check ended, and in full
    every FULL_EVERY_US. A new break closes the kill switch once (per break and process)."""

    def __init__(
        self,
        verifier: AuditVerifier,
        switch: KillSwitchService,
        clock: Clock,
        full_every_us: int,
    ):
        self._verifier = verifier
        self._switch = switch
        self._clock = clock
        self._full_every_us = full_every_us
        self._lock = threading.Lock()
        self._resume: ChainWalk | None = None
        self._last_full_us = 0
        self._acted: tuple[str, int] | None = None

    def check(self) -> AuditVerdict:
        """A full verification (VerifyAudit); acts on a break like the schedule does."""
        with self._lock:
            return self._run(full=True)

    def passes(self) -> tuple[bool, dict[str, str]]:
        """A full verification for a reopen: whether it passed (as VerifyAudit's ok), and
        what it found. A chain that cannot be read does not pass."""
        try:
            verdict = self.check()
        except SQLAlchemyError:
            log.exception("audit verification could not read the chain")
            return False, {"audit_problem": reasons.AUDIT_UNAVAILABLE}
        return verdict.ok, {
            "audit_problem": verdict.reported_problem,
            "anchor_state": verdict.anchors.state.value,
            "audit_head_event_id": str(verdict.head_event_id),
        }

    def scheduled(self) -> AuditVerdict:
        with self._lock:
            due = self._clock.now_us() - self._last_full_us >= self._full_every_us
            return self._run(full=due or self._resume is None)

    def _run(self, full: bool) -> AuditVerdict:
        started = self._clock.now_us()
        verdict, walk = self._verifier.verify(None if full else self._resume)
        self._resume = None if verdict.broken else walk
        if full and not verdict.broken:
            self._last_full_us = started
        CHAIN_BROKEN.set(1 if verdict.broken else 0)
        VERIFIED_HEAD.set(verdict.head_event_id)
        if verdict.problem is not None:
            self._incident(verdict.problem)
        elif not verdict.ok:
            log.warning(
                "audit anchors not current",
                extra={"state": verdict.anchors.state.value,
                       "anchored_event_id": verdict.anchors.anchored_event_id,
                       "unanchored_events": verdict.anchors.unanchored_events},
            )  # fmt: skip
        return verdict

    def _incident(self, problem: Problem) -> None:
        log.critical(
            "audit chain broken",
            extra={"problem": problem.code, "event_id": problem.event_id,
                   "detail": problem.detail},
        )  # fmt: skip
        if self._acted == (problem.code, problem.event_id):
            return  # closed for this break already; an operator may have reopened knowingly
        call = m.Call(
            "AuditVerify",
            f"audit-{uuid.uuid4().hex[:16]}",
            SERVICE_PRINCIPAL,
            frozenset({"killswitch.operate"}),
        )
        reason = f"AUDIT_CHAIN_BROKEN: {problem.code} at event {problem.event_id}"
        result = self._switch.set(call, m.SwitchState.CLOSED, reason, False)
        if isinstance(result, m.Denial):
            log.critical("could not close the kill switch", extra={"reason": result.reason})
            return
        self._acted = (problem.code, problem.event_id)
