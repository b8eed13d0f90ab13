"""The client's reason table stays equal to the gate's catalogue; unknown reasons still land."""

from __future__ import annotations

import ast
from pathlib import Path

import grpc
import pytest

import livegate_client
from livegate_api.v1 import common_pb2, policy_pb2
from livegate_client import models
from livegate_client.errors import FAMILY_CLASSES, LivegateError, WriterError
from livegate_client.reasons import REASON_FAMILIES, Family, family_of, is_retryable
from livegate_common.identity import REASON_UNMAPPED
from livegate_common.malformed import REASON_MALFORMED
from policy_service import reasons as policy_reasons

CLIENT_DIR = Path(livegate_client.__file__).parent


def _gate_reasons() -> set[str]:
    names = {n for n in dir(policy_reasons) if n.isupper() and not n.startswith("_")}
    return {getattr(policy_reasons, n) for n in names} | {REASON_UNMAPPED, REASON_MALFORMED}


def test_reason_table_when_compared_with_the_gate_catalogue_then_every_reason_has_a_family() -> (
    None
):
    missing = _gate_reasons() - set(REASON_FAMILIES)
    assert not missing, f"reasons without a family in livegate_client/reasons.py: {missing}"


def test_reason_table_when_compared_with_the_gate_catalogue_then_it_names_no_stale_reason() -> None:
    stale = set(REASON_FAMILIES) - _gate_reasons()
    assert not stale, f"livegate_client/reasons.py names reasons the gate no longer sends: {stale}"


@pytest.mark.parametrize(
    ("reason", "step", "code", "family"),
    [
        ("BROKER_REJECTED", 11, grpc.StatusCode.FAILED_PRECONDITION, Family.WRITER),
        ("SOME_NEW_LIMIT", 9, grpc.StatusCode.FAILED_PRECONDITION, Family.LIMITS),
        ("SOME_NEW_SCOPE_RULE", 0, grpc.StatusCode.PERMISSION_DENIED, Family.SCOPE),
        ("SOME_NEW_THING", 0, grpc.StatusCode.FAILED_PRECONDITION, Family.UNKNOWN),
        ("", 0, grpc.StatusCode.UNAVAILABLE, Family.TRANSPORT),
        # A known reason wins over its step (previews ask the writer at step 8).
        ("WRITER_UNAVAILABLE", 8, grpc.StatusCode.UNAVAILABLE, Family.WRITER),
    ],
)
def test_family_when_reason_is_unknown_then_step_then_code_decide(
    reason: str, step: int, code: grpc.StatusCode, family: Family
) -> None:
    assert family_of(reason, step, code) is family
    assert issubclass(FAMILY_CLASSES[family], LivegateError)


def test_error_when_a_writer_reason_is_relayed_then_it_is_a_writer_error_with_its_numbers() -> None:
    cls = FAMILY_CLASSES[family_of("BROKER_REJECTED", 11, grpc.StatusCode.FAILED_PRECONDITION)]
    err = cls(
        code=grpc.StatusCode.FAILED_PRECONDITION, reason="BROKER_REJECTED", message="201",
        metadata={"gate_step": "11", "broker_error_code": "201"}, request_id="r1",
    )  # fmt: skip
    assert isinstance(err, WriterError) and err.gate_step == 11
    assert err.metadata["broker_error_code"] == "201" and not err.retryable


@pytest.mark.parametrize(
    ("reason", "code", "retryable"),
    [
        ("IDEMPOTENCY_IN_PROGRESS", grpc.StatusCode.UNAVAILABLE, True),
        ("IDEMPOTENCY_IN_PROGRESS", grpc.StatusCode.ABORTED, True),  # issue 15's status
        ("WRITER_OUTCOME_UNKNOWN", grpc.StatusCode.UNAVAILABLE, True),
        ("OUTCOME_NOT_RECORDED", grpc.StatusCode.UNAVAILABLE, True),
        ("WRITER_UNAVAILABLE", grpc.StatusCode.UNAVAILABLE, True),
        ("", grpc.StatusCode.UNAVAILABLE, True),
        ("", grpc.StatusCode.DEADLINE_EXCEEDED, True),  # the attempt's own deadline
        ("KILL_SWITCH_CLOSED", grpc.StatusCode.FAILED_PRECONDITION, False),
        ("IDEMPOTENCY_KEY_REUSED", grpc.StatusCode.ALREADY_EXISTS, False),
        ("WRITER_REFUSED", grpc.StatusCode.FAILED_PRECONDITION, False),
    ],
)
def test_retryable_when_answer_leaves_the_outcome_open_then_true(
    reason: str, code: grpc.StatusCode, retryable: bool
) -> None:
    assert is_retryable(reason, code) is retryable


@pytest.mark.parametrize(
    ("client_enum", "proto_enum", "prefix"),
    [
        (models.Action, common_pb2.Action, "ACTION_"),
        (models.OrderType, common_pb2.OrderType, "ORDER_TYPE_"),
        (models.TimeInForce, common_pb2.TimeInForce, "TIME_IN_FORCE_"),
        (models.SecType, common_pb2.SecType, "SEC_TYPE_"),
        (models.KillSwitchState, common_pb2.KillSwitchState, "KILL_SWITCH_STATE_"),
        (models.BracketLeg, common_pb2.BracketLeg, "BRACKET_LEG_"),
        (models.PreviewKind, policy_pb2.PreviewKind, "PREVIEW_KIND_"),
        (models.WriterSwitchState, policy_pb2.WriterSwitchState, "WRITER_SWITCH_STATE_"),
        (models.LeaseState, policy_pb2.LeaseState, "LEASE_STATE_"),
    ],
)
def test_client_enums_when_compared_with_the_contract_then_names_and_numbers_match(
    client_enum: type, proto_enum: object, prefix: str
) -> None:
    wire = {
        name.removeprefix(prefix): number
        for name, number in proto_enum.items()  # type: ignore[attr-defined]
    }
    assert {member.name: member.value for member in client_enum} == wire  # type: ignore[attr-defined]


def _names_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    imports = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    modules = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    return names | attrs | imports | modules


@pytest.mark.parametrize("module", ["retry.py", "base.py", "client.py", "aio.py"])
def test_retry_loops_when_read_then_they_cannot_make_a_key(module: str) -> None:
    """The loops resend a request built before them; no key factory is within their reach."""
    seen = _names_in(CLIENT_DIR / module)
    assert not seen & {"new_key", "livegate_client.keys", "keys", "uuid", "uuid4"}, module
