"""The audit chain's keyring: the current key that links new events, and retired keys by id."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

KEY_ID_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
MIN_KEY_BYTES: Final = 32


class KeyringError(ValueError):
    """The keyring document is malformed; the message names what, never a key."""


@dataclass(frozen=True)
class Keyring:
    """Key ids are recorded in every event; the keys themselves never leave the process."""

    current_id: str
    keys: Mapping[str, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        if self.current_id not in self.keys:
            raise KeyringError(f"the current key id {self.current_id!r} is not in the keyring")

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]

    def get(self, key_id: str) -> bytes | None:
        return self.keys.get(key_id)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Keyring:
        """{"current": ID, "keys": {ID: hex, ...}}: the key file's and the Vault secret's form."""
        current = doc.get("current")
        raw_keys = doc.get("keys")
        if not isinstance(current, str) or not KEY_ID_RE.match(current):
            raise KeyringError("'current' must be a key id ([A-Za-z0-9._-], at most 32)")
        if not isinstance(raw_keys, Mapping) or not raw_keys:
            raise KeyringError("'keys' must map key ids to hex keys")
        keys: dict[str, bytes] = {}
        for key_id, value in raw_keys.items():
            if not isinstance(key_id, str) or not KEY_ID_RE.match(key_id):
                raise KeyringError(f"invalid key id {key_id!r}")
            try:
                key = bytes.fromhex(value) if isinstance(value, str) else b""
            except ValueError:
                key = b""
            if len(key) < MIN_KEY_BYTES:
                raise KeyringError(f"key {key_id} must be at least {MIN_KEY_BYTES} bytes, in hex")
            keys[key_id] = key
        return cls(current, keys)

    def to_document(self) -> dict[str, Any]:
        return {"current": self.current_id, "keys": {k: v.hex() for k, v in self.keys.items()}}

    def rotated(self, new_id: str) -> Keyring:
        """A new current key; the old ones stay to verify the segments they linked."""
        if not KEY_ID_RE.match(new_id) or new_id in self.keys:
            raise KeyringError(f"{new_id!r} is not a new, valid key id")
        return Keyring(new_id, {**self.keys, new_id: secrets.token_bytes(MIN_KEY_BYTES)})


def new_keyring(key_id: str = "k1") -> Keyring:
    return Keyring(key_id, {key_id: secrets.token_bytes(MIN_KEY_BYTES)})
