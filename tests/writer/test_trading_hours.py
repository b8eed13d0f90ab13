"""IB's trading-hours strings, both formats, as sessions in UTC; anything unreadable refused."""

from __future__ import annotations

import datetime as dt

import pytest

from writer_service.trading_hours import HoursError, sessions

UTC = dt.UTC


def test_sessions_when_current_format_then_utc_spans_and_closed_days_skipped() -> None:
    text = "20260302:0930-20260302:1600;20260303:CLOSED;20260304:0930-20260304:1600"
    assert sessions(text, "US/Eastern") == [
        (dt.datetime(2026, 3, 2, 14, 30, tzinfo=UTC), dt.datetime(2026, 3, 2, 21, 0, tzinfo=UTC)),
        (dt.datetime(2026, 3, 4, 14, 30, tzinfo=UTC), dt.datetime(2026, 3, 4, 21, 0, tzinfo=UTC)),
    ]


def test_sessions_when_daylight_saving_then_offset_of_that_day() -> None:
    [(start, _end)] = sessions("20260309:0930-20260309:1600", "US/Eastern")  # after the switch
    assert start == dt.datetime(2026, 3, 9, 13, 30, tzinfo=UTC)


def test_sessions_when_legacy_format_then_overnight_piece_ends_next_day() -> None:
    assert sessions("20090507:1700-1600", "US/Central") == [
        (dt.datetime(2009, 5, 7, 22, 0, tzinfo=UTC), dt.datetime(2009, 5, 8, 21, 0, tzinfo=UTC))
    ]


def test_sessions_when_abbreviated_zone_with_gloss_then_read_as_that_zone() -> None:
    [(start, _end)] = sessions("20260302:0930-20260302:1600", "EST (Eastern Standard Time)")
    assert start == dt.datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("20260302:0930-20260302:1600", "Nowhere/Special"),
        ("2026-03-02 09:30", "US/Eastern"),
        ("20260302:1600-20260302:0930", "US/Eastern"),
        ("20261302:0930-20261302:1600", "US/Eastern"),
    ],
)
def test_sessions_when_unreadable_then_error_not_a_guess(text: str, zone: str) -> None:
    with pytest.raises(HoursError):
        sessions(text, zone)
