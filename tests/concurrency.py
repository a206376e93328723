"""Race helper for PostgreSQL tests: many threads, each with its own DB connection, released at once."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def run_concurrently(count: int, work: Callable[[int], object]) -> list[object]:
    """Start ``count`` threads at one barrier; each result is what ``work(i)`` returned or raised."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # the test inspects what each thread got
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results
