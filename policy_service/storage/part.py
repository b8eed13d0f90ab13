"""What a part of the store mixed into SqlStore relies on SqlStore to provide."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import Connection

from policy_service.domain.audit_chain import ChainKeeper


class StorePart:
    """Mixed into SqlStore, which provides the transactions, the read connections and the
    audit chain's keeper."""

    chain: ChainKeeper

    def _tx(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _reader(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError
