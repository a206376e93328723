"""Rate limits and the replay cache of signed requests (DESIGN.md §12), on the shared cache.

Fixed one-window counters in Django's cache: Redis in the services mode (atomic ``INCR``, shared by
every daphne process), the file cache in the embedded mode. A limit is named by its caller
(``apikey:<id>``, ``oauth:<token>``, ``ip:<addr>:openapi-public`` …), so each surface decides what it
counts; the 429 body is the surface's own.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.core.cache import cache

from apps.core.errors import RateLimited


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # whole seconds until the current window ends (0 when allowed)


def rate_check(key: str, *, limit: int, period: float = 1.0) -> Verdict:
    """Count one request against ``limit`` per ``period`` seconds for ``key``."""
    now = time.time()
    window = int(now // period)
    cache_key = f"rl:{key}:{window}"
    ttl = max(1, math.ceil(period) + 1)
    if cache.add(cache_key, 1, timeout=ttl):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add() and incr()
            cache.add(cache_key, 1, timeout=ttl)
            count = 1
    if count <= limit:
        return Verdict(True, 0)
    return Verdict(False, max(1, math.ceil((window + 1) * period - now)))


def rate_limit(key: str, *, limit: int, period: float = 1.0) -> None:
    """``rate_check`` that raises ``RateLimited`` (carrying ``retry_after``) when over the limit."""
    verdict = rate_check(key, limit=limit, period=period)
    if not verdict.allowed:
        raise RateLimited(retry_after=verdict.retry_after)


def signature_first_use(scope: str, signature: str, *, ttl_seconds: float) -> bool:
    """True the first time ``signature`` is seen in ``scope`` within ``ttl_seconds``; False on a replay."""
    return bool(cache.add(f"sig:{scope}:{signature.lower()}", 1, timeout=max(1, math.ceil(ttl_seconds))))
