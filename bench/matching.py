"""Matching + settlement throughput on PostgreSQL: ``python bench/matching.py [--orders N] [--batch B]``.

Method: a fresh database with 50 funded users; N random limit/market orders are written as pending
commands with their holds (one ledger transaction per user, so the setup is not what is timed);
then the matching worker's batch step (``apps.trading.matching.match_batch``) drains them, each batch
one DB transaction with order updates, trades, ledger postings, klines and outbox events. Reported:
orders/s over the drain, batch latency percentiles, trades. Placement through ``order_place`` (the
API path: validation, hold, command) is timed separately on a sample. Ends with ``reconcile``.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections import defaultdict
from decimal import Decimal

from _django import percentile, setup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--place-sample", type=int, default=500)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the drain")
    args = parser.parse_args()

    setup("broker_bench")
    from unittest import mock

    from _django import market
    from django.db import transaction

    from apps.accounts.ledger import Leg, ledger_post
    from apps.accounts.models import Bucket
    from apps.accounts.reconcile import reconcile
    from apps.accounts.services import user_account
    from apps.trading.matching import match_batch
    from apps.trading.models import CommandKind, MatchCommand, Order, Trade
    from apps.trading.services import order_place

    symbol, users = market(50)
    accounts = {u.pk: user_account(user=u) for u in users}
    rng = random.Random(7)

    orders: list[Order] = []
    holds: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for i in range(args.orders):
        user = rng.choice(users)
        side = rng.choice(["buy", "sell"])
        account = accounts[user.pk]
        if rng.random() < 0.9:
            price = Decimal(rng.randint(9950, 10050)) / 100
            qty = Decimal(rng.randint(1, 100)) / 100
            hold_token, hold = ("USDT", price * qty) if side == "buy" else ("BTC", qty)
            fields = {"type": "limit", "time_in_force": "gtc", "price": price, "quantity": qty, "leaves_quantity": qty}
        elif side == "buy":
            funds = Decimal(rng.randint(10, 500))
            hold_token, hold = "USDT", funds
            fields = {"type": "market", "time_in_force": "ioc", "quote_amount": funds}
        else:
            qty = Decimal(rng.randint(1, 50)) / 100
            hold_token, hold = "BTC", qty
            fields = {"type": "market", "time_in_force": "ioc", "quantity": qty, "leaves_quantity": qty}
        holds[(account.pk, hold_token)] += hold
        orders.append(
            Order(
                organization_id=user.organization_id,
                user=user,
                account=account,
                symbol=symbol,
                client_order_id=f"b{i}",
                side=side,
                hold_token_id=hold_token,
                hold_amount=hold,
                hold_remaining=hold,
                **fields,
            )
        )
    with transaction.atomic():
        for (account_id, token), amount in holds.items():
            ledger_post(
                kind="order_hold",
                organization_id=None,
                legs=[Leg(account_id, token, Bucket.AVAILABLE, -amount), Leg(account_id, token, Bucket.HOLD, amount)],
            )
        created = Order.objects.bulk_create(orders, batch_size=2000)
        MatchCommand.objects.bulk_create(
            [MatchCommand(symbol=symbol, kind=CommandKind.PLACE, order=o) for o in created], batch_size=2000
        )
    print(f"setup: {args.orders} pending orders for {len(users)} users")

    # Event delivery runs on the notifications worker in production, not in the matching worker:
    # keep it out of the measured path (the outbox rows themselves are written and counted).
    patcher = mock.patch("apps.events.services._queue_delivery")
    patcher.start()
    batch_ms: list[float] = []
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    slow: list[tuple[float, str]] = []

    def timed(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            slow.append((time.perf_counter() - t0, sql[:120]))

    from django.db import connection

    wrapper = connection.execute_wrapper(timed) if args.profile else None
    if wrapper is not None:
        wrapper.__enter__()
    started = time.perf_counter()
    processed = 0
    while True:
        t0 = time.perf_counter()
        done = match_batch(symbol.pk, batch_size=args.batch)
        if not done:
            break
        batch_ms.append((time.perf_counter() - t0) * 1000)
        processed += done
    elapsed = time.perf_counter() - started
    patcher.stop()
    if wrapper is not None:
        wrapper.__exit__(None, None, None)
        for seconds, sql in sorted(slow, reverse=True)[:12]:
            print(f"{seconds * 1000:8.1f} ms  {sql}")
    if profiler is not None:
        import pstats

        profiler.disable()
        stats = pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "tottime"))
        stats.print_stats(int(os.environ.get("PROFILE_ROWS", "25")))
    trades = Trade.objects.count()
    print(f"matched {processed} orders in {elapsed:.2f}s: {processed / elapsed:.0f} orders/s, {trades} trades")

    place_ms: list[float] = []
    with mock.patch("apps.trading.services.queue_match"):  # placement path only
        for i in range(args.place_sample):
            t0 = time.perf_counter()
            order_place(
                user=rng.choice(users),
                symbol_id=symbol.pk,
                side=rng.choice(["buy", "sell"]),
                type="limit",
                price=str(Decimal(rng.randint(9000, 9500)) / 100),
                quantity="0.01",
                client_order_id=f"p{i}",
            )
            place_ms.append((time.perf_counter() - t0) * 1000)
    report = reconcile()
    result = {
        "bench": "matching",
        "orders": processed,
        "batch_size": args.batch,
        "seconds": round(elapsed, 3),
        "orders_per_s": round(processed / elapsed),
        "trades": trades,
        "trades_per_s": round(trades / elapsed),
        "batch_p50_ms": round(percentile(batch_ms, 50), 1),
        "batch_p99_ms": round(percentile(batch_ms, 99), 1),
        "place_p50_ms": round(percentile(place_ms, 50), 2),
        "place_p99_ms": round(percentile(place_ms, 99), 2),
        "place_per_s_one_thread": round(1000 / (sum(place_ms) / len(place_ms))) if place_ms else 0,
        "reconcile_ok": report["ok"],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
