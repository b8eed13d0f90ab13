"""Broker reference data through the writer, cached for as long as the risk policy allows."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace
from decimal import Decimal

from livegate_common.metrics import observe_use
from policy_service import reasons
from policy_service.domain.denials import reference_unavailable
from policy_service.domain.model import Denial, Instrument
from policy_service.domain.ports import Clock, Writer, WriterError
from policy_service.domain.reference import AccountState, ContractDetails
from policy_service.domain.risk_policy import RiskPolicy

# Distinct instruments a desk previews; beyond it the least recently used are asked again.
MAX_CONTRACTS = 1024
_MICROS = Decimal(1_000_000)


def unavailable(data: str, err: WriterError) -> Denial:
    return reference_unavailable(
        data,
        f"the broker's {data.replace('_', ' ')} could not be had: {err.message}",
        writer_reason=err.reason or err.kind,
        grpc_code=err.code,
    )


class ReferenceData:
    """Contract details and account state, each refetched once older than the policy's age.

    Both are fail-closed: no answer, or an answer older than allowed, is a refusal with its own
    reason, never a check skipped.
    """

    def __init__(self, writer: Writer, clock: Clock, policy: RiskPolicy):
        self._writer = writer
        self._clock = clock
        self._details_max_us = int(policy.max_contract_details_age_s * _MICROS)
        self._account_max_us = int(policy.max_account_state_age_s * _MICROS)
        self._lock = threading.Lock()
        self._contracts: OrderedDict[Instrument, ContractDetails] = OrderedDict()
        self._accounts: dict[str, AccountState] = {}

    def contract(self, instrument: Instrument) -> ContractDetails | WriterError:
        now = self._clock.now_us()
        with self._lock:
            cached = self._contracts.get(instrument)
            if cached is not None and now - cached.as_of_us <= self._details_max_us:
                self._contracts.move_to_end(instrument)
                return cached
        try:
            details = self._writer.contract_details(instrument)
        except WriterError as err:
            return err
        with self._lock:
            self._contracts[instrument] = details
            while len(self._contracts) > MAX_CONTRACTS:
                self._contracts.popitem(last=False)
        return details

    def account(self, account_id: str) -> AccountState | Denial:
        now = self._clock.now_us()
        with self._lock:
            cached = self._accounts.get(account_id)
        if cached is None or now - cached.asked_at_us > self._account_max_us:
            try:
                cached = replace(self._writer.account_state(account_id), asked_at_us=now)
            except WriterError as err:
                return unavailable("account_state", err)
            with self._lock:
                self._accounts[account_id] = cached
        age_us = now - cached.as_of_us
        observe_use("max_account_state_age_s", age_us, self._account_max_us)
        if age_us > self._account_max_us:
            return Denial(
                reasons.REFERENCE_DATA_STALE,
                "FAILED_PRECONDITION",
                9,
                "the broker's account state is older than the policy allows",
                {
                    "data": "account_state",
                    "max_age_s": str(Decimal(self._account_max_us) / _MICROS),
                    "age_s": str((Decimal(age_us) / _MICROS).quantize(Decimal("0.001"))),
                },
            )
        return cached

    def forget_account(self, account_id: str) -> None:
        """Ask the broker again next time (after a write that changed the account)."""
        with self._lock:
            self._accounts.pop(account_id, None)
