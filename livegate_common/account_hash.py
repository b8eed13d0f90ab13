"""The keyed account hash both services log and audit in place of a broker account id."""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

# The same floor as the policy's audit.account_hash_key.
MIN_KEY_BYTES: Final = 16


def account_hash(key: bytes, account_id: str) -> str:
    """Keyed hash of an account id: joinable across events and services, useless without the key.

    The policy (audit.account_hash_key) and the writer (its broker secret's account_hash_key)
    hold the same key, so one account hashes alike in both services' lines and in the audit.
    """
    if not account_id:
        return ""
    return hmac.new(key, account_id.encode(), hashlib.sha256).hexdigest()
