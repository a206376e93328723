"""The built-in custody backend for development, demos and tests.

* Addresses are deterministic: a hash of (organization, user, token, chain), so the same user always
  gets the same address and two users never share one. Chains that need a memo get the user's id as
  the memo under a per-chain shared address, as exchanges do for XRP/EOS-style chains.
* Incoming deposits are simulated by staff (admin action) or ``manage.py simulate_deposit``.
* A withdrawal handed over is accepted at once with a deterministic txid; it completes
  ``CUSTODY_SIMULATED_CONFIRM_SECONDS`` later through the ``confirm_simulated_withdrawal`` task,
  queued after the broadcast commits.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import transaction

from apps.accounts.custody.base import CustodyGateway, IssuedAddress, SubmittedWithdrawal
from apps.accounts.models import Withdrawal
from apps.tokens.models import ChainNetwork
from apps.users.models import User


def _digest(*parts: object) -> str:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()


class SimulatedCustodyGateway(CustodyGateway):
    name = "simulated"

    def new_address(self, *, user: User, chain: ChainNetwork) -> IssuedAddress:
        if chain.needs_memo:
            shared = _digest("sim-shared", user.organization_id, chain.token_id, chain.chain)[:34]
            return IssuedAddress(address=f"sim{shared}", memo=str(user.uid or user.pk))
        digest = _digest("sim", user.organization_id, user.pk, chain.token_id, chain.chain)[:40]
        return IssuedAddress(address=f"sim{digest}")

    def submit_withdrawal(self, *, withdrawal: Withdrawal) -> SubmittedWithdrawal:
        # Deterministic in the withdrawal id: a retried submission is the same submission.
        return SubmittedWithdrawal(custody_reference=f"sim-{withdrawal.pk}", txid=_digest("sim-wd", withdrawal.pk))

    def after_broadcast(self, *, withdrawal: Withdrawal) -> None:
        from apps.accounts.tasks import confirm_simulated_withdrawal

        withdrawal_id = withdrawal.pk
        delay = settings.CUSTODY_SIMULATED_CONFIRM_SECONDS
        transaction.on_commit(lambda: confirm_simulated_withdrawal.apply_async(args=(withdrawal_id,), countdown=delay))
