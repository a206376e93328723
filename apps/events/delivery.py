"""Delivery of outbox events to websocket groups.

Group names use only ``[A-Za-z0-9._-]`` (DESIGN.md §9): ``user.<uid>`` for a user's private
channel and ``org.<id>`` for an organization's feed.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from apps.events.models import OutboxEvent


def user_group(uid: int) -> str:
    return f"user.{uid}"


def org_group(organization_id: int) -> str:
    return f"org.{organization_id}"


def deliver(ids: list[int]) -> int:
    layer = get_channel_layer()
    delivered: list[int] = []
    sends: list[tuple[str, dict[str, Any]]] = []
    events = OutboxEvent.objects.filter(pk__in=ids, delivered_at__isnull=True).select_related("user").order_by("pk")
    for event in events:
        message = {"type": "event.message", "id": event.pk, "event": event.type, "data": event.payload}
        if event.user is not None and event.user.uid is not None:
            sends.append((user_group(event.user.uid), message))
        if event.organization_id is not None:
            sends.append((org_group(event.organization_id), message))
        delivered.append(event.pk)
    if layer is not None and sends:
        # one event loop for the whole batch: a loop per message costs a millisecond each
        async_to_sync(_send_all)(layer, sends)
    if delivered:
        OutboxEvent.objects.filter(pk__in=delivered).update(delivered_at=timezone.now())
    return len(delivered)


async def _send_all(layer: Any, sends: list[tuple[str, dict[str, Any]]]) -> None:
    for group, message in sends:
        await layer.group_send(group, message)
