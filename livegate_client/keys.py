"""Idempotency keys and request ids: made here, once per logical call, never inside a retry."""

from __future__ import annotations

import re
import uuid
from typing import Final

# The contract's key: 8..64 characters of [A-Za-z0-9._:-]; it travels as the broker's orderRef.
KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9._:-]{8,64}")
KEY_PREFIX: Final = "lgc-"


def new_key() -> str:
    """A fresh key (uuid4: 122 random bits), for a logical call whose caller gave none."""
    return f"{KEY_PREFIX}{uuid.uuid4().hex}"


def checked_key(key: str) -> str:
    """The caller's key, refused here (ValueError) when the gate would refuse it."""
    if not KEY_PATTERN.fullmatch(key):
        raise ValueError(f"idempotency key must be 8..64 characters of [A-Za-z0-9._:-]: {key!r}")
    return key


def new_request_id() -> str:
    """x-request-id of one logical call: every attempt carries it, so the audit ties them."""
    return uuid.uuid4().hex
