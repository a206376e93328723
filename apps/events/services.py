"""Emitting events: write the outbox row now, deliver after commit."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from apps.core.db import RawJson, bulk_insert, insert_rows
from apps.core.money import fmt
from apps.events.models import OutboxEvent
from apps.users.models import User

if TYPE_CHECKING:
    from apps.accounts.models import Balance

logger = logging.getLogger(__name__)


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


OUTBOX_COLUMNS = ("type", "organization_id", "user_id", "payload")


def events_emit_rows(rows: Sequence[tuple[str, int | None, int | None, Any]]) -> list[int]:
    """``events_emit_many`` for the matching worker's hot path: plain ``(type, organization_id,
    user_id, payload)`` tuples written by one ``COPY``, no model instances; a payload may be a
    ``RawJson`` document the caller encoded itself. Returns the new ids."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        # bulk_create would store an encoded document as a JSON string: decode it first.
        rows = [(t, o, u, json.loads(p) if isinstance(p, RawJson) else p) for t, o, u, p in rows]
    ids = insert_rows(OutboxEvent, OUTBOX_COLUMNS, rows, constants={"created_at": timezone.now(), "attempts": 0})
    transaction.on_commit(lambda: _queue_delivery(ids))
    return ids


def balance_owners(account_ids: Iterable[int]) -> dict[int, tuple[int, int, str, int, Any]]:
    """The end users behind ``account_ids`` (system accounts are left out), for ``balances_changed_emit``.

    ``ledger_post`` reads them before it locks the balances, so the lock is not held over this query.
    """
    from apps.accounts.models import Account

    return {
        pk: (user_id, organization_id, account_type, index, uid)
        for pk, user_id, organization_id, account_type, index, uid in Account.objects.filter(
            pk__in=sorted(set(account_ids)), user__isnull=False
        ).values_list("pk", "user_id", "organization_id", "type", "index", "user__uid")
    }


def balances_changed_emit(
    *,
    transaction_id: int,
    kind: str,
    balances: Sequence[Balance],
    owners: dict[int, tuple[int, int, str, int, Any]],
) -> None:
    """``balance.changed`` for each end user's balance a ledger transaction touched (in its transaction).

    Called by ``ledger_post`` with the rows it just wrote and their ``balance_owners`` (read before
    the lock); system accounts (custody, fee, operating) are not reported. One bulk insert.
    """
    events: list[OutboxEvent] = []
    for balance in balances:
        owner = owners.get(balance.account_id)
        if owner is None:
            continue
        user_id, organization_id, account_type, index, uid = owner
        events.append(
            OutboxEvent(
                type="balance.changed",
                organization_id=organization_id,
                user_id=user_id,
                payload={
                    "uid": str(uid) if uid is not None else "",
                    "account_id": str(balance.account_id),
                    "account_type": account_type,
                    "account_index": index,
                    "token": balance.token_id,
                    "available": fmt(balance.available),
                    "hold": fmt(balance.hold),
                    "lockup": fmt(balance.lockup),
                    "total": fmt(balance.available + balance.hold + balance.lockup),
                    "transaction_id": str(transaction_id),
                    "kind": kind,
                },
            )
        )
    events_emit_many(events)


DELIVERY_QUEUED_KEY = "events-delivery-queued"
DELIVERY_QUEUED_TTL_S = 2


def _queue_delivery(ids: list[int]) -> None:
    """After commit: deliver ``ids``. In-process (embedded mode, tests) at once; with workers, one
    ``deliver_pending`` task at a time takes every undelivered event in id order.

    A task per transaction made the notifications worker run a delivery (locks, feed numbering,
    fan-out) per order placement; under load its queue grew by seconds. Now the first commit sets a
    cache mark and publishes, the others see the mark; the task clears it before it reads, so an
    event committed after that read queues a new task. The mark expires after two seconds and the
    sweeper re-sends anything older than 30; a cache or broker failure here is logged, not raised
    (the events are committed).
    """
    from celery import current_app

    from apps.events.tasks import deliver_events, deliver_pending

    if current_app.conf.task_always_eager:
        deliver_events.delay(ids)
        return
    try:
        if not cache.add(DELIVERY_QUEUED_KEY, 1, timeout=DELIVERY_QUEUED_TTL_S):
            return
    except Exception:
        logger.warning("delivery mark unavailable; publishing anyway", exc_info=True)
    try:
        deliver_pending.delay()
    except Exception:
        logger.exception("could not queue event delivery; the sweeper will")
