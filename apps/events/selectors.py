"""Reads of the organization feed (websocket replay, REST long-poll) and of webhooks."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.events.feed import feed_body, org_event_type
from apps.events.models import OrgFeedCounter, OutboxEvent, Webhook

FEED_PAGE_MAX = 1000


def org_feed_last_seq(*, organization_id: int) -> int:
    """The newest feed number handed out for the organization (0 before its first event)."""
    value = OrgFeedCounter.objects.filter(organization_id=organization_id).values_list("last_seq", flat=True).first()
    return value or 0


def org_feed_read(
    *, organization_id: int, after_seq: int, types: frozenset[str], limit: int = 100
) -> tuple[list[dict[str, Any]], int]:
    """Feed bodies numbered after ``after_seq`` (oldest first) of the wanted ``types``.

    Returns ``(bodies, cursor)``: ``cursor`` is the last number examined, so a reader that resumes
    from it skips events of types it did not ask for without reading them again.
    """
    limit = max(1, min(limit, FEED_PAGE_MAX))
    rows = list(
        OutboxEvent.objects.filter(organization_id=organization_id, org_seq__gt=after_seq)
        .select_related("user")
        .order_by("org_seq")[:limit]
    )
    bodies = [feed_body(event) for event in rows if org_event_type(event.type, event.payload) in types]
    cursor = rows[-1].org_seq if rows else after_seq
    return bodies, cursor or after_seq


def webhooks_of(*, organization_id: int) -> QuerySet[Webhook]:
    return Webhook.objects.filter(organization_id=organization_id).order_by("pk")
