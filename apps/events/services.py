"""Emitting events: write the outbox row now, deliver after commit."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.core.db import bulk_insert
from apps.events.models import OutboxEvent
from apps.users.models import User


def event_emit(
    *, type: str, organization_id: int | None, payload: dict[str, Any], user: User | None = None
) -> OutboxEvent:
    """Record ``type`` in the caller's transaction; delivery is queued only once it commits."""
    event = OutboxEvent.objects.create(type=type, organization_id=organization_id, user=user, payload=payload)
    transaction.on_commit(lambda: _queue_delivery([event.pk]))
    return event


def events_emit_many(events: list[OutboxEvent]) -> list[OutboxEvent]:
    """Bulk variant for the matching worker's batch transaction."""
    if not events:
        return []
    created = bulk_insert(events)
    ids = [e.pk for e in created if e.pk is not None]
    transaction.on_commit(lambda: _queue_delivery(ids))
    return created


def _queue_delivery(ids: list[int]) -> None:
    from apps.events.tasks import deliver_events

    deliver_events.delay(ids)
