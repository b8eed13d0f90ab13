"""Write admission: the role's rule for the accounts a write touches, then the last probe."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from writer_service.config import Role
from writer_service.permission import PermissionMonitor
from writer_service.role_rules import write_refusal


class WriteAdmission:
    """Checked on every write before anything reaches the broker, whatever the gateway says."""

    def __init__(
        self, role: Role, permission: PermissionMonitor, account_hash: Callable[[str], str]
    ):
        self._role = role
        self._permission = permission
        self._account_hash = account_hash

    def check(self, accounts: Iterable[str]) -> None:
        """Raise the refusal of a write reaching ACCOUNTS, if any."""
        self.check_role(accounts)
        self._permission.require_proven()

    def check_role(self, accounts: Iterable[str]) -> None:
        """The role's rule alone: for cancel-all, which (like the kill switch) an unproven
        permission does not hold back, since it only reduces risk."""
        refusal = write_refusal(self._role, accounts)
        if refusal is not None:
            raise refusal

    def account_hash(self, account_id: str) -> str:
        """The keyed hash that stands in for ACCOUNT_ID in logs and error metadata."""
        return self._account_hash(account_id)
