from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from apps.accounts.reconcile import reconcile

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def reconcile_ledger() -> dict[str, Any]:
    """Periodic reconciliation; a difference is logged at ERROR level for alerting."""
    report = reconcile()
    if not report["ok"]:
        logger.error("ledger reconciliation found differences: %s", report)
    return report
