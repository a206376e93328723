from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from apps.content.tasks import notify_events
from apps.events.delivery import deliver
from apps.events.models import OutboxEvent
from apps.events.webhooks import webhook_attempt, webhook_deliveries_due


@shared_task(acks_late=True)
def deliver_events(ids: list[int]) -> int:
    delivered = deliver(ids)
    notify_events.delay(ids)  # user notifications (apps/content); idempotent per (event, channel)
    return delivered


@shared_task
def sweep_undelivered(older_than_seconds: int = 30, limit: int = 1000) -> int:
    """Re-send what was committed but not delivered (a worker died between commit and delivery)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        OutboxEvent.objects.filter(delivered_at__isnull=True, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    return deliver_events(ids) if ids else 0


@shared_task(acks_late=True)
def webhook_deliver(delivery_id: int) -> bool:
    """One try of a webhook delivery (queued after the event's delivery; retries via ``webhooks_retry_due``)."""
    delivery = webhook_attempt(delivery_id=delivery_id)
    return delivery is not None and delivery.status == "succeeded"


@shared_task
def webhooks_retry_due(limit: int = 500) -> int:
    """Queue the webhook tries whose backoff has passed (and first tries whose task was lost)."""
    due = webhook_deliveries_due(limit=limit)
    for delivery_id in due:
        webhook_deliver.delay(delivery_id)
    return len(due)
