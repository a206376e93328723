"""Finance tasks: interfaces like views — load by id and call a service."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from apps.finance import services

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True, acks_late=True)
def airdrop_batch_run(batch_id: int) -> dict[str, Any]:
    """Process an airdrop batch (``batch_id`` is the Airdrop row's primary key); safe to run twice."""
    airdrop = services.airdrop_batch_process(airdrop_id=batch_id)
    return {
        "status": airdrop.status,
        "processed_rows": airdrop.processed_rows,
        "succeeded_rows": airdrop.succeeded_rows,
        "failed_rows": airdrop.failed_rows,
    }


@shared_task(ignore_result=True)
def lockups_release_due() -> int:
    """Periodic: release lock-ups whose unlock date has passed."""
    return services.lockups_release_due()


@shared_task(ignore_result=True)
def commission_settle_yesterday() -> dict[int, int]:
    """Periodic (daily, after midnight UTC): pay yesterday's referral commission."""
    return services.commission_settle_yesterday()
