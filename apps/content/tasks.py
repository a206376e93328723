"""Celery tasks of the content app; routed to the ``notifications`` queue (broker/settings.py)."""

from __future__ import annotations

from celery import shared_task

from apps.content.notifications import notify_events as _notify_events


@shared_task(acks_late=True)
def notify_events(ids: list[int]) -> int:
    """Send the user notifications of outbox events ``ids`` (queued by ``deliver_events``)."""
    return _notify_events(ids)
