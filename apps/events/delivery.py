"""Delivery of committed outbox events: feed numbering, websocket groups and webhook deliveries.

``deliver(ids)`` runs after the events' transaction committed (a task queued by ``event_emit``, or the
sweeper). In one transaction it locks the undelivered rows (``SKIP LOCKED``: a concurrent delivery of
the same ids takes the others), numbers each organization's events in its feed (``org_seq``, under the
``OrgFeedCounter`` row lock, see ``apps.events.models``), marks them delivered and records a
``WebhookDelivery`` per subscribed webhook. After that commits it fans out to the channel layer and
queues the webhook attempts.

Group names use only ``[A-Za-z0-9._-]`` (DESIGN.md §9): ``user.<uid>`` for a user's private channel and
``org.<id>`` for an organization's feed. Both receive ``{"type": "event.message", "id", "event",
"data"}``; the organization's message adds ``seq`` (its feed number) and ``feed`` (the feed body).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.db import bulk_set
from apps.events.feed import feed_body, org_event_type
from apps.events.models import OrgFeedCounter, OutboxEvent
from apps.events.webhooks import webhook_deliveries_create, webhook_deliveries_queue


def user_group(uid: int) -> str:
    return f"user.{uid}"


def org_group(organization_id: int) -> str:
    return f"org.{organization_id}"


def _lock_counters(organization_ids: list[int]) -> dict[int, OrgFeedCounter]:
    """Lock (creating on first use) the feed counters of ``organization_ids``, in id order."""
    if not organization_ids:
        return {}
    existing = set(
        OrgFeedCounter.objects.filter(organization_id__in=organization_ids).values_list("organization_id", flat=True)
    )
    for organization_id in organization_ids:
        if organization_id not in existing:
            try:
                with transaction.atomic():
                    OrgFeedCounter.objects.create(organization_id=organization_id)
            except IntegrityError:
                pass  # a concurrent delivery created it; the lock below waits for that one
    locked = OrgFeedCounter.objects.select_for_update().filter(organization_id__in=organization_ids).order_by("pk")
    return {counter.organization_id: counter for counter in locked}


def deliver(ids: list[int]) -> int:
    """Number, mark and fan out the undelivered events among ``ids``; returns how many it delivered."""
    if not ids:
        return 0
    sends: list[tuple[str, dict[str, Any]]] = []
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=ids, delivered_at__isnull=True)
            .select_related("user")
            .order_by("pk")
        )
        if not events:
            return 0
        counters = _lock_counters(sorted({e.organization_id for e in events if e.organization_id is not None}))
        now = timezone.now()
        for event in events:
            event.delivered_at = now
            event.attempts += 1
            if event.organization_id is not None:
                counter = counters[event.organization_id]
                counter.last_seq += 1
                event.org_seq = counter.last_seq
        bulk_set(events, ["delivered_at", "attempts", "org_seq"])
        bulk_set(list(counters.values()), ["last_seq"])
        deliveries = webhook_deliveries_create(events, now=now)

        for event in events:
            message: dict[str, Any] = {
                "type": "event.message",
                "id": event.pk,
                "event": event.type,
                "data": event.payload,
            }
            uid = event.user.uid if event.user is not None else None
            if uid is not None:
                sends.append((user_group(uid), message))
            if event.organization_id is not None and org_event_type(event.type, event.payload) is not None:
                feed = {**message, "seq": event.org_seq, "feed": feed_body(event, uid=uid)}
                sends.append((org_group(event.organization_id), feed))
        transaction.on_commit(lambda: _fan_out(sends, deliveries))
    return len(events)


def _fan_out(sends: list[tuple[str, dict[str, Any]]], deliveries: list[int]) -> None:
    layer = get_channel_layer()
    if layer is not None and sends:
        # one event loop for the whole batch: a loop per message costs a millisecond each
        async_to_sync(_send_all)(layer, sends)
    webhook_deliveries_queue(deliveries)


async def _send_all(layer: Any, sends: list[tuple[str, dict[str, Any]]]) -> None:
    # One channel-layer message per group, its events in order (apps.core.ws "Batches").
    by_group: dict[str, list[dict[str, Any]]] = {}
    for group, message in sends:
        by_group.setdefault(group, []).append(message)
    for group, messages in by_group.items():
        if len(messages) == 1:
            await layer.group_send(group, messages[0])
        else:
            await layer.group_send(group, {"type": "batch.message", "messages": messages})
