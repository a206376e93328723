"""The interface every custody backend implements.

A backend issues deposit addresses and sends approved withdrawals. It never touches balances: the
custodian reports deposits and withdrawal outcomes back (the simulated backend through its Celery
task and the ``simulate_deposit`` command/admin action, the HTTP backend through signed callbacks at
``/custody/callback``), and ``apps.accounts.funding`` turns those reports into ledger postings.

``submit_withdrawal`` must be idempotent on ``withdrawal.pk``: a retried Celery task may call it
twice for the same withdrawal, and the custodian must then send once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from apps.accounts.models import Withdrawal
    from apps.tokens.models import ChainNetwork
    from apps.users.models import User

BACKENDS = {
    "simulated": "apps.accounts.custody.simulated.SimulatedCustodyGateway",
    "http": "apps.accounts.custody.http.HttpCustodyGateway",
}


@dataclass(frozen=True)
class IssuedAddress:
    address: str
    memo: str = ""


@dataclass(frozen=True)
class SubmittedWithdrawal:
    custody_reference: str
    txid: str = ""


class CustodyGateway(ABC):
    name = "base"

    @abstractmethod
    def new_address(self, *, user: User, chain: ChainNetwork) -> IssuedAddress:
        """A fresh deposit address of ``user`` on ``chain`` (with a memo/tag where the chain needs one)."""

    @abstractmethod
    def submit_withdrawal(self, *, withdrawal: Withdrawal) -> SubmittedWithdrawal:
        """Hand an approved withdrawal to the custodian. Raises ``CustodyError`` (retry) or ``CustodyRejected``."""

    def after_broadcast(self, *, withdrawal: Withdrawal) -> None:
        """Called inside the transaction that marks ``withdrawal`` broadcast; the default does nothing."""
        return None


def get_gateway() -> CustodyGateway:
    name = settings.CUSTODY_BACKEND
    if name not in BACKENDS:
        raise ValueError(f"CUSTODY_BACKEND must be one of {sorted(BACKENDS)}, not {name!r}")
    gateway: CustodyGateway = import_string(BACKENDS[name])()
    return gateway
