"""A close the database cannot take (down, unwritable, or text it refuses) still closes."""

from __future__ import annotations

import json
import logging
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa

from livegate_api.v1 import common_pb2, policy_pb2
from tests.policy.harness import meta_of, reason_of
from tests.support.db_faults import FAULTS, database_fault
from tests.support.net import wait_until
from tests.support.stack import Stack, live_stack
from tests.support.vault import DevVault

CLOSED = common_pb2.KILL_SWITCH_STATE_CLOSED


def _close(stack: Stack, reason: str, request_id: str) -> policy_pb2.SetKillSwitchResponse:
    return stack.policy.operator.SetKillSwitch(  # type: ignore[no-any-return]
        policy_pb2.SetKillSwitchRequest(state=CLOSED, reason=reason),
        metadata=(("x-request-id", request_id),),
        timeout=30,
    )


def _close_events(stack: Stack, request_id: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(stack.db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT * FROM audit_events WHERE request_id = :r ORDER BY event_id"),
                {"r": request_id},
            )
            return [dict(r._mapping) for r in rows]
    finally:
        engine.dispose()


def _place_orders_since(stack: Stack, count: int) -> list[Any]:
    return [w for w in stack.sim.received_writes()[count:] if w.name == "PLACE_ORDER"]


@pytest.mark.parametrize("fault", FAULTS)
def test_close_when_database_cannot_store_it_then_replica_and_writer_closed_and_stored_later(
    fault: str,
    request: pytest.FixtureRequest,
    dev_pki: Path,
    tmp_path: Path,
    faults_vault: DevVault,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with ExitStack() as cleanup:
        db_url, unwritable = database_fault(fault, request, cleanup, tmp_path)
        stack = cleanup.enter_context(live_stack(dev_pki, tmp_path, faults_vault, db_url=db_url))
        approved = stack.approved()
        writes = len(stack.sim.received_writes())
        caplog.set_level(logging.CRITICAL, logger="livegate.policy.unaudited")
        with unwritable:
            with pytest.raises(grpc.RpcError) as said:
                _close(stack, "database drill", "close-unstored")
            err = said.value
            assert (err.code(), reason_of(err)) == (
                grpc.StatusCode.UNAVAILABLE,
                "KILL_SWITCH_CLOSE_NOT_STORED",
            )
            meta = meta_of(err)
            assert (meta["replica_state"], meta["writer_state"], meta["stored"]) == (
                "CLOSED",
                "CONFIRMED_CLOSED",
                "false",
            )
            assert not stack.writer.kill_switch.is_open()
            assert any(getattr(r, "request_id", "") == "close-unstored" for r in caplog.records), (
                "no CRITICAL line with the close's request id"
            )
            shown = stack.policy.operator.GetKillSwitch(policy_pb2.GetKillSwitchRequest())
            assert shown.state == CLOSED
            with pytest.raises(grpc.RpcError) as refused:
                stack.submit(*approved)
            assert reason_of(refused.value) == "KILL_SWITCH_CLOSED"
        # The database is back: the replica stays closed and the heartbeat stores the close.
        assert wait_until(lambda: bool(_close_events(stack, "close-unstored")), timeout_s=30)
        [event] = _close_events(stack, "close-unstored")
        detail = json.loads(event["detail"])
        # Stored late, it says what its caller was told.
        assert (event["method"], event["kill_switch_state"], event["reason"]) == (
            "SetKillSwitch",
            "CLOSED",
            "KILL_SWITCH_CLOSE_NOT_STORED",
        )
        assert (detail["writer_state"], detail["stored_late"]) == ("CONFIRMED_CLOSED", "true")
        assert stack.policy.service.store.kill_switch().state.value == "CLOSED"
        assert stack.policy.service.gate.latch.view() is None
        with pytest.raises(grpc.RpcError) as still:
            stack.submit(*approved)
        assert reason_of(still.value) == "KILL_SWITCH_CLOSED"
        assert not stack.writer.kill_switch.is_open()
        assert _place_orders_since(stack, writes) == []


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_close_when_reason_has_refused_characters_then_closed_stored_escaped_and_caller_told(
    backend: str,
    request: pytest.FixtureRequest,
    dev_pki: Path,
    tmp_path: Path,
    faults_vault: DevVault,
) -> None:
    """PostgreSQL refuses NUL in text: the close used to answer AUDIT_UNAVAILABLE, still OPEN."""
    db_url = request.getfixturevalue("pg_url") if backend == "postgres" else None
    with live_stack(dev_pki, tmp_path, faults_vault, db_url=db_url) as stack:
        writes = len(stack.sim.received_writes())
        approved = stack.approved()
        with pytest.raises(grpc.RpcError) as said:
            _close(stack, "stop\x00", "close-bad-text")
        err = said.value
        assert (err.code(), reason_of(err)) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "KILL_SWITCH_CLOSED_TEXT_REFUSED",
        )
        meta = meta_of(err)
        assert (meta["field"], meta["code_point"], meta["text_reason"]) == (
            "reason",
            "U+0000",
            "FIELD_INVALID",
        )
        assert (meta["replica_state"], meta["writer_state"], meta["stored"]) == (
            "CLOSED",
            "CONFIRMED_CLOSED",
            "true",
        )
        switch = stack.policy.service.store.kill_switch()
        assert (switch.state.value, switch.reason) == ("CLOSED", "stop<U+0000>")
        [event] = _close_events(stack, "close-bad-text")
        assert json.loads(event["detail"])["text_refused"] == "FIELD_INVALID"
        assert (event["outcome"], event["reason"]) == (
            "RECORDED",
            "KILL_SWITCH_CLOSED_TEXT_REFUSED",
        )
        assert str(event["event_id"]) == meta["audit_event_id"]
        assert not stack.writer.kill_switch.is_open()
        with pytest.raises(grpc.RpcError) as refused:
            stack.submit(*approved)
        assert reason_of(refused.value) == "KILL_SWITCH_CLOSED"
        assert _place_orders_since(stack, writes) == []
