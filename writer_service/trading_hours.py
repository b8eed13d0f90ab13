"""IB's tradingHours / liquidHours strings as sessions in UTC, in the contract's time zone."""

from __future__ import annotations

import datetime as dt
import re
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Session = tuple[dt.datetime, dt.datetime]

# Since API 9.72: "20180323:0400-20180323:2000;20180326:0400-20180326:2000;20180324:CLOSED".
_SPAN: Final = re.compile(r"^(\d{8}):(\d{4})-(\d{8}):(\d{4})\Z")
# Before: "20090507:0700-1830,1830-2330;20090508:CLOSED" (an end before its start is next day).
_DAY: Final = re.compile(r"^(\d{8}):((?:\d{4}-\d{4},?)+)\Z")
_CLOSED: Final = re.compile(r"^\d{8}:CLOSED\Z")
# Older gateways name a few zones by abbreviation with a gloss ("EST (Eastern Standard Time)").
_ALIASES: Final = {"EST": "US/Eastern", "CST": "US/Central", "MST": "US/Mountain",
                   "PST": "US/Pacific", "GMT": "Europe/London"}  # fmt: skip


class HoursError(ValueError):
    """The broker's hours or time zone cannot be read: no session can be trusted."""


def zone(time_zone: str) -> ZoneInfo:
    name = time_zone.split(" (", 1)[0].strip()
    try:
        return ZoneInfo(_ALIASES.get(name, name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise HoursError(f"unknown time zone {time_zone!r}") from exc


def _at(day: str, hhmm: str, tz: ZoneInfo) -> dt.datetime:
    try:
        local = dt.datetime.strptime(day + hhmm, "%Y%m%d%H%M").replace(tzinfo=tz)
    except ValueError as exc:
        raise HoursError(f"bad time {day}:{hhmm}") from exc
    return local.astimezone(dt.UTC)


def sessions(text: str, time_zone: str) -> list[Session]:
    """Every open session in TEXT, sorted, in UTC; CLOSED days and empty parts give none."""
    tz = zone(time_zone)
    out: list[Session] = []
    for part in (p.strip() for p in text.split(";")):
        if not part or _CLOSED.match(part):
            continue
        span = _SPAN.match(part)
        if span:
            out.append((_at(span[1], span[2], tz), _at(span[3], span[4], tz)))
            continue
        day = _DAY.match(part)
        if not day:
            raise HoursError(f"unreadable session {part[:40]!r}")
        for piece in filter(None, day[2].split(",")):
            start_hm, end_hm = piece.split("-")
            start, end = _at(day[1], start_hm, tz), _at(day[1], end_hm, tz)
            out.append((start, end if end > start else end + dt.timedelta(days=1)))
    for start, end in out:
        if end <= start:
            raise HoursError(f"session ends before it starts: {start}..{end}")
    return sorted(out)
