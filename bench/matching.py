"""Matching + settlement throughput on PostgreSQL: ``python bench/matching.py [--orders N] [--batch B]``.

Method: a fresh database with 50 funded users; N random limit/market orders are written as pending
commands with their holds (one ledger transaction per user, so the setup is not what is timed);
then the matching worker's batch step (``apps.trading.matching.match_batch``) drains them, each batch
one DB transaction with order updates, trades, ledger postings, klines and outbox events. Reported:
orders/s over the drain, batch latency percentiles, trades, and the 1-minute load average before and
after the drain (the machine is shared: compare runs made under the same load). Placement through
``order_place`` (the API path: validation, hold, command) is timed separately on a sample. Ends with
``reconcile``. The last line printed is one JSON object. ``--profile`` adds where a batch's time goes
(phases, SQL statements, a cProfile listing).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from _django import percentile, setup

# Where a batch's time goes: (label, file suffix, function, only when called from this function).
PHASES = [
    ("match_batch: the whole batch", "trading/matching.py", "match_batch", None),
    ("  lock the symbol's state row", "trading/matching.py", "_lock_state", None),
    ("  read the pending commands + orders", "trading/matching.py", "_load_commands", None),
    ("  book rebuild", "trading/matching.py", "book_rebuild", None),
    ("  engine (run_command)", "trading/matching.py", "run_command", None),
    ("  read makers not in memory", "trading/matching.py", "_load_makers", None),
    ("  ledger_post", "accounts/ledger.py", "ledger_post", None),
    ("    of which balance rows update", "core/db.py", "update_rows", "ledger_post"),
    ("    of which postings COPY", "core/db.py", "insert_rows", "ledger_post"),
    ("  order + command rows update", "core/db.py", "update_rows", "_write"),
    ("  trades COPY", "core/db.py", "insert_rows", "_write"),
    ("  outbox payloads", "trading/matching.py", "_events", None),
    ("  outbox COPY", "events/services.py", "events_emit_rows", None),
    ("  klines upsert", "market/services.py", "klines_record", None),
    ("  COMMIT", "django/db/backends/base/base.py", "commit", None),
    ("  after commit: depth + fan-out", "trading/matching.py", "publish", None),
]


def print_phases(stats: object, batches: int) -> None:
    """Cumulative time per batch of the functions in ``PHASES`` (cProfile inflates Python-heavy ones)."""
    table = stats.stats  # type: ignore[attr-defined]
    print(f"\nPhases per batch (cProfile cumulative, {batches} batches):")
    for label, path, name, caller in PHASES:
        total = 0.0
        for (file, _, func), (_, _, _, cumtime, callers) in table.items():
            if not file.endswith(path) or func != name:
                continue
            if caller is None:
                total += cumtime
            else:
                total += sum(v[3] for (_, _, f), v in callers.items() if f == caller)
        print(f"{total * 1000 / batches:8.1f} ms  {label}")
    print()


def backend_cpu_reader(connection: object) -> Callable[[], float]:
    """CPU seconds used so far by this connection's PostgreSQL backend (read from /proc: the server
    runs on this machine); 0 if it cannot be read."""
    with connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    ticks = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        except OSError:
            return 0.0

    return read


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
    statements: dict[str, list[float]] = defaultdict(list)

    def timed(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements[" ".join(sql.split()[:4])[:70]].append(time.perf_counter() - t0)

    from django.db import connection

    wrapper = connection.execute_wrapper(timed) if args.profile else None
    if wrapper is not None:
        wrapper.__enter__()
    load_before = os.getloadavg()[0]  # the machine is shared: say how busy it was
    backend = backend_cpu_reader(connection)
    pg_cpu_before, py_cpu_before = backend(), time.process_time()
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
    py_cpu, pg_cpu = time.process_time() - py_cpu_before, backend() - pg_cpu_before
    load_after = os.getloadavg()[0]
    patcher.stop()
    if wrapper is not None:
        wrapper.__exit__(None, None, None)
        batches = max(1, len(batch_ms))
        print("\nSQL through the ORM cursor (client + server time; COPY and COMMIT are not here), per batch:")
        for sql, times in sorted(statements.items(), key=lambda kv: -sum(kv[1]))[:15]:
            print(f"{sum(times) * 1000 / batches:8.1f} ms  {len(times) / batches:5.1f}×  {sql}")
    if profiler is not None:
        import pstats

        profiler.disable()
        stats = pstats.Stats(profiler)
        print_phases(stats, max(1, len(batch_ms)))
        stats.sort_stats(os.environ.get("PROFILE_SORT", "tottime"))
        stats.print_stats(int(os.environ.get("PROFILE_ROWS", "25")))
    batches = max(1, len(batch_ms))
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
        "load_1m": [round(load_before, 2), round(load_after, 2)],
        # CPU spent per batch by this process and by its PostgreSQL backend: much less sensitive to
        # other work on the machine than the wall-clock figures above.
        "cpu_ms_per_batch": {
            "python": round(py_cpu * 1000 / batches, 1),
            "postgres": round(pg_cpu * 1000 / batches, 1),
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
