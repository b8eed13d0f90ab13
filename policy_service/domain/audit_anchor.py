"""Anchors: keyed checkpoints of the chain kept outside the database, and what they prove."""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field

from policy_service import reasons
from policy_service.domain.audit_keys import Keyring
from policy_service.domain.audit_verify import Problem

# Domain separation: an anchor's MAC can never be taken for an event's link, nor the reverse.
_DOMAIN = b"livegate-audit-anchor-v1\n"
# Anchors kept in memory for the search back to the last one that still matches.
RECENT_ANCHORS = 10_000


@dataclass(frozen=True)
class Anchor:
    """Event EVENT_ID had link LINK at AT_US. Anchors form a chain of their own (seq, prev_mac),
    so a file that lost anchors in the middle, or one edited, shows it."""

    seq: int
    event_id: int
    link: str
    event_key_id: str
    at_us: int
    key_id: str
    prev_mac: str
    mac: str = ""

    def body(self) -> dict[str, object]:
        body = asdict(self)
        del body["mac"]
        return body

    def to_line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")) + "\n"


def _mac(key: bytes, anchor: Anchor) -> str:
    text = json.dumps(anchor.body(), sort_keys=True, separators=(",", ":"))
    return hmac.new(key, _DOMAIN + text.encode(), hashlib.sha256).hexdigest()


def sign(
    keyring: Keyring,
    prev: Anchor | None,
    event_id: int,
    link: str,
    event_key_id: str,
    at_us: int,
) -> Anchor:
    unsigned = Anchor(
        seq=prev.seq + 1 if prev else 1,
        event_id=event_id,
        link=link,
        event_key_id=event_key_id,
        at_us=at_us,
        key_id=keyring.current_id,
        prev_mac=prev.mac if prev else "",
    )
    return Anchor(**{**asdict(unsigned), "mac": _mac(keyring.current, unsigned)})


@dataclass(frozen=True)
class AnchorReading:
    """What an anchor file holds: its newest valid anchor, the recent ones, the first bad one."""

    latest: Anchor | None = None
    recent: Sequence[Anchor] = ()
    count: int = 0
    invalid: Problem | None = None


def read_anchors(lines: Iterable[str], keyring: Keyring) -> AnchorReading:
    """Parse and check every complete line; stops at the first that is not a valid next anchor.

    A last line without its newline is a write cut short by a crash (the file is fsynced after
    each whole line): it is skipped, never taken for tampering.
    """
    recent: deque[Anchor] = deque(maxlen=RECENT_ANCHORS)
    prev: Anchor | None = None
    count = 0
    for line in lines:
        if not line.endswith("\n") or not line.strip():
            continue
        anchor, problem = _parse(line, keyring, prev)
        if problem is not None:
            return AnchorReading(prev, tuple(recent), count, problem)
        assert anchor is not None
        prev = anchor
        recent.append(anchor)
        count += 1
    return AnchorReading(prev, tuple(recent), count, None)


def _parse(
    line: str, keyring: Keyring, prev: Anchor | None
) -> tuple[Anchor | None, Problem | None]:
    after = prev.event_id + 1 if prev else 0
    try:
        anchor = Anchor(**json.loads(line))
    except (ValueError, TypeError):
        return None, Problem(reasons.AUDIT_ANCHOR_INVALID, after, "unreadable anchor line")
    key = keyring.get(anchor.key_id)
    if key is None or not hmac.compare_digest(_mac(key, anchor), anchor.mac):
        return None, Problem(reasons.AUDIT_ANCHOR_INVALID, anchor.event_id, f"seq={anchor.seq}")
    expected_seq, expected_prev = (prev.seq + 1, prev.mac) if prev else (1, "")
    if anchor.seq != expected_seq or anchor.prev_mac != expected_prev:
        return None, Problem(
            reasons.AUDIT_ANCHOR_INVALID, anchor.event_id, f"seq={anchor.seq} out of sequence"
        )
    return anchor, None


class AnchorState(enum.Enum):
    CURRENT = "CURRENT"
    BEHIND = "BEHIND"
    MISSING = "MISSING"
    REWOUND = "REWOUND"
    INVALID = "INVALID"


@dataclass(frozen=True)
class Reference:
    """A link this process knows the chain had: its last append, or its last anchor."""

    event_id: int
    link: str
    at_us: int


