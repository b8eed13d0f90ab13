"""Raw bytes on every method of both services: parseable bytes get a clear status, as must junk."""

from __future__ import annotations

from typing import Any, Final

import grpc
from google.protobuf.message import DecodeError, Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livegate_api.v1 import policy_pb2, writer_pb2
from tests.fuzz.checks import CALL_TIMEOUT_S, assert_clear_refusal, assert_serving
from tests.fuzz.policy_target import IDENTITIES, PolicyTarget
from tests.fuzz.writer_target import WriterTarget

raw_fuzz = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _methods(module: Any, service: str) -> list[tuple[str, type[Message]]]:
    desc = module.DESCRIPTOR.services_by_name[service]
    return [(m.name, getattr(module, m.input_type.name)) for m in desc.methods]


POLICY_METHODS: Final = _methods(policy_pb2, "PolicyService")
WRITER_METHODS: Final = _methods(writer_pb2, "WriterService")
# Every request message is proto3, so a field it does not define is kept as unknown, not refused.
UNKNOWN_FIELDS: Final = (b"\xb8\x3e\x01", b"\xba\x3e\x03abc", b"\xbd\x3e\x00\x00\x80\x3f")


def _parses(cls: type[Message], raw: bytes) -> bool:
    try:
        cls.FromString(raw)
    except DecodeError:
        return False
    return True


@st.composite
def parseable(draw: st.DrawFn, cls: type[Message]) -> bytes:
    """Bytes that decode as CLS: fields of any number and type, defined or not."""
    known = draw(st.sampled_from([b"", b"\x08\x01", b"\x10\xff\xff\xff\xff\x0f", b"\x0a\x00"]))
    extra = draw(st.lists(st.sampled_from(UNKNOWN_FIELDS), max_size=3))
    raw = known + b"".join(extra)
    return raw if _parses(cls, raw) else b"".join(extra)


def _raw(channel: grpc.Channel, service: str, method: str) -> Any:
    return channel.unary_unary(
        f"/livegate.v1.{service}/{method}", request_serializer=None, response_deserializer=None
    )


def _call(channel: grpc.Channel, service: str, method: str, raw: bytes) -> grpc.RpcError | None:
    try:
        _raw(channel, service, method)(raw, timeout=CALL_TIMEOUT_S)
    except grpc.RpcError as err:
        return err
    return None


def test_policy_when_bytes_decode_with_unknown_fields_then_clear_status(
    policy: PolicyTarget,
) -> None:
    @raw_fuzz
    @given(
        method=st.sampled_from(POLICY_METHODS), identity=st.sampled_from(IDENTITIES), data=st.data()
    )
    def run(method: tuple[str, type[Message]], identity: str, data: st.DataObject) -> None:
        raw = data.draw(parseable(method[1]))
        before, audit_before = policy.state(), policy.audit_count()
        channel = policy.harness.channels[IDENTITIES.index(identity)]
        err = _call(channel, "PolicyService", method[0], raw)
        if err is not None:
            assert_clear_refusal(err)
            assert policy.state() == before
            assert policy.audit_count() == audit_before + 1

    run()
    assert_serving(policy.harness.channels[0])


def test_writer_when_bytes_decode_with_unknown_fields_then_clear_status(
    writer: WriterTarget,
) -> None:
    @raw_fuzz
    @given(method=st.sampled_from(WRITER_METHODS), data=st.data())
    def run(method: tuple[str, type[Message]], data: st.DataObject) -> None:
        raw = data.draw(parseable(method[1]))
        writer.barrier()  # an earlier accepted write has reached the simulator (see barrier)
        before = writer.writes_at_broker()
        err = _call(writer.channel, "WriterService", method[0], raw)
        if err is not None:
            assert_clear_refusal(err)
            writer.barrier()
            assert writer.writes_at_broker() == before

    run()
    assert_serving(writer.channel)


junk = st.one_of(
    st.sampled_from([b"\xff\xff\xff\xff", b"\x0a\x05ab", b"\x0a\x02\xff\xfe", b"\x80"]),
    st.binary(min_size=1, max_size=300),
)


def test_both_services_when_bytes_are_not_protobuf_then_invalid_argument(
    policy: PolicyTarget, writer: WriterTarget
) -> None:
    targets = [
        ("PolicyService", name, cls, policy.harness.channels[0]) for name, cls in POLICY_METHODS
    ] + [("WriterService", name, cls, writer.channel) for name, cls in WRITER_METHODS]

    @settings(raw_fuzz, max_examples=40)
    @given(target=st.sampled_from(targets), data=st.data())
    def run(target: tuple[str, str, type[Message], grpc.Channel], data: st.DataObject) -> None:
        service, method, cls, channel = target
        raw = data.draw(junk.filter(lambda b: not _parses(cls, b)))
        before = (policy.state(), writer.writes_at_broker())
        audit_before = policy.audit_count()
        err = _call(channel, service, method, raw)
        assert err is not None, (service, method, raw)
        assert (policy.state(), writer.writes_at_broker()) == before
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (method, err.code(), err.details())
        assert_clear_refusal(err)
        # The policy service audits the refusal (step 2); the writer keeps no audit trail.
        expected = audit_before + (1 if service == "PolicyService" else 0)
        assert policy.audit_count() == expected

    run()
    assert_serving(policy.harness.channels[0])
    assert_serving(writer.channel)


def test_raw_strategies_when_drawn_then_cover_every_method() -> None:
    # The lists come from the descriptors: a method added to the contract is fuzzed too.
    assert {n for n, _ in POLICY_METHODS} >= {
        "SubmitOrder",
        "PurgeAudit",
        "GetBrokerOrder",
        "ConfirmReopen",
        "SetScopedStop",
        "RenewLease",
        "ReleaseLease",
    }
    assert {n for n, _ in WRITER_METHODS} >= {
        "SubmitOrder",
        "GetPermission",
        "GetQuote",
        "ClaimAutoStops",
    }
    assert len(POLICY_METHODS) == 22 and len(WRITER_METHODS) == 17
