"""Benchmark of the matching engine on one core: ``python bench/engine.py [commands]``.

A seeded random mix around the book's own mid price: 70% GTC limit places (about one in
ten aggressive enough to cross), 20% cancels of random live orders, 10% takers (market by
quantity, market buy by funds, IOC limits). Each command is timed alone with
``time.perf_counter_ns``; throughput is commands / engine time. Bookkeeping of the harness
(choosing ids to cancel, reading the mid) is outside the timed region. The last line
printed is one JSON object.
"""

from __future__ import annotations

import gc
import json
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.trading.engine import OrderBook, OrderType, OrderUpdate, Side, Status, TimeInForce

COMMANDS = 300_000
WARMUP = 20_000
SEED = 20240601
START_MID = 100_000
OWNERS = 2_000

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
GTC, IOC = TimeInForce.GTC, TimeInForce.IOC
OPEN = (Status.NEW, Status.PARTIALLY_FILLED)


class LiveOrders:
    """Ids of resting orders with O(1) add, remove and random pick (harness only)."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.pos: dict[int, int] = {}

    def add(self, order_id: int) -> None:
        self.pos[order_id] = len(self.ids)
        self.ids.append(order_id)

    def discard(self, order_id: int) -> None:
        i = self.pos.pop(order_id, None)
        if i is None:
            return
        last = self.ids.pop()
        if last != order_id:
            self.ids[i] = last
            self.pos[last] = i

    def track(self, taker_id: int, updates: list[OrderUpdate]) -> None:
        for u in updates:
            if u.status in OPEN:
                if u.order_id == taker_id and taker_id not in self.pos:
                    self.add(taker_id)
            else:
                self.discard(u.order_id)


def run(
    book: OrderBook, n: int, rng: random.Random, live: LiveOrders, first_id: int
) -> tuple[list[int], dict[str, int]]:
    """Run ``n`` commands; return each command's latency in ns and the count of each kind."""
    latencies = [0] * n
    perf = time.perf_counter_ns
    rand = rng.random
    randint = rng.randint
    expo = rng.expovariate
    place = book.place
    cancel = book.cancel
    order_id = first_id
    counts = {"limit": 0, "cancel": 0, "market": 0, "ioc": 0}
    for i in range(n):
        bid = book.best_bid()
        ask = book.best_ask()
        if bid is not None and ask is not None:
            mid = (bid + ask) // 2
        else:
            mid = bid if bid is not None else ask if ask is not None else START_MID
        r = rand()
        owner = randint(1, OWNERS)
        side = BUY if rand() < 0.5 else SELL
        qty = randint(1, 20)
        if r < 0.70 or (r < 0.90 and not live.ids):
            counts["limit"] += 1
            offset = 1 + int(expo(1 / 12))  # passive, mostly near the touch
            if rand() < 0.10:
                offset = -randint(0, 4)  # aggressive: crosses up to a few ticks
            price = mid - offset if side == BUY else mid + offset
            order_id += 1
            t0 = perf()
            _, updates = place(order_id=order_id, owner=owner, side=side, type=LIMIT, tif=GTC, price=price, qty=qty)
            latencies[i] = perf() - t0
            live.track(order_id, updates)
        elif r < 0.90:
            counts["cancel"] += 1
            target = live.ids[randint(0, len(live.ids) - 1)]
            t0 = perf()
            _, updates = cancel(target)
            latencies[i] = perf() - t0
            live.discard(target)
        else:
            order_id += 1
            kind = rand()
            if kind < 0.35:
                counts["market"] += 1
                t0 = perf()
                _, updates = place(order_id=order_id, owner=owner, side=side, type=MARKET, tif=IOC, price=None, qty=qty)
            elif kind < 0.60:
                counts["market"] += 1
                funds = qty * mid
                t0 = perf()
                _, updates = place(
                    order_id=order_id,
                    owner=owner,
                    side=BUY,
                    type=MARKET,
                    tif=IOC,
                    price=None,
                    qty=None,
                    funds=funds,
                )
            else:
                counts["ioc"] += 1
                price = mid + randint(-2, 3) if side == BUY else mid - randint(-2, 3)
                t0 = perf()
                _, updates = place(order_id=order_id, owner=owner, side=side, type=LIMIT, tif=IOC, price=price, qty=qty)
            latencies[i] = perf() - t0
            live.track(order_id, updates)
    return latencies, counts


def percentile(sorted_values: list[int], q: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main() -> None:
    commands = int(sys.argv[1]) if len(sys.argv) > 1 else COMMANDS
    rng = random.Random(SEED)
    book = OrderBook()
    live = LiveOrders()
    run(book, WARMUP, rng, live, 0)
    print(f"python {platform.python_version()} on {platform.machine()}, gc enabled: {gc.isenabled()}")
    print(f"warm-up: {WARMUP} commands, book holds {len(book)} orders")

    wall0 = time.perf_counter()
    latencies, counts = run(book, commands, rng, live, 10_000_000)
    wall = time.perf_counter() - wall0

    engine_ns = sum(latencies)
    latencies.sort()
    per_s = commands / (engine_ns / 1e9)
    p50, p99, p999 = (percentile(latencies, q) / 1000 for q in (0.50, 0.99, 0.999))
    bids, asks = book.depth()
    print(f"mix: {counts}")
    print(f"book after: {len(book)} orders, {len(bids)} bid levels, {len(asks)} ask levels, seq {book.seq}")
    print(f"engine time {engine_ns / 1e9:.3f} s, wall time with harness {wall:.3f} s")
    print(f"throughput {per_s:,.0f} commands/s; latency p50 {p50:.1f} us, p99 {p99:.1f} us, p99.9 {p999:.1f} us")
    print(f"max latency {latencies[-1] / 1000:.1f} us")
    rebuild0 = time.perf_counter()
    rebuilt = OrderBook()
    resting = book.orders()  # canonical order keeps time priority within each level
    for order_id, owner, side, price, remaining in resting:
        rebuilt.restore(order_id=order_id, owner=owner, side=side, price=price, remaining_qty=remaining)
    rebuild = time.perf_counter() - rebuild0
    assert rebuilt.orders() == resting
    print(f"rebuild with restore(): {len(resting)} orders in {rebuild:.3f} s")
    result = {
        "bench": "engine",
        "commands": commands,
        "commands_per_s": round(per_s),
        "p50_us": round(p50, 2),
        "p99_us": round(p99, 2),
        "p999_us": round(p999, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
