"""Book rebuild time: ``python bench/rebuild.py [--orders 100000]``.

Method: a fresh PostgreSQL database; N resting limit orders (bids below 100, asks above, so none
cross) are written with their holds; then ``apps.trading.matching.book_rebuild`` loads them from the
database into a fresh engine in time priority, as a matching worker does on start. Reported: the
rebuild's wall time and, separately, the engine-only ``restore`` time. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from decimal import Decimal

from _django import setup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    args = parser.parse_args()

    setup("broker_bench_rebuild")
    from _django import market
    from django.db import transaction

    from apps.accounts.ledger import Leg, ledger_post
    from apps.accounts.models import Bucket
    from apps.accounts.services import user_account
    from apps.trading import engine
    from apps.trading.matching import book_rebuild
    from apps.trading.models import Order, OrderStatus

    symbol, users = market(100)
    accounts = {u.pk: user_account(user=u) for u in users}
    rng = random.Random(11)
    rows: list[Order] = []
    holds: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for i in range(args.orders):
        user = rng.choice(users)
        side = "buy" if i % 2 else "sell"
        price = Decimal(rng.randint(5000, 9999) if side == "buy" else rng.randint(10001, 15000)) / 100
        qty = Decimal(rng.randint(1, 1000)) / 1000
        token, hold = ("USDT", price * qty) if side == "buy" else ("BTC", qty)
        holds[(accounts[user.pk].pk, token)] += hold
        rows.append(
            Order(
                organization_id=user.organization_id,
                user=user,
                account=accounts[user.pk],
                symbol=symbol,
                client_order_id=f"r{i}",
                side=side,
                type="limit",
                price=price,
                quantity=qty,
                leaves_quantity=qty,
                status=OrderStatus.NEW,
                book_seq=i + 1,
                hold_token_id=token,
                hold_amount=hold,
                hold_remaining=hold,
            )
        )
    with transaction.atomic():
        for (account_id, token), amount in holds.items():
            ledger_post(
                kind="order_hold",
                organization_id=None,
                legs=[Leg(account_id, token, Bucket.AVAILABLE, -amount), Leg(account_id, token, Bucket.HOLD, amount)],
            )
        Order.objects.bulk_create(rows, batch_size=5000)
    print(f"setup: {args.orders} resting orders")

    started = time.perf_counter()
    live = book_rebuild(symbol, seq=args.orders)
    rebuild_s = time.perf_counter() - started
    assert len(live.book) == args.orders

    fresh = engine.OrderBook()
    t0 = time.perf_counter()
    for i, order in enumerate(rows):
        fresh.restore(
            order_id=i + 1,
            owner=order.user_id,
            side=engine.Side.BUY if order.side == "buy" else engine.Side.SELL,
            price=int(order.price / symbol.price_tick),
            remaining_qty=int(order.quantity / symbol.quantity_step),
        )
    restore_s = time.perf_counter() - t0
    print(f"rebuild from PostgreSQL: {rebuild_s:.2f}s; engine restore alone: {restore_s:.2f}s")
    print(
        json.dumps(
            {
                "bench": "rebuild",
                "orders": args.orders,
                "rebuild_s": round(rebuild_s, 3),
                "orders_per_s": round(args.orders / rebuild_s),
                "engine_restore_s": round(restore_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
