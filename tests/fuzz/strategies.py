"""Hypothesis strategies shared by the fuzz tests: edge values, fields, orders, instruments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, TypeVar

from google.protobuf import timestamp_pb2
from hypothesis import strategies as st

from livegate_api.v1 import common_pb2

T = TypeVar("T")
ACCOUNT: Final = "U1234567"
# Placeholders a test replaces with ids the service issues just before the call.
FRESH_PREVIEW: Final = "fresh-preview"
FRESH_APPROVAL: Final = "fresh-approval"
FRESH: Final = (
    FRESH_PREVIEW,
    FRESH_APPROVAL,
    *(f"fresh-{leg}-{kind}" for kind in ("preview", "approval") for leg in ("pa", "tp", "sl")),
)
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# Decimals the contract refuses (and a few it accepts), as the brief lists them.
DECIMAL_EDGES: Final = (
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-inf",
    "1e400",
    "1E2",
    "0",
    "-0",
    "-1",
    "0.0000000001",
    "99999999999999999999999",
    " 1",
    "1 ",
    "1\n",
    "1,5",
    "",
    "١٢",
    "\uff11\uff12",
    "1_000",
    "+1",
    ".5",
    "5.",
    "0x10",
    "1" * 5000,
    "0." + "1" * 5000,
    "10",
    "100.00",
    "100.005",
    "0.5",
)
# Strings that break naive handling: huge, NUL, bidi controls, emoji, SQL, newlines.
TEXT_EDGES: Final = (
    "",
    " ",
    "\t",
    "\x00",
    "a\x00b",
    "x" * 10_000,
    "\u202eLIAM\u202c",
    "\u200f\u200e",
    "💥🚀" * 50,
    "AAPL\n",
    "AAPL\x00",
    "'; DROP TABLE previews; --",
    "' OR '1'='1",
    "%s%s%n",
    "../../etc/passwd",
    "\uff21\uff21\uff30\uff2c",
)
ID_EDGES: Final = (
    "",
    " ",
    "   ",
    "\n",
    "pv_" + "0" * 61,
    "pv_" + "0" * 62,
    "ap_deadbeef",
    "pv_deadbeef\n",
    "1; DELETE FROM approvals",
    "' OR 1=1 --",
    "%",
    "_",
    "k" * 65,
    "k" * 10_000,
    "\u202epv_1",
    "idem-key-0001",
    "idem-key-0001\n",
    "idem key 0001",
)
INT64_EDGES: Final = (0, -1, 1, INT64_MIN, INT64_MAX, INT32_MAX, INT32_MAX + 1, 2**53 + 1)

text = st.one_of(st.sampled_from(TEXT_EDGES), st.text(max_size=80))
decimals = st.one_of(
    st.sampled_from(DECIMAL_EDGES),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.from_regex(r"-?[0-9]{0,30}(\.[0-9]{0,20})?", fullmatch=True),
    st.text(alphabet="0123456789.-+eE ,_", max_size=40),
)
int64s = st.one_of(st.sampled_from(INT64_EDGES), st.integers(INT64_MIN, INT64_MAX))


def idents(*known: str) -> st.SearchStrategy[str]:
    """Ids: edge cases, random text, and ids the server really issued (so later steps run)."""
    options: list[st.SearchStrategy[str]] = [st.sampled_from(ID_EDGES), st.text(max_size=70)]
    if known:
        options.append(st.sampled_from(known))
    return st.one_of(*options)


def enums(values: Sequence[int]) -> st.SearchStrategy[int]:
    """Defined values, UNSPECIFIED, and numbers the contract never defined (proto3 keeps them)."""
    return st.one_of(
        st.sampled_from(list(values)),
        st.integers(INT32_MIN, INT32_MAX),
        st.sampled_from([0, -1, len(values) + 1, INT32_MAX, INT32_MIN]),
    )


accounts = st.one_of(st.just(ACCOUNT), st.sampled_from(["U7654321", "u1234567"]), text)
keys = st.one_of(
    st.sampled_from(ID_EDGES), st.from_regex(r"[A-Za-z0-9._:\-]{6,70}", fullmatch=True), text
)
symbols = st.one_of(st.sampled_from(["AAPL", "SPY", "BRK.B", "A-1", "A" * 16]), text)
timestamps = st.one_of(
    st.none(),
    st.builds(
        timestamp_pb2.Timestamp,
        seconds=st.one_of(st.integers(0, 4_000_000_000), int64s),
        nanos=st.one_of(st.integers(0, 999_999_999), st.integers(INT32_MIN, INT32_MAX)),
    ),
)

sec_types = enums([1, 2, 3, 4])
actions = enums([1, 2])
order_types = enums([1, 2, 3, 4])
tifs = enums([1, 2])
# The states SetKillSwitch (policy and writer) and SetScopedStop take: OPEN, CLOSED, REDUCING.
kill_switch_states = enums([1, 2, 3])


class Fields:
    """Most fields valid, one or two corrupted: so a fuzzed request reaches the later checks."""

    def __init__(self, draw: st.DrawFn, names: Sequence[str]):
        self._draw = draw
        # A quarter of examples keep every field valid: they probe the steps after shape.
        size = draw(st.sampled_from([0, 1, 1, 2]))
        self.bad = draw(st.sets(st.sampled_from(list(names)), min_size=size, max_size=size))

    def __call__(self, name: str, good: st.SearchStrategy[T], bad: st.SearchStrategy[T]) -> T:
        return self._draw(bad if name in self.bad else good)


good_quantity = st.sampled_from(["1", "5", "10"])
good_price = st.sampled_from(["100.00", "100.01", "99.99"])
good_key = st.from_regex(r"fz-[a-f0-9]{16}", fullmatch=True)


@st.composite
def instruments(draw: st.DrawFn) -> common_pb2.Instrument:
    f = Fields(draw, ["symbol", "sec_type", "exchange", "currency", "primary"])
    return common_pb2.Instrument(
        symbol=f("symbol", st.sampled_from(["AAPL", "SPY"]), symbols),
        sec_type=f("sec_type", st.sampled_from([1, 2]), sec_types),  # type: ignore[arg-type]
        exchange=f("exchange", st.sampled_from(["", "SMART"]), text),
        currency=f("currency", st.sampled_from(["", "USD"]), text),
        primary_exchange=f("primary", st.just(""), text),
    )


@st.composite
def orders(draw: st.DrawFn) -> common_pb2.Order:
    f = Fields(draw, ["instrument", "action", "quantity", "type", "limit", "stop", "tif"])
    order_type = f("type", st.just(1), order_types)
    msg = common_pb2.Order(
        action=f("action", st.sampled_from([1, 2]), actions),  # type: ignore[arg-type]
        quantity=f("quantity", good_quantity, decimals),
        order_type=order_type,  # type: ignore[arg-type]
        limit_price=f("limit", good_price, st.one_of(st.just(""), decimals)),
        stop_price=f("stop", st.just(""), decimals),
        time_in_force=f("tif", st.sampled_from([1, 2]), tifs),  # type: ignore[arg-type]
        outside_rth=draw(st.booleans()),
    )
    if "instrument" not in f.bad or draw(st.booleans()):
        msg.instrument.CopyFrom(draw(instruments()))
    return msg


@st.composite
def changes(draw: st.DrawFn) -> common_pb2.OrderChanges | None:
    """None, empty, or a few set fields, mostly valid, one or two corrupted."""
    if draw(st.integers(0, 9)) == 0:
        return None
    names = ["quantity", "limit_price", "stop_price", "time_in_force"]
    chosen = draw(st.sets(st.sampled_from(names), min_size=draw(st.sampled_from([0, 1, 1, 1]))))
    f = Fields(draw, names)
    good = {"quantity": good_quantity, "limit_price": good_price, "stop_price": good_price}
    msg = common_pb2.OrderChanges()
    for name in sorted(chosen):
        if name == "time_in_force":
            msg.time_in_force = f(name, st.sampled_from([1, 2]), tifs)  # type: ignore[assignment]
        else:
            setattr(msg, name, f(name, good[name], decimals))
    return msg


good_account = st.just(ACCOUNT)


def set_message(msg: object, name: str, value: object | None) -> None:
    if value is not None:
        getattr(msg, name).CopyFrom(value)
