"""Matching tasks. ``match_symbol`` runs on the symbol's shard queue (``-Q match.<n> -P solo``)."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready

from apps.trading.matching import process_symbol


@shared_task(acks_late=True, ignore_result=True)
def match_symbol(symbol_id: str) -> int:
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
