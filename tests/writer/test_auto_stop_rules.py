"""The writer's automatic-stop rules alone: defaults, leases, streaks, outages, the switch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from livegate_common.config import ConfigError
from policy_service import config as policy_config
from tests.policy.harness import policy_doc
from writer_service import auto_stops
from writer_service.auto_stops import AutoStops, AutoStopsConfig
from writer_service.auto_watch import RejectionStreak, SessionWatch
from writer_service.errors import WriterError, broker_rejected, broker_timeout
from writer_service.kill_switch import SwitchState, WriterKillSwitch


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _open_switch() -> WriterKillSwitch:
    switch = WriterKillSwitch(60.0)
    switch.sync(SwitchState.OPEN, "open", "policy", 4)
    return switch


def test_config_when_no_auto_stops_section_then_every_trigger_is_on() -> None:
    config = auto_stops.from_document({})
    assert [config.enabled(t) for t in auto_stops.TRIGGERS] == [True] * 4
    assert (config.session_lost_after_s, config.broker_rejections_count) == (30.0, 5)


def test_config_when_policy_has_no_auto_stops_section_then_audit_trigger_is_on(
    dev_pki: Path, tmp_path: Path
) -> None:
    doc: dict[str, Any] = policy_doc(dev_pki, tmp_path, 1, f"sqlite:///{tmp_path / 'p.db'}")
    del doc["auto_stops"]  # the harness turns it off for the other tests
    config = policy_config.from_document(doc, tmp_path)
    assert config.auto_stop_audit_write_failure is True


def test_config_when_rejection_count_is_zero_then_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"auto_stops\.broker_rejections\.count"):
        auto_stops.from_document({"auto_stops": {"broker_rejections": {"count": 0}}})


def test_trip_when_policy_resends_its_stored_open_then_writer_stays_closed_until_newer() -> None:
    switch = _open_switch()
    AutoStops(AutoStopsConfig(), switch).trip("session_lost", "lost", {})
    assert switch.sync(SwitchState.OPEN, "open", "policy", 4, resend=True).state is (
        SwitchState.CLOSED
    )
    assert switch.snapshot().reason.startswith("AUTO_STOP_SESSION_LOST: ")
    switch.sync(SwitchState.CLOSED, "auto", "policy", 5)  # the policy's recorded close
    assert switch.sync(SwitchState.OPEN, "reopened", "policy", 6).state is SwitchState.OPEN


def test_claim_when_not_acknowledged_then_handed_out_again_only_after_the_lease() -> None:
    clock = Clock()
    stops = AutoStops(AutoStopsConfig(claim_lease_s=5.0), _open_switch(), clock)
    trip = stops.trip("broker_rejections", "3 in a row", {"rejections": "3"})
    assert trip is not None
    assert [t.trip_id for t in stops.claim([])] == [trip.trip_id]
    assert stops.claim([]) == []  # another replica, within the lease
    clock.now += 5.0
    assert [t.trip_id for t in stops.claim([])] == [trip.trip_id]
    assert stops.claim([trip.trip_id]) == [] and stops.pending() == []


def test_trip_when_trigger_disabled_then_switch_stays_open_and_nothing_pending() -> None:
    switch = _open_switch()
    stops = AutoStops(AutoStopsConfig(broker_rejections=False), switch)
    assert stops.trip("broker_rejections", "3 in a row", {}) is None
    assert switch.is_open() and stops.pending() == []


def _write(streak: RejectionStreak, error: WriterError | None, op: str = "submit") -> None:
    try:
        with streak.watching(op):
            if error is not None:
                raise error
    except WriterError:
        pass


def test_rejections_when_other_errors_and_cancels_interleave_then_only_rejections_count() -> None:
    switch = _open_switch()
    stops = AutoStops(AutoStopsConfig(), switch)
    streak = RejectionStreak(stops, 3)
    _write(streak, broker_rejected(201, "no"))
    _write(streak, broker_timeout("the order", 1.0))  # not a broker verdict: neither way
    _write(streak, broker_rejected(201, "no"), op="cancel")  # a cancel does not count
    _write(streak, broker_rejected(201, "no"))
    assert switch.is_open()
    _write(streak, None)  # an accepted write resets the count
    _write(streak, broker_rejected(201, "no"))
    _write(streak, broker_rejected(201, "no"))
    assert switch.is_open()
    _write(streak, broker_rejected(201, "no"))
    assert not switch.is_open()
    assert [t.evidence["rejections"] for t in stops.pending()] == ["3"]


def test_session_watch_when_outage_outlasts_limit_then_trips_once_and_reconnect_rearms() -> None:
    clock = Clock()
    up = [True]
    stops = AutoStops(AutoStopsConfig(), _open_switch(), clock)
    watch = SessionWatch(stops, lambda: up[0], 30.0, clock)
    up[0] = False
    for step in (0.0, 29.9, 30.0, 60.0):
        clock.now = 100.0 + step
        watch.poll()
    assert [t.evidence["seconds_disconnected"] for t in stops.pending()] == ["30.0"]
    up[0] = True
    watch.poll()
    up[0] = False
    clock.now += 1
    watch.poll()
    clock.now += 29.0  # a second outage, shorter than the limit
    watch.poll()
    assert len(stops.pending()) == 1