@dataclass(frozen=True)
class AnchorInputs:
    reading: AnchorReading
    written: Anchor | None  # the last anchor this process wrote
    appended: Reference | None  # the last event this process appended (committed)
    head_event_id: int
    head_time_us: int
    purged_through: int
    now_us: int
    grace_us: int
    link_at: Callable[[int], str | None] = field(repr=False)
    # The first event id in (after, through] that occurred after a time, or None: the events
    # a reference could not have seen, so the first one that can disagree with it.
    first_after: Callable[[int, int, int], int | None] = field(repr=False)


@dataclass(frozen=True)
class AnchorJudgement:
    state: AnchorState
    problem: Problem | None
    anchored_event_id: int
    anchored_at_us: int
    unanchored_events: int


def judge(inputs: AnchorInputs) -> AnchorJudgement:
    """Compare the chain with the anchors and with what this process itself appended."""
    reading, latest = inputs.reading, inputs.reading.latest
    anchored = latest.event_id if latest else inputs.purged_through
    base = (latest.event_id, latest.at_us) if latest else (0, 0)
    unanchored = max(0, inputs.head_event_id - anchored)

    def verdict(state: AnchorState, problem: Problem | None) -> AnchorJudgement:
        return AnchorJudgement(state, problem, base[0], base[1], unanchored)

    if reading.invalid is not None:
        return verdict(AnchorState.INVALID, reading.invalid)
    rewound = _rewound(inputs.written, latest)
    references = [r for r in (_ref(inputs.written), inputs.appended, _ref(latest)) if r]
    for ref in references:
        problem = _against(ref, inputs)
        if problem is not None:
            if rewound:
                problem = Problem(reasons.AUDIT_ANCHOR_REWOUND, problem.event_id, problem.code)
            return verdict(AnchorState.REWOUND if rewound else AnchorState.CURRENT, problem)
    if rewound:
        assert inputs.written is not None
        problem = Problem(reasons.AUDIT_ANCHOR_REWOUND, anchored + 1, f"wrote {inputs.written.seq}")
        return verdict(AnchorState.REWOUND, problem)
    return verdict(_freshness(inputs), None)


def _ref(anchor: Anchor | None) -> Reference | None:
    return Reference(anchor.event_id, anchor.link, anchor.at_us) if anchor else None


def _rewound(written: Anchor | None, latest: Anchor | None) -> bool:
    if written is None:
        return False
    if latest is None or latest.seq < written.seq:
        return True
    return latest.seq == written.seq and latest.mac != written.mac


def _against(ref: Reference, inputs: AnchorInputs) -> Problem | None:
    if ref.event_id <= inputs.purged_through:
        return None  # purged since: a recorded purge vouches for it
    head = inputs.head_event_id
    if ref.event_id > head:
        # Cut back to HEAD, and maybe appended to since: what came after the reference's time
        # on top of the cut is not what it saw either.
        later = inputs.first_after(inputs.purged_through, head, ref.at_us)
        return Problem(
            reasons.AUDIT_CHAIN_TRUNCATED,
            head + 1 if later is None else later,
            f"seen up to {ref.event_id}, head {head}",
        )
    if inputs.link_at(ref.event_id) == ref.link:
        return None
    # Every link verified, yet another one at this id: cut back and appended to again (only
    # the key's holder links events). The first event that can differ comes after the newest
    # anchor that still matches, and after the reference's own time.
    matching = inputs.purged_through
    for anchor in reversed(inputs.reading.recent):
        if anchor.event_id < ref.event_id and inputs.link_at(anchor.event_id) == anchor.link:
            matching = anchor.event_id
            break
    later = inputs.first_after(matching, ref.event_id, ref.at_us)
    return Problem(
        reasons.AUDIT_CHAIN_TRUNCATED,
        matching + 1 if later is None else later,
        f"anchored {ref.event_id}",
    )


def _freshness(inputs: AnchorInputs) -> AnchorState:
    latest, appended = inputs.reading.latest, inputs.appended
    stale_before = inputs.now_us - inputs.grace_us
    if latest is None:
        if appended is not None:
            return AnchorState.MISSING if appended.at_us < stale_before else AnchorState.CURRENT
        has_events = inputs.head_event_id > inputs.purged_through
        return (
            AnchorState.MISSING
            if has_events and inputs.head_time_us < stale_before
            else (AnchorState.CURRENT)
        )
    if appended is not None and appended.event_id > latest.event_id:
        return AnchorState.BEHIND if appended.at_us < stale_before else AnchorState.CURRENT
    return AnchorState.CURRENT
