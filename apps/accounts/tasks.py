from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from apps.accounts.reconcile import reconcile
from apps.core.errors import CustodyError

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def reconcile_ledger() -> dict[str, Any]:
    """Periodic reconciliation; a difference is logged at ERROR level for alerting."""
    report = reconcile()
    if not report["ok"]:
        logger.error("ledger reconciliation found differences: %s", report)
    return report


@shared_task(bind=True, ignore_result=True, max_retries=None)
def broadcast_withdrawal(self: Any, withdrawal_id: int) -> None:
    """Hand an approved withdrawal to the custodian; an unreachable custodian is retried with backoff.

    Run in-process (embedded mode, no worker) a failure is only logged: ``sweep_approved_withdrawals``
    picks the withdrawal up again.
    """
    from apps.accounts.funding import withdrawal_broadcast

    try:
        withdrawal_broadcast(withdrawal_id=withdrawal_id)
    except CustodyError as exc:
        if self.request.is_eager:
            logger.warning("withdrawal %s not broadcast yet: %s", withdrawal_id, exc.message)
            return
        raise self.retry(exc=exc, countdown=min(600, 5 * 2**self.request.retries)) from None


@shared_task(ignore_result=True)
def sweep_approved_withdrawals(min_age_seconds: int = 60) -> int:
    """Re-queue crypto withdrawals left approved (custodian was down, worker lost); returns how many."""
    from apps.accounts.selectors import withdrawals_awaiting_broadcast

    ids = withdrawals_awaiting_broadcast(min_age_seconds=min_age_seconds)
    for withdrawal_id in ids:
        broadcast_withdrawal.delay(withdrawal_id)
    return len(ids)


@shared_task(ignore_result=True)
def confirm_simulated_withdrawal(withdrawal_id: int) -> None:
    """The simulated custodian's confirmation of a broadcast withdrawal (queued with a countdown)."""
    from apps.accounts.funding import withdrawal_complete

    withdrawal_complete(withdrawal_id=withdrawal_id)
