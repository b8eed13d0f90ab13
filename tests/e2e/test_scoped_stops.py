"""Scoped stops over the whole stack (simulator, OpenBao, the real writer; SQLite, and two
replicas on PostgreSQL): each scope refuses what it must and nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa

from livegate_api.v1 import common_pb2, policy_pb2, policy_pb2_grpc
from livegate_common import scopes
from tests.policy.conftest import pg, pg_url  # noqa: F401 - the PostgreSQL fixtures
from tests.policy.harness import AUDIT_EVERY_REFUSAL, meta_of, new_key, order_msg, reason_of
from tests.support.audit_rows import events_by_request
from tests.support.grpc_clients import channel_as
from tests.support.stack import RESTING_BUY, MakeStack, Replica, Stack, stack_factory
from tests.support.vault import DevVault

CLOSED = common_pb2.KILL_SWITCH_STATE_CLOSED
OPEN = common_pb2.KILL_SWITCH_STATE_OPEN
ACCOUNT_KIND = policy_pb2.SCOPE_KIND_ACCOUNT
PRINCIPAL_KIND = policy_pb2.SCOPE_KIND_PRINCIPAL
STRATEGY_KIND = policy_pb2.SCOPE_KIND_STRATEGY
A, B = "U1234567", "U7654321"
# operator2 also trades here: a second upstream caller for the principal scope.
UPSTREAM_SCOPES = [
    scopes.PREVIEW_CREATE, scopes.LIVE_SUBMIT, scopes.LIVE_CANCEL, scopes.LIVE_MODIFY,
    scopes.LIVE_BRACKET, scopes.KILLSWITCH_OPERATE, scopes.AUDIT_READ,
]  # fmt: skip
OVERRIDES = {
    **AUDIT_EVERY_REFUSAL,
    "audit.verify_interval_s": 3600,
    "principals.operator2.scopes": UPSTREAM_SCOPES,
}


@pytest.fixture
def make_stack(dev_pki: Path, tmp_path: Path, stack_vault: DevVault) -> Iterator[MakeStack]:
    with ExitStack() as cleanup:
        yield stack_factory(
            cleanup, dev_pki, tmp_path, stack_vault, policy_overrides=OVERRIDES, accounts=(A, B)
        )


def _stub(stack: Stack, identity: str, replica: Replica | None = None) -> Any:
    channel = channel_as(stack.pki, identity, (replica or stack.policy).port)
    stack.policy.channels.append(channel)  # closed with the replica
    return policy_pb2_grpc.PolicyServiceStub(channel)


def _rid() -> str:
    return f"rid-{uuid.uuid4().hex[:12]}"


def _set(
    stub: Any, kind: int, value: str, state: int, reason: str = "INC-9", rid: str = ""
) -> policy_pb2.SetScopedStopResponse:
    return stub.SetScopedStop(
        policy_pb2.SetScopedStopRequest(kind=kind, value=value, state=state, reason=reason),
        metadata=(("x-request-id", rid or _rid()),),
        timeout=30,
    )


def _reopen(stack: Stack, kind: int, value: str, replica: Replica | None = None) -> None:
    """The guarded way: one operator requests, a second confirms."""
    r = replica or stack.policy
    asked = _set(r.operator, kind, value, OPEN, "INC-9 resolved")
    assert asked.stop.state == CLOSED and asked.stop.reopen_requested_by == "operator"
    opened = _set(_stub(stack, "operator2", r), kind, value, OPEN, "checked")
    assert (opened.stop.state, opened.stop.changed_by) == (OPEN, "operator2")


def _approved(
    stack: Stack,
    account: str = A,
    strategy: str = "",
    upstream: Any = None,
    replica: Replica | None = None,
) -> tuple[str, str]:
    r = replica or stack.policy
    preview = (upstream or r.upstream).CreateOrderPreview(
        policy_pb2.CreateOrderPreviewRequest(
            account_id=account, order=order_msg("1", RESTING_BUY), strategy=strategy
        ),
        timeout=10,
    )
    approval = r.approver.ApprovePreview(
        policy_pb2.ApprovePreviewRequest(preview_id=preview.preview_id), timeout=10
    )
    return str(preview.preview_id), str(approval.approval_id)


def _submit(
    upstream: Any, account: str, ids: tuple[str, str], strategy: str = "", rid: str = ""
) -> policy_pb2.SubmitOrderResponse:
    return upstream.SubmitOrder(
        policy_pb2.SubmitOrderRequest(
            account_id=account, preview_id=ids[0], approval_id=ids[1],
            idempotency_key=new_key(), strategy=strategy,
        ),
        metadata=(("x-request-id", rid or _rid()),),
        timeout=15,
    )  # fmt: skip


def _cancelled(stack: Stack, upstream: Any, account: str, broker_order_id: int) -> list[str]:
    """Cancel through the gate; the order's status at the simulator afterwards."""
    upstream.CancelOrder(
        policy_pb2.CancelOrderRequest(
            account_id=account, broker_order_id=broker_order_id, idempotency_key=new_key()
        ),
        timeout=15,
    )
    return [o.status for o in stack.sim.orders() if o.order_id == broker_order_id]


