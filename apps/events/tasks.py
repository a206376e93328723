from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from apps.events.delivery import deliver
from apps.events.models import OutboxEvent


@shared_task(acks_late=True)
def deliver_events(ids: list[int]) -> int:
    return deliver(ids)


@shared_task
def sweep_undelivered(older_than_seconds: int = 30, limit: int = 1000) -> int:
    """Re-send what was committed but not delivered (a worker died between commit and delivery)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        OutboxEvent.objects.filter(delivered_at__isnull=True, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    return deliver(ids) if ids else 0
