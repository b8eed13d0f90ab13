"""Walking the audit chain: each link under its key, no gap, key changes only by rotation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from policy_service import reasons
from policy_service.domain.audit import (
    LEGACY_KEY_ID,
    PURGE_METHOD,
    ROTATION_METHOD,
    detail_of,
    event_hash,
    event_link,
)
from policy_service.domain.audit_keys import Keyring


@dataclass(frozen=True)
class Problem:
    """The first thing that does not verify, and the event it names."""

    code: str
    event_id: int
    detail: str = ""


@dataclass(frozen=True)
class PurgeMark:
    """What a purge event says it removed, and the export manifest that covered it."""

    event_id: int
    through_event_id: int
    through_link: str  # "" for a purge recorded before the chain was keyed
    manifest_sha256: str
    export_id: str


class ChainWalk:
    """Verifies events in id order from a known point; the watch keeps one to resume from.

    A keyed event's link is HMAC-SHA256(key[key_id], prev link + canonical JSON). Events from
    before the keyed chain (key id "", plain sha256) may only come first: the rotation event
    that starts the keyed chain names their last link, so none of them can change unseen.
    """

    def __init__(
        self,
        keyring: Keyring,
        after_id: int = 0,
        after_link: str = "",
        *,
        key_id: str | None = None,
    ):
        self.keyring = keyring
        self.next_id = after_id + 1
        self.link = after_link
        # The key of the segment walked so far; None at the start of a walk that begins after
        # a purge, where the key of the event before is not known (and need not be).
        self.key_id = key_id
        self.keyed_seen = bool(key_id)
        self.legacy_from = 0  # first id of the trailing run of unkeyed events, 0 if none
        self.checked = 0
        self.key_ids: list[str] = [key_id] if key_id else []
        self.last_purge: PurgeMark | None = None
        self.last_time_us = 0
        self.problem: Problem | None = None

    def feed_all(self, events: Iterable[Mapping[str, Any]]) -> Problem | None:
        for event in events:
            if not self.feed(event):
                break
        return self.problem

    def feed(self, event: Mapping[str, Any]) -> bool:
        """Check one event; False (and self.problem set) at the first that does not verify."""
        if self.problem is not None:
            return False
        event_id = int(event["event_id"])
        problem = self._check(event, event_id)
        if problem is not None:
            self.problem = problem
            return False
        key_id = str(event.get("key_id") or LEGACY_KEY_ID)
        if key_id == LEGACY_KEY_ID:
            self.legacy_from = self.legacy_from or event_id
        else:
            self.keyed_seen, self.legacy_from = True, 0
            if key_id not in self.key_ids:
                self.key_ids.append(key_id)
        if event["method"] == PURGE_METHOD:
            self.last_purge = _purge_mark(event, event_id)
        self.key_id, self.link = key_id, str(event["hash"])
        self.next_id, self.checked = event_id + 1, self.checked + 1
        self.last_time_us = int(event["occurred_at_us"])
        return True

    def _check(self, event: Mapping[str, Any], event_id: int) -> Problem | None:
        if event_id != self.next_id:
            return Problem(reasons.AUDIT_CHAIN_GAP, self.next_id, f"found {event_id}")
        if event["prev_hash"] != self.link:
            return Problem(reasons.AUDIT_CHAIN_BROKEN, event_id)
        key_id = str(event.get("key_id") or LEGACY_KEY_ID)
        if key_id == LEGACY_KEY_ID:
            if self.keyed_seen:
                return Problem(reasons.AUDIT_KEY_DOWNGRADE, event_id)
            if event_hash(event) != event["hash"]:
                return Problem(reasons.AUDIT_HASH_MISMATCH, event_id)
            return None
        key = self.keyring.get(key_id)
        if key is None:
            return Problem(reasons.AUDIT_KEY_UNKNOWN, event_id, f"key_id={key_id}")
        if event_link(key, event) != event["hash"]:
            return Problem(reasons.AUDIT_LINK_MISMATCH, event_id, f"key_id={key_id}")
        if self.key_id is not None and key_id != self.key_id and not self._rotation(event):
            return Problem(reasons.AUDIT_KEY_SWITCH_UNRECORDED, event_id, f"key_id={key_id}")
        return None

    def _rotation(self, event: Mapping[str, Any]) -> bool:
        """A key change is a rotation event naming the key before it and its last link."""
        if event["method"] != ROTATION_METHOD:
            return False
        detail = detail_of(event)
        return bool(
            detail.get("previous_key_id") == self.key_id
            and detail.get("previous_link") == self.link
        )

    def finish(
        self, head_event_id: int, head_link: str, purged_through: int, purged_link: str
    ) -> Problem | None:
        """After the last event: the head row, the newest event keyed, the purge pointer."""
        if self.problem is not None:
            return self.problem
        last_id = self.next_id - 1
        if last_id != head_event_id or self.link != head_link:
            self.problem = Problem(reasons.AUDIT_HEAD_MISMATCH, min(last_id, head_event_id) + 1)
        elif self.legacy_from:
            # Only the past may be unkeyed: a service with a keyring starts a keyed segment
            # before it appends anything, so an unkeyed tail was made by someone without it.
            self.problem = Problem(reasons.AUDIT_KEY_DOWNGRADE, self.legacy_from)
        else:
            self.problem = self._purge_problem(purged_through, purged_link)
        return self.problem

    def _purge_problem(self, purged_through: int, purged_link: str) -> Problem | None:
        mark = self.last_purge
        if mark is None:
            if purged_through == 0:
                return None
            return Problem(reasons.AUDIT_PURGE_UNRECORDED, 1, f"pointer={purged_through}")
        if mark.through_event_id == purged_through and mark.through_link in ("", purged_link):
            return None
        first = min(purged_through, mark.through_event_id) + 1
        return Problem(
            reasons.AUDIT_PURGE_UNRECORDED,
            first,
            f"pointer={purged_through} recorded={mark.through_event_id} by={mark.event_id}",
        )


def _purge_mark(event: Mapping[str, Any], event_id: int) -> PurgeMark:
    detail = detail_of(event)
    return PurgeMark(
        event_id=event_id,
        through_event_id=int(detail.get("purged_through_event_id", "0") or 0),
        through_link=str(detail.get("purged_through_link", "")),
        manifest_sha256=str(detail.get("manifest_sha256", "")),
        export_id=str(detail.get("export_id", "")),
    )