def _refused(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def _events(stack: Stack, rid: str) -> list[dict[str, Any]]:
    return events_by_request(stack.db_url, rid)


def _stored_scopes(stack: Stack) -> int:
    engine = sa.create_engine(stack.db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM scoped_stops")).scalar_one())
    finally:
        engine.dispose()


def test_submit_when_account_a_is_stopped_then_a_is_refused_and_b_passes(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    up = stack.policy.upstream
    working = _submit(up, A, _approved(stack, A)).order.broker_order_id
    pending_b = _approved(stack, B)
    close_rid = _rid()
    closed = _set(stack.policy.operator, ACCOUNT_KIND, A, CLOSED, rid=close_rid)
    assert closed.stop.scope == stack.policy.service.gate.account_hash(A)
    assert A not in str(closed)  # the account is shown by its hash only

    err = _refused(lambda: _approved(stack, A))
    assert (reason_of(err), meta_of(err)["gate_step"]) == ("SCOPE_STOPPED_ACCOUNT", "6")
    assert meta_of(err)["scope"] == closed.stop.scope
    assert _submit(up, B, pending_b).order.status  # the other account trades on
    assert _cancelled(stack, up, A, working) == ["Cancelled"]  # cancels pass
    [event] = _events(stack, close_rid)
    assert (event["method"], event["principal"]) == ("SetScopedStop", "operator")
    assert event["detail"]["reason"] == "INC-9" and event["account_id_hash"] == closed.stop.scope
    status = stack.policy.upstream.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=10)
    assert [(s.kind, s.scope, s.state) for s in status.scoped_stops] == [
        (ACCOUNT_KIND, closed.stop.scope, CLOSED)
    ]


def test_submit_when_account_a_is_stopped_with_an_approved_preview_then_refused_at_step_6(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    ids = _approved(stack, A)
    _set(stack.policy.operator, ACCOUNT_KIND, A, CLOSED)
    rid = _rid()

    err = _refused(lambda: _submit(stack.policy.upstream, A, ids, rid=rid))

    assert (reason_of(err), meta_of(err)["gate_step"]) == ("SCOPE_STOPPED_ACCOUNT", "6")
    assert stack.broker_orders_with_ref(ids[0]) == []
    [event] = _events(stack, rid)
    assert (event["outcome"], event["reason"], event["gate_step"]) == (
        "REFUSED", "SCOPE_STOPPED_ACCOUNT", 6,
    )  # fmt: skip


def test_submit_when_a_principal_is_stopped_then_only_that_callers_writes_are_refused(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    up, other = stack.policy.upstream, _stub(stack, "operator2")
    working = _submit(up, A, _approved(stack)).order.broker_order_id
    _set(stack.policy.operator, PRINCIPAL_KIND, "upstream", CLOSED)

    err = _refused(lambda: _approved(stack))
    assert reason_of(err) == "SCOPE_STOPPED_PRINCIPAL"
    assert meta_of(err)["scope"] == "upstream"
    assert _submit(other, A, _approved(stack, upstream=other)).order.status  # another caller
    assert _cancelled(stack, up, A, working) == ["Cancelled"]  # its cancels pass


def test_approve_when_the_previews_creator_is_stopped_then_refused(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    preview = stack.preview()
    _set(stack.policy.operator, PRINCIPAL_KIND, "upstream", CLOSED)

    err = _refused(lambda: stack.approve(preview))

    assert (reason_of(err), meta_of(err)["scope"]) == ("SCOPE_STOPPED_PRINCIPAL", "upstream")


def test_submit_when_a_strategy_is_stopped_then_only_that_tag_is_refused(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    up = stack.policy.upstream
    tagged = _approved(stack, strategy="mean-rev.v2")
    working = _submit(up, A, _approved(stack, strategy="mean-rev.v2"), "mean-rev.v2")
    _set(stack.policy.operator, STRATEGY_KIND, "mean-rev.v2", CLOSED)

    err = _refused(lambda: _submit(up, A, tagged, "mean-rev.v2"))
    assert (reason_of(err), meta_of(err)["scope"]) == ("SCOPE_STOPPED_STRATEGY", "mean-rev.v2")
    assert reason_of(_refused(lambda: _approved(stack, strategy="mean-rev.v2"))) == (
        "SCOPE_STOPPED_STRATEGY"
    )
    assert _submit(up, A, _approved(stack, strategy="momo"), "momo").order.status
    assert _submit(up, A, _approved(stack)).order.status  # untagged
    assert _cancelled(stack, up, A, working.order.broker_order_id) == ["Cancelled"]


def test_submit_when_its_strategy_differs_from_the_previews_then_strategy_mismatch(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    ids = _approved(stack, strategy="alpha")

    err = _refused(lambda: _submit(stack.policy.upstream, A, ids, "beta"))
    untagged = _refused(lambda: _submit(stack.policy.upstream, A, ids))

    assert (reason_of(err), meta_of(err)["gate_step"]) == ("STRATEGY_MISMATCH", "8")
    assert (meta_of(err)["previewed"], meta_of(err)["requested"]) == ("alpha", "beta")
    assert reason_of(untagged) == "STRATEGY_MISMATCH"
    assert _submit(stack.policy.upstream, A, ids, "alpha").order.status


def test_cancel_when_every_scope_is_stopped_then_it_passes(make_stack: MakeStack) -> None:
    stack = make_stack()
    up = stack.policy.upstream
    working = _submit(up, A, _approved(stack, strategy="s1"), "s1").order.broker_order_id
    for kind, value in ((ACCOUNT_KIND, A), (PRINCIPAL_KIND, "upstream"), (STRATEGY_KIND, "s1")):
        _set(stack.policy.operator, kind, value, CLOSED)

    statuses = _cancelled(stack, up, A, working)

    assert statuses == ["Cancelled"]


def test_submit_when_approved_before_a_scope_close_then_revoked_after_its_reopen(
    make_stack: MakeStack,
    pg_url: str,  # noqa: F811 - the fixture imported above
) -> None:
    stack = make_stack(db_url=pg_url, replicas=2)
    first, second = stack.replicas
    before = _approved(stack, A, replica=first)
    other_account = _approved(stack, B, replica=first)
    rid = _rid()
    closed = _set(first.operator, ACCOUNT_KIND, A, CLOSED, rid=rid)
    assert closed.revoked_approvals == 1
    _reopen(stack, ACCOUNT_KIND, A, replica=second)

    err = _refused(lambda: _submit(second.upstream, A, before))

    assert (reason_of(err), meta_of(err)["approval_id"]) == ("APPROVAL_REVOKED", before[1])
    [event] = _events(stack, rid)
    assert event["detail"]["revoked_approval_ids"] == before[1]
    assert _submit(second.upstream, B, other_account).order.status  # another scope's approval
    assert _submit(second.upstream, A, _approved(stack, A, replica=second)).order.status


def test_submit_when_a_scope_is_closed_through_replica_one_then_replica_two_refuses(
    make_stack: MakeStack,
    pg_url: str,  # noqa: F811
) -> None:
    stack = make_stack(db_url=pg_url, replicas=2)
    first, second = stack.replicas
    _set(first.operator, STRATEGY_KIND, "grid", CLOSED)

    err = _refused(lambda: _approved(stack, strategy="grid", replica=second))

    assert reason_of(err) == "SCOPE_STOPPED_STRATEGY"
    status = second.operator.GetLiveStatus(policy_pb2.GetLiveStatusRequest(), timeout=10)
    assert [s.scope for s in status.scoped_stops] == ["grid"]
    _reopen(stack, STRATEGY_KIND, "grid", replica=second)
    assert _submit(first.upstream, A, _approved(stack, strategy="grid"), "grid").order.status


def test_open_scope_when_the_requester_confirms_alone_then_refused_and_still_closed(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    op = stack.policy.operator
    _set(op, ACCOUNT_KIND, A, CLOSED)
    rid = _rid()
    asked = _set(op, ACCOUNT_KIND, A, OPEN, reason="INC-9 resolved", rid=rid)

    err = _refused(lambda: _set(op, ACCOUNT_KIND, A, OPEN))

    assert asked.stop.state == CLOSED
    [event] = _events(stack, rid)
    assert (event["principal"], event["detail"]["reopen"]) == ("operator", "REQUESTED")
    assert (event["detail"]["reason"], event["detail"]["scope_state"]) == ("INC-9 resolved",
                                                                           "CLOSED")  # fmt: skip
    assert (err.code(), reason_of(err)) == (grpc.StatusCode.PERMISSION_DENIED,
                                            "REOPEN_SAME_OPERATOR")  # fmt: skip
    assert reason_of(_refused(lambda: _approved(stack, A))) == "SCOPE_STOPPED_ACCOUNT"
    _set(op, ACCOUNT_KIND, A, CLOSED)  # a close cancels the pending request
    again = _set(_stub(stack, "operator2"), ACCOUNT_KIND, A, OPEN)
    assert (again.stop.state, again.stop.reopen_requested_by) == (CLOSED, "operator2")
    not_stopped = _refused(lambda: _set(op, PRINCIPAL_KIND, "upstream", OPEN))
    assert (not_stopped.code(), reason_of(not_stopped)) == (
        grpc.StatusCode.NOT_FOUND, "SCOPE_NOT_STOPPED",
    )  # fmt: skip


BAD_INPUT = [
    (policy_pb2.SCOPE_KIND_UNSPECIFIED, A, "INVALID_ARGUMENT", "FIELD_REQUIRED"),
    (99, A, "INVALID_ARGUMENT", "FIELD_REQUIRED"),
    (ACCOUNT_KIND, "", "INVALID_ARGUMENT", "FIELD_REQUIRED"),
    (STRATEGY_KIND, "", "INVALID_ARGUMENT", "FIELD_REQUIRED"),
    (ACCOUNT_KIND, "U9999999", "NOT_FOUND", "SCOPE_ACCOUNT_NOT_ALLOWED"),
    (PRINCIPAL_KIND, "nobody", "NOT_FOUND", "SCOPE_PRINCIPAL_UNKNOWN"),
    (STRATEGY_KIND, "x" * 65, "INVALID_ARGUMENT", "FIELD_TOO_LONG"),
    (STRATEGY_KIND, "bad tag", "INVALID_ARGUMENT", "FIELD_INVALID"),
    (STRATEGY_KIND, "tag\u202e", "INVALID_ARGUMENT", "FIELD_INVALID"),
    (ACCOUNT_KIND, "U12-34", "INVALID_ARGUMENT", "FIELD_INVALID"),
    (PRINCIPAL_KIND, "p" * 129, "INVALID_ARGUMENT", "FIELD_TOO_LONG"),
]


def test_set_scoped_stop_when_input_is_bad_then_clear_status_and_nothing_stored(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    op = stack.policy.operator
    for kind, value, code, reason in BAD_INPUT:
        err = _refused(lambda k=kind, v=value: _set(op, k, v, CLOSED))  # type: ignore[misc]
        assert (err.code().name, reason_of(err)) == (code, reason), (kind, value)
    no_state = _refused(lambda: _set(op, STRATEGY_KIND, "fine", 0))
    assert reason_of(no_state) == "FIELD_REQUIRED"
    no_reason = _refused(lambda: _set(op, STRATEGY_KIND, "fine", CLOSED, reason=""))
    assert reason_of(no_reason) == "FIELD_REQUIRED"
    upstream = _refused(lambda: _set(stack.policy.upstream, STRATEGY_KIND, "fine", CLOSED))
    assert reason_of(upstream) == "SCOPE_MISSING"
    bad_tag = _refused(lambda: _approved(stack, strategy="a b"))
    assert (reason_of(bad_tag), meta_of(bad_tag)["field"]) == ("FIELD_INVALID", "strategy")
    assert _stored_scopes(stack) == 0
    assert _submit(stack.policy.upstream, A, _approved(stack)).order.status  # nothing stopped


def test_submit_when_another_caller_sends_a_stopped_principals_preview_then_refused(
    make_stack: MakeStack,
) -> None:
    """An approval that escaped the close's revocation (granted while the close was being
    stored) is still not sent by another caller: the preview's creator is checked at step 6."""
    stack = make_stack()
    preview_id = stack.preview()  # created by upstream
    _set(stack.policy.operator, PRINCIPAL_KIND, "upstream", CLOSED)
    engine = sa.create_engine(stack.db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:  # the approval a racing ApprovePreview stored after it
            conn.execute(
                sa.text(
                    "INSERT INTO approvals (approval_id, preview_id, approved_by, comment, "
                    "created_at_us, expires_at_us) VALUES ('ap_race', :p, 'approver', '', "
                    "1, 99999999999999999)"
                ),
                {"p": preview_id},
            )
    finally:
        engine.dispose()

    err = _refused(lambda: _submit(_stub(stack, "operator2"), A, (preview_id, "ap_race")))

    assert (reason_of(err), meta_of(err)["scope"]) == ("SCOPE_STOPPED_PRINCIPAL", "upstream")
    assert meta_of(err)["gate_step"] == "6"


def test_modify_and_bracket_when_their_strategy_is_stopped_then_refused_at_step_6(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    up, approver = stack.policy.upstream, stack.policy.approver
    working = _submit(up, A, _approved(stack, strategy="s"), "s").order.broker_order_id
    changes = common_pb2.OrderChanges(quantity="2")
    modify = up.CreateModifyPreview(
        policy_pb2.CreateModifyPreviewRequest(
            account_id=A, broker_order_id=working, changes=changes, strategy="s"
        ),
        timeout=10,
    )
    bracket = up.CreateBracketPreview(
        policy_pb2.CreateBracketPreviewRequest(
            account_id=A, action=common_pb2.ACTION_BUY, quantity="1", strategy="s",
            instrument=common_pb2.Instrument(symbol="AAPL", sec_type=common_pb2.SEC_TYPE_STOCK),
            entry_limit_price=RESTING_BUY, take_profit_price="190.00", stop_loss_price="188.00",
            time_in_force=common_pb2.TIME_IN_FORCE_DAY,
        ),
        timeout=10,
    )  # fmt: skip
    legs = [bracket.parent, bracket.take_profit, bracket.stop_loss]

    def approve(preview_id: str) -> str:
        request = policy_pb2.ApprovePreviewRequest(preview_id=preview_id)
        return str(approver.ApprovePreview(request, timeout=10).approval_id)

    modify_approval, leg_approvals = (
        approve(modify.preview_id),
        [approve(p.preview_id) for p in legs],
    )
    _set(stack.policy.operator, STRATEGY_KIND, "s", CLOSED)
    bracket_key = new_key()

    modified = _refused(lambda: up.ModifyOrder(
        policy_pb2.ModifyOrderRequest(
            account_id=A, broker_order_id=working, approval_id=modify_approval,
            preview_id=modify.preview_id, idempotency_key=new_key(), changes=changes,
            strategy="s",
        ),
        timeout=15,
    ))  # fmt: skip
    bracketed = _refused(lambda: up.SubmitBracket(
        policy_pb2.SubmitBracketRequest(
            account_id=A, parent_preview_id=legs[0].preview_id,
            take_profit_preview_id=legs[1].preview_id, stop_loss_preview_id=legs[2].preview_id,
            parent_approval_id=leg_approvals[0], take_profit_approval_id=leg_approvals[1],
            stop_loss_approval_id=leg_approvals[2], idempotency_key=bracket_key, strategy="s",
        ),
        timeout=15,
    ))  # fmt: skip

    for err in (modified, bracketed):
        assert (reason_of(err), meta_of(err)["gate_step"]) == ("SCOPE_STOPPED_STRATEGY", "6")
    assert stack.broker_orders_with_ref(bracket_key) == []
    [order] = [o for o in stack.sim.orders() if o.order_id == working]
    assert order.total_quantity == 1  # not modified
