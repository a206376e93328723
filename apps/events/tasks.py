from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from apps.content.tasks import notify_events
from apps.events.delivery import deliver
from apps.events.models import OutboxEvent
from apps.events.webhooks import webhook_attempt, webhook_deliveries_due

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def deliver_events(ids: list[int]) -> int:
    delivered = deliver(ids)
    notify_events.delay(ids)  # user notifications (apps/content); idempotent per (event, channel)
    return delivered


@shared_task(acks_late=True)
def deliver_pending(limit: int = 1000, time_budget: float = 5.0) -> int:
    """Deliver every undelivered event in id order, ``limit`` at a time (queued by ``_queue_delivery``)."""
    from django.core.cache import cache

    from apps.events.services import DELIVERY_QUEUED_KEY

    # Before reading: an event committed from here on queues a new task.
    try:
        cache.delete(DELIVERY_QUEUED_KEY)
    except Exception:  # the mark expires by itself
        logger.warning("could not clear the delivery mark", exc_info=True)
    total = 0
    deadline = time.monotonic() + time_budget
    while True:
        ids = list(
            OutboxEvent.objects.filter(delivered_at__isnull=True).order_by("pk").values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return total
        total += deliver_events(ids)
        if len(ids) < limit or time.monotonic() > deadline:
            if len(ids) == limit:
                deliver_pending.delay(limit, time_budget)  # more waiting: continue in a fresh task
            return total


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
