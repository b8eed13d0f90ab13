"""When orders may go out: the instrument's sessions, and blackout windows for every write."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from policy_service import reasons
from policy_service.domain.instrument_policy import PolicyKeyError
from policy_service.domain.model import Denial
from policy_service.domain.reference import ContractDetails, Session

STEP = 9
_DAYS: Final = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_CLOCK: Final = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])\Z")
_WEEKLY: Final = re.compile(r"^(MON|TUE|WED|THU|FRI|SAT|SUN) ([01][0-9]|2[0-3]):([0-5][0-9])\Z")
_WEEK_MIN: Final = 7 * 24 * 60


def iso(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC).isoformat(timespec="seconds")


def _next_start(sessions: Sequence[Session], now_us: int) -> str:
    later = [s.start_us for s in sessions if s.start_us > now_us]
    return iso(min(later)) if later else "none"


def session_denial(
    details: ContractDetails, now_us: int, outside_rth: bool, outside_rth_allowed: bool
) -> Denial | None:
    """In regular hours: fine. In extended hours: only if the order asks for outside-RTH and
    the policy allows it. Otherwise the market is closed."""
    if any(s.holds(now_us) for s in details.liquid):
        return None
    numbers = {"time_zone": details.time_zone, "now": iso(now_us)}
    if any(s.holds(now_us) for s in details.trading):
        if outside_rth and outside_rth_allowed:
            return None
        return Denial(
            reasons.OUTSIDE_REGULAR_HOURS,
            "FAILED_PRECONDITION",
            STEP,
            "outside regular trading hours: the order must ask for outside-RTH and the policy "
            "allow it",
            {
                **numbers,
                "outside_rth_requested": str(outside_rth).lower(),
                "outside_rth_allowed": str(outside_rth_allowed).lower(),
                "regular_opens_at": _next_start(details.liquid, now_us),
            },
        )
    return Denial(
        reasons.MARKET_CLOSED,
        "FAILED_PRECONDITION",
        STEP,
        "the instrument is not trading now",
        {**numbers, "next_open": _next_start(details.trading, now_us)},
    )


@dataclass(frozen=True)
class Blackout:
    """A window in which no write but a cancel goes out.

    kind "daily" and "weekly" repeat in TIME_ZONE (minutes of the day / of the week from Monday
    00:00, START to END, wrapping past midnight / the week's end); "once" is [start, end) UTC.
    """

    name: str
    kind: str
    start: int
    end: int
    time_zone: str = "UTC"

    def ends_at(self, now_us: int) -> int | None:
        """When the window that holds NOW_US ends, or None when none does."""
        if self.kind == "once":
            return self.end if self.start <= now_us < self.end else None
        local = dt.datetime.fromtimestamp(now_us / 1e6, tz=ZoneInfo(self.time_zone))
        period = 24 * 60 if self.kind == "daily" else _WEEK_MIN
        minute = local.hour * 60 + local.minute
        if self.kind == "weekly":
            minute += local.weekday() * 24 * 60
        length = (self.end - self.start) % period
        into = (minute - self.start) % period
        if into >= length:
            return None
        left = dt.timedelta(minutes=length - into, seconds=-local.second)
        end = local.replace(microsecond=0) + left
        return int(end.astimezone(dt.UTC).timestamp() * 1_000_000)


def blackout_denial(windows: Sequence[Blackout], now_us: int) -> Denial | None:
    for window in windows:
        ends = window.ends_at(now_us)
        if ends is not None:
            return Denial(
                reasons.BLACKOUT_WINDOW,
                "FAILED_PRECONDITION",
                STEP,
                f"blackout window {window.name}: only cancels go out until it ends",
                {"window": window.name, "ends_at": iso(ends), "now": iso(now_us)},
            )
    return None


def blackouts_from(raw: Any) -> tuple[Blackout, ...]:
    """The config's `blackouts` list; a bad entry raises PolicyKeyError naming it."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise PolicyKeyError("blackouts", "must be a list of windows")
    return tuple(_window(entry, f"blackouts[{i}]") for i, entry in enumerate(raw))


def _window(entry: Any, where: str) -> Blackout:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
        raise PolicyKeyError(f"{where}.name", "each window needs a name")
    kinds = [k for k in ("daily", "weekly", "once") if k in entry]
    if len(kinds) != 1 or not isinstance(entry[kinds[0]], Mapping):
        raise PolicyKeyError(where, "give exactly one of daily, weekly, once")
    kind, spec = kinds[0], entry[kinds[0]]
    key = f"{where}.{kind}"
    if kind == "once":
        start, end = (
            _instant(spec.get("from"), f"{key}.from"),
            _instant(spec.get("to"), f"{key}.to"),
        )
        if end <= start:
            raise PolicyKeyError(f"{key}.to", "must be after from")
        return Blackout(entry["name"], kind, start, end)
    zone = str(spec.get("time_zone", "UTC"))
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PolicyKeyError(f"{key}.time_zone", f"unknown time zone {zone!r}") from exc
    parse = _minute_of_day if kind == "daily" else _minute_of_week
    start, end = parse(spec.get("from"), f"{key}.from"), parse(spec.get("to"), f"{key}.to")
    if start == end:
        raise PolicyKeyError(f"{key}.to", "must differ from from")
    return Blackout(entry["name"], kind, start, end, zone)


def _instant(value: Any, key: str) -> int:
    try:
        at = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise PolicyKeyError(key, f"must be an ISO 8601 time, got {value!r}") from exc
    if at.tzinfo is None:
        raise PolicyKeyError(key, "must name its offset (e.g. Z)")
    return int(at.timestamp() * 1_000_000)


def _minute_of_day(value: Any, key: str) -> int:
    match = _CLOCK.match(str(value))
    if not match:
        raise PolicyKeyError(key, f"must be HH:MM, got {value!r}")
    return int(match[1]) * 60 + int(match[2])


def _minute_of_week(value: Any, key: str) -> int:
    match = _WEEKLY.match(str(value).upper())
    if not match:
        raise PolicyKeyError(key, f"must be 'DAY HH:MM' (MON..SUN), got {value!r}")
    return _DAYS.index(match[1]) * 24 * 60 + int(match[2]) * 60 + int(match[3])
