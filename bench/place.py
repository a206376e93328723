"""REST order placement, in one process: ``python bench/place.py [--orders N] [--profile]``.

What one ``POST /openapi/v1/order`` costs the server, without HTTP transport or concurrency: a
fresh PostgreSQL database (``BENCH_DATABASE_URL``), Redis for the cache, replay cache, rate limits
and the Celery broker (``BENCH_REDIS_URL``, default database 9, emptied), a BTC/USDT market and
users with API keys; then N signed placements (resting limit orders, spread over the users so no
key hits its rate limit) through Django's full handler and middleware (``django.test.Client``).
Reported: wall and CPU milliseconds per request (p50/p99), SQL statements per request, and with
``--profile`` the cProfile functions that take the most cumulative time (``PROFILE_FILTER``: a regular
expression to keep only some of them) and the SQL statements of one placement. Nothing consumes the match
queue: placement is what is measured. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import time
from urllib.parse import urlencode

from _django import market, percentile, setup


def package_of(file: str) -> str:
    """``django/db``, ``psycopg``, ``apps/trading`` … for a profiled function's file."""
    if "site-packages/" in file:
        parts = file.split("site-packages/", 1)[1].split("/")
        return "/".join(parts[:2]) if parts[0] == "django" else parts[0].removesuffix(".py")
    if "/apps/" in file:
        return "apps/" + file.split("/apps/", 1)[1].split("/")[0]
    if "python3" in file or file.startswith("<"):
        return "python stdlib / builtins"
    return file.rsplit("/", 1)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    setup("broker_bench_place", redis_url=redis_url)
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.apikeys.services import api_key_create
    from apps.core.signing import bhex_sign

    _symbol, people = market(args.users)
    keys = [api_key_create(user=user, permissions=("read", "trade")) for user in people]
    client = Client()
    rng = random.Random(5)

    def request(i: int) -> tuple[int, str]:
        key, secret = keys[i % len(keys)]
        side = rng.choice(["BUY", "SELL"])
        offset = rng.randint(1, 400)
        price = 10000 - offset if side == "BUY" else 10000 + offset
        params = {
            "symbol": "BTCUSDT",
            "side": side,
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.01",
            "price": f"{price / 100:.2f}",
            "newClientOrderId": f"p{i}",
            "timestamp": int(time.time() * 1000),
            "recvWindow": 10000,
        }
        query = urlencode(params)
        query += f"&signature={bhex_sign(secret, query.encode())}"
        answer = client.post(f"/openapi/v1/order?{query}", HTTP_X_BH_APIKEY=key.key)
        return answer.status_code, answer.content.decode()

    for i in range(20):  # warm-up: imports, connections, caches
        request(10**6 + i)
    wall: list[float] = []
    cpu: list[float] = []
    queries: list[int] = []
    errors = 0
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    for i in range(args.orders):
        reset_queries()
        w0, c0 = time.perf_counter(), time.process_time()
        with CaptureQueriesContext(connection) as captured:
            if profiler:
                profiler.enable()
            status, body = request(i)
            if profiler:
                profiler.disable()
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        queries.append(len(captured.captured_queries))
        if status != 200:
            errors += 1
            if errors <= 3:
                print(f"error {status}: {body[:200]}")
    elapsed = time.perf_counter() - started
    if profiler:
        out = io.StringIO()
        only = os.environ.get("PROFILE_FILTER", "")  # a regular expression on file:line(function)
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(only, 60)
        print(out.getvalue())
        print("Self time by package (where the CPU of a placement goes):")
        by_package: dict[str, float] = {}
        stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
        for (file, _, _), (_, _, tottime, _, _) in stats.items():
            by_package[package_of(file)] = by_package.get(package_of(file), 0.0) + tottime
        total = sum(by_package.values())
        for name, seconds in sorted(by_package.items(), key=lambda item: -item[1])[:15]:
            print(f"  {100 * seconds / total:5.1f}%  {1000 * seconds / args.orders:6.2f} ms/request  {name}")
        statements: dict[str, int] = {}
        with CaptureQueriesContext(connection) as captured:
            request(2 * 10**6)
        for q in captured.captured_queries:
            statements[q["sql"][:110]] = statements.get(q["sql"][:110], 0) + 1
        print("SQL of one placement:")
        for sql, count in statements.items():
            print(f"  {count} × {sql}")
    report = {
        "bench": "place",
        "orders": args.orders,
        "seconds": round(elapsed, 3),
        "orders_per_s_one_thread": round(args.orders / elapsed, 1),
        "wall_ms": {"p50": round(percentile(wall, 50), 2), "p99": round(percentile(wall, 99), 2)},
        "cpu_ms": {"p50": round(percentile(cpu, 50), 2), "p99": round(percentile(cpu, 99), 2)},
        "queries_per_request": round(sum(queries) / len(queries), 1),
        "errors": errors,
        "profiled": bool(profiler),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
