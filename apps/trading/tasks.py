"""Matching tasks. ``match_symbol`` runs on the symbol's shard queue (``-Q match.<n> -P solo``)."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready

from apps.trading.matching import process_symbol

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def match_symbol(symbol_id: str) -> int:
    from django.core.cache import cache

    from apps.trading.services import match_queued_key

    # Before reading the pending commands: a command committed from here on queues a new task
    # (apps.trading.services.queue_match).
    try:
        cache.delete(match_queued_key(symbol_id))
    except Exception:  # the mark expires by itself; matching must not wait for the cache
        logger.warning("could not clear the match mark of %s", symbol_id, exc_info=True)
    return process_symbol(symbol_id)


@shared_task(ignore_result=True)
def match_sweep() -> list[str]:
    """Re-queue symbols that have commands waiting (a lost task message, a worker restart)."""
    from apps.trading.services import queue_match, stale_symbols

    symbols = stale_symbols()
    for symbol_id in symbols:
        queue_match(symbol_id)
    return symbols


@worker_ready.connect
def _resume_on_start(**_: object) -> None:
    # A worker that starts (or restarts after a crash) picks up whatever was left pending.
    match_sweep.delay()
