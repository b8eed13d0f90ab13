"""The retry loop: the same request every attempt, jittered backoff, a total deadline."""

from __future__ import annotations

import time
from decimal import Decimal

import grpc
import pytest

from livegate_client import calls, keys, retry
from livegate_client.errors import LivegateError, from_rpc_error


class FakeRpcError(grpc.RpcError):
    """A failed call as grpc raises it: a code, details, no ErrorInfo."""

    def __init__(self, code: grpc.StatusCode):
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return "fake"

    def trailing_metadata(self) -> tuple[()]:
        return ()


def _decode(error: grpc.RpcError, attempts: int) -> LivegateError:
    return from_rpc_error(error, request_id="r", idempotency_key="k-12345678", attempts=attempts)


def test_call_when_unavailable_twice_then_resends_the_very_same_request_and_succeeds() -> None:
    spec = calls.submit_order("U1234567", "pv_1", "ap_1", None)
    seen: list[object] = []

    def send(timeout: float) -> str:
        seen.append(spec.request)
        if len(seen) < 3:
            raise FakeRpcError(grpc.StatusCode.UNAVAILABLE)
        return "ok"

    policy = retry.RetryPolicy(total_deadline_s=5, attempt_timeout_s=1, initial_backoff_s=0.01)
    assert retry.call(send, policy, _decode) == ("ok", 3)
    assert all(r is spec.request for r in seen)
    assert {r.idempotency_key for r in seen} == {spec.idempotency_key}  # type: ignore[attr-defined]


def test_call_when_the_refusal_is_decided_then_raises_after_one_attempt() -> None:
    attempts = []

    def send(timeout: float) -> str:
        attempts.append(timeout)
        raise FakeRpcError(grpc.StatusCode.FAILED_PRECONDITION)

    with pytest.raises(LivegateError) as refused:
        retry.call(send, retry.RetryPolicy(), _decode)
    assert len(attempts) == 1 and refused.value.attempts == 1


def test_call_when_unavailable_past_the_total_deadline_then_raises_the_last_error_in_time() -> None:
    policy = retry.RetryPolicy(total_deadline_s=0.5, attempt_timeout_s=0.2, initial_backoff_s=0.05)
    timeouts: list[float] = []

    def send(timeout: float) -> str:
        timeouts.append(timeout)
        raise FakeRpcError(grpc.StatusCode.UNAVAILABLE)

    started = time.monotonic()
    with pytest.raises(LivegateError) as failed:
        retry.call(send, policy, _decode)
    assert time.monotonic() - started < 0.5 + 0.1
    assert failed.value.retryable and failed.value.attempts == len(timeouts) > 2
    assert failed.value.idempotency_key == "k-12345678"
    assert max(timeouts) <= 0.2


def test_schedule_when_backing_off_then_delays_grow_with_jitter_up_to_the_cap() -> None:
    policy = retry.RetryPolicy(
        total_deadline_s=1000, attempt_timeout_s=1, initial_backoff_s=0.1, max_backoff_s=0.4
    )
    error = _decode(FakeRpcError(grpc.StatusCode.UNAVAILABLE), 1)
    for rng, bounds in ((lambda: 0.0, (0.05, 0.1, 0.2, 0.2)), (lambda: 1.0, (0.1, 0.2, 0.4, 0.4))):
        schedule = retry.Schedule(policy, rng=rng)
        delays = []
        for _ in bounds:
            schedule.next_timeout()
            delays.append(schedule.delay_after(error))
        assert delays == pytest.approx(list(bounds))


def test_write_specs_when_no_key_is_given_then_one_key_is_made_per_logical_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[str] = []

    def counting() -> str:
        made.append(keys.new_key())
        return made[-1]

    monkeypatch.setattr(calls, "new_key", counting)
    spec = calls.submit_order("U1234567", "pv_1", "ap_1", None)
    given = calls.cancel_order("U1234567", 7, "caller-key-1")
    assert made == [spec.idempotency_key] and given.idempotency_key == "caller-key-1"
    assert keys.KEY_PATTERN.fullmatch(spec.idempotency_key)


@pytest.mark.parametrize("bad", ["short", "has space in it", "x" * 65, "semi;colon-key"])
def test_write_specs_when_the_callers_key_is_outside_the_charset_then_value_error(
    bad: str,
) -> None:
    with pytest.raises(ValueError, match="idempotency key"):
        calls.submit_order("U1234567", "pv_1", "ap_1", bad)


def test_order_when_a_price_is_a_float_then_type_error_before_anything_is_sent() -> None:
    from livegate_client import Action, Order

    with pytest.raises(TypeError, match="Decimal"):
        calls.create_order_preview("U1", Order.limit("AAPL", Action.BUY, Decimal(1), 189.1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        calls.create_order_preview(
            "U1", Order.limit("AAPL", Action.BUY, Decimal("NaN"), Decimal(1))
        )
    spec = calls.create_order_preview(
        "U1", Order.limit("AAPL", Action.BUY, Decimal("1E+1"), Decimal("189.10"))
    )
    assert spec.request.order.quantity == "10" and spec.request.order.limit_price == "189.10"  # type: ignore[attr-defined]
