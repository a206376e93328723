"""Back-office periodic tasks: interfaces like views, they only call a service."""

from __future__ import annotations

from celery import shared_task

from apps.backoffice import services


@shared_task(ignore_result=True)
def statistics_refresh(days: int = 2) -> int:
    """Recompute today's and yesterday's statistics rows (beat: every 10 minutes); idempotent."""
    return services.statistics_refresh(days=days)
