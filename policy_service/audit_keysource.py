"""Where the audit chain's keyring comes from: Vault (the policy's own AppRole and path) on a
deployed host, a private key file in dev and tests. Never from the database or the config."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from livegate_common.config import ConfigError
from livegate_common.vault_client import VaultConfig, VaultStartError, open_session
from policy_service.domain.audit_keys import Keyring, KeyringError, new_keyring

FILE_KEY = "audit.keyring_file"
VAULT_KEY = "audit.vault"


def read_keyring_file(path: Path, key: str = FILE_KEY) -> Keyring:
    """A keyring file readable by its owner alone (0600 or 0400); anything wider is refused."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077:
        raise ConfigError(
            key,
            f"{path} must be a regular file only its owner may read or write "
            f"(chmod 600; it is {stat.filemode(info.st_mode)})",
        )
    try:
        return Keyring.from_document(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyringError) as exc:
        raise ConfigError(key, f"{path} is not a keyring: {exc}") from None


def write_keyring_file(path: Path, keyring: Keyring) -> None:
    """Create PATH (0600, never wider) holding KEYRING; an existing file is replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(keyring.to_document(), out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def ensure_dev_keyring(path: Path) -> Path:
    """The dev stack's keyring file: made once (0600), kept across restarts of the stack."""
    if not path.exists():
        write_keyring_file(path, new_keyring())
    return path


def read_keyring_vault(config: VaultConfig) -> Keyring:
    """Unwrap the policy's single-use secret id, log in with its AppRole, read its keyring.

    The token is only needed for this one read: no renewal runs afterwards.
    """
    session = open_session(config)
    try:
        return Keyring.from_document(session.data)
    except KeyringError as exc:
        raise VaultStartError(f"{config.kv_mount}/{config.secret_path}: {exc}") from None
