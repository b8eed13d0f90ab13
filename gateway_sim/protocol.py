"""TWS API framing, message ids and field formatting shared by encoder and decoder."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from decimal import Decimal

# A real gateway accepts frames up to 16 MiB; anything near that from a test client is a bug.
MAX_FRAME_BYTES = 1 << 20
HANDSHAKE_PREFIX = b"API\0"
UNSET_DOUBLE_STR = "1.7976931348623157E308"
UNSET_INTEGER = 2**31 - 1

# Incoming (client -> gateway) ids, named like ibapi's message.OUT constants.
IN_NAMES: dict[int, str] = {
    1: "REQ_MKT_DATA",
    2: "CANCEL_MKT_DATA",
    3: "PLACE_ORDER",
    4: "CANCEL_ORDER",
    5: "REQ_OPEN_ORDERS",
    6: "REQ_ACCT_DATA",
    7: "REQ_EXECUTIONS",
    8: "REQ_IDS",
    9: "REQ_CONTRACT_DATA",
    15: "REQ_AUTO_OPEN_ORDERS",
    16: "REQ_ALL_OPEN_ORDERS",
    17: "REQ_MANAGED_ACCTS",
    49: "REQ_CURRENT_TIME",
    58: "REQ_GLOBAL_CANCEL",
    59: "REQ_MARKET_DATA_TYPE",
    61: "REQ_POSITIONS",
    62: "REQ_ACCOUNT_SUMMARY",
    63: "CANCEL_ACCOUNT_SUMMARY",
    64: "CANCEL_POSITIONS",
    71: "START_API",
    76: "REQ_ACCOUNT_UPDATES_MULTI",
    77: "CANCEL_ACCOUNT_UPDATES_MULTI",
    91: "REQ_MARKET_RULE",
    99: "REQ_COMPLETED_ORDERS",
}
WRITE_MSG_IDS = frozenset({3, 4, 58})


class Out:
    """Outgoing (gateway -> client) message ids, as ib_async's decoder table maps them."""

    TICK_PRICE = 1
    TICK_SIZE = 2
    ORDER_STATUS = 3
    ERR_MSG = 4
    OPEN_ORDER = 5
    ACCT_VALUE = 6
    PORTFOLIO_VALUE = 7
    ACCT_UPDATE_TIME = 8
    NEXT_VALID_ID = 9
    CONTRACT_DATA = 10
    EXECUTION_DATA = 11
    MANAGED_ACCTS = 15
    CURRENT_TIME = 49
    CONTRACT_DATA_END = 52
    OPEN_ORDER_END = 53
    ACCT_DOWNLOAD_END = 54
    EXECUTION_DATA_END = 55
    TICK_SNAPSHOT_END = 57
    MARKET_DATA_TYPE = 58
    COMMISSION_REPORT = 59
    POSITION_DATA = 61
    POSITION_END = 62
    ACCOUNT_SUMMARY = 63
    ACCOUNT_SUMMARY_END = 64
    ACCOUNT_UPDATE_MULTI = 73
    ACCOUNT_UPDATE_MULTI_END = 74
    MARKET_RULE = 93
    COMPLETED_ORDER = 101
    COMPLETED_ORDERS_END = 102


Field = str | int | Decimal | bool | None


def fmt(value: Field) -> str:
    """Render one field the way TWS does: bools as 0/1, None as empty, decimals plainly."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return fmt_decimal(value)
    return str(value)


def fmt_decimal(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


_pack_length = struct.Struct(">I").pack


def encode_frame(fields: Iterable[Field]) -> bytes:
    # Every message sent goes through here and most fields are already str: those skip fmt,
    # which would return them unchanged (exact str only, so subclasses still go through fmt).
    parts = [f if type(f) is str else fmt(f) for f in fields]
    parts.append("")  # each field, the last included, ends with a NUL
    payload = "\0".join(parts).encode()
    return _pack_length(len(payload)) + payload


def decode_payload(payload: bytes) -> list[str]:
    """Split one frame into fields; raises ValueError on anything a gateway would reject."""
    if not payload or not payload.endswith(b"\0"):
        raise ValueError("frame is empty or not NUL-terminated")
    text = payload.decode("utf-8")
    fields = text.split("\0")
    fields.pop()
    if not fields[0].isdigit():
        raise ValueError(f"message id {fields[0][:20]!r} is not a number")
    return fields


def parse_version_range(text: str) -> tuple[int, int]:
    """Parse the handshake's 'v157..178[ +OPTS]' into (min, max)."""
    spec = text.split(" ", 1)[0]
    if not spec.startswith("v"):
        raise ValueError(f"bad version spec {spec[:40]!r}")
    low, sep, high = spec[1:].partition("..")
    if not sep:
        high = low
    return int(low), int(high)


def parse_decimal(text: str) -> Decimal | None:
    """Empty and IB's 'unset double' both mean no value."""
    if text == "" or text.upper() == UNSET_DOUBLE_STR.upper():
        return None
    value = Decimal(text)
    return None if value >= Decimal("1e300") else value


def parse_int(text: str, default: int = 0) -> int:
    if text == "":
        return default
    return int(float(text))


def parse_bool(text: str) -> bool:
    return text not in ("", "0", "false", "False")
