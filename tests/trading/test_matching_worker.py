"""Matching with real Celery workers over Redis, on PostgreSQL (DESIGN.md §8, §13).

A worker process is started with the test database's URL; orders are placed by many users from
several threads; the worker matches them in batches. One test kills the worker (SIGKILL) while
orders stream in and starts a new one: afterwards no acknowledged order is lost, nothing is filled
twice, the ledger reconciles, and the live state equals a replay of the command log.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, connections

from apps.accounts.reconcile import reconcile
from apps.core.errors import BrokerError
from apps.trading import matching
from apps.trading.models import MatchCommand, Order, OrderStatus, Trade
from apps.trading.services import order_place

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    auth = f"{user}:{s['PASSWORD']}" if s.get("PASSWORD") else user
    return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


class Worker:
    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.process: subprocess.Popen[bytes] | None = None
        self.log = open(os.devnull, "wb")

    def start(self) -> None:
        env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": self.redis_url, "DB_POOL": "0"}
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "broker",
                "worker",
                "-Q",
                "match.0,default",
                "-P",
                "solo",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "WARNING",
                "-n",
                f"test{time.time_ns()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=self.log,
        )

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def worker(postgres, redis_service):
    from broker.celery import app

    # The autouse fixture has flushed the test Redis database: no task is left from an earlier test.
    app.conf.task_always_eager = False
    w = Worker(redis_service)
    w.start()
    yield w
    w.stop()
    app.conf.task_always_eager = True


def wait_until_matched(timeout: float = 90) -> None:
    from apps.trading.tasks import match_sweep

    deadline = time.monotonic() + timeout
    nudged = time.monotonic()
    while time.monotonic() < deadline:
        if not MatchCommand.objects.filter(processed_at__isnull=True).exists():
            return
        if time.monotonic() - nudged > 5:
            match_sweep.delay()  # as celery beat would
            nudged = time.monotonic()
        time.sleep(0.2)
    pending = MatchCommand.objects.filter(processed_at__isnull=True).count()
    raise AssertionError(f"{pending} commands still pending after {timeout}s")


def place_random_orders(users, count: int, seed: int, placed: list[int], stop: threading.Event | None = None) -> None:
    rng = random.Random(seed)
    try:
        for i in range(count):
            if stop is not None and stop.is_set():
                return
            user = rng.choice(users)
            side = rng.choice(["buy", "sell"])
            kind = rng.random()
            try:
                if kind < 0.8:
                    order = order_place(
                        user=user,
                        symbol_id="BTCUSDT",
                        side=side,
                        type="limit",
                        price=str(rng.randint(9900, 10100) / 100),
                        quantity=str(rng.randint(1, 50) / 100),
                        client_order_id=f"s{seed}-{i}",
                    )
                elif side == "buy":
                    order = order_place(
                        user=user,
                        symbol_id="BTCUSDT",
                        side="buy",
                        type="market",
                        quote_amount=str(rng.randint(10, 300)),
                        client_order_id=f"s{seed}-{i}",
                    )
                else:
                    order = order_place(
                        user=user,
                        symbol_id="BTCUSDT",
                        side="sell",
                        type="market",
                        quantity=str(rng.randint(1, 30) / 100),
                        client_order_id=f"s{seed}-{i}",
                    )
                placed.append(order.pk)
            except BrokerError:
                pass  # e.g. insufficient balance: refused before acknowledgement, nothing to check
    finally:
        connections.close_all()


def assert_consistent(placed: list[int]) -> None:
    # every acknowledged order reached the engine
    assert not Order.objects.filter(pk__in=placed, status=OrderStatus.PENDING).exists()
    assert MatchCommand.objects.filter(order_id__in=placed, kind="place", seq__isnull=False).count() == len(set(placed))
    # nothing filled twice: each order's executed quantity is exactly the sum of its fills
    filled: dict[int, Decimal] = defaultdict(Decimal)
    for trade in Trade.objects.all():
        filled[trade.buy_order_id] += trade.quantity
        filled[trade.sell_order_id] += trade.quantity
    for order in Order.objects.all():
        assert order.executed_quantity == filled.get(order.pk, Decimal(0)), order.pk
        if order.quantity is not None:
            assert order.executed_quantity <= order.quantity
    assert (
        len(set(Trade.objects.values_list("match_seq", "buy_order_id", "sell_order_id", "price", "quantity")))
        == Trade.objects.count()
    )
    # sequences are gapless: each command applied exactly once
    seqs = list(MatchCommand.objects.filter(seq__isnull=False).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    # the live book equals a replay of the command log
    from apps.tokens.models import Symbol

    symbol = Symbol.objects.get(pk="BTCUSDT")
    book, trades = matching.replay(symbol)
    resting = sorted(
        Order.objects.filter(symbol=symbol, status__in=[OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED]).values_list(
            "pk", "leaves_quantity"
        )
    )
    assert sorted((o[0], Decimal(o[4]) * symbol.quantity_step) for o in book.orders()) == resting
    assert len(trades) == Trade.objects.count()
    best_bid, best_ask = book.best_bid(), book.best_ask()
    assert best_bid is None or best_ask is None or best_bid < best_ask
    report = reconcile()
    assert report["ok"], report


@pytest.fixture
def many_traders(make_user, fund, btcusdt):
    users = []
    for i in range(12):
        user = make_user(email=f"trader{i}@example.com")
        fund(user, "BTC", "50")
        fund(user, "USDT", "500000")
        users.append(user)
    return users


def test_concurrent_orders_from_many_users_match_correctly(worker, many_traders):
    placed: list[int] = []
    threads = [threading.Thread(target=place_random_orders, args=(many_traders, 60, seed, placed)) for seed in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(placed) > 300
    wait_until_matched()
    assert Trade.objects.count() > 20
    assert_consistent(placed)


def test_killing_the_worker_mid_stream_loses_nothing_and_fills_nothing_twice(worker, many_traders):
    placed: list[int] = []
    stop = threading.Event()
    producer = threading.Thread(target=place_random_orders, args=(many_traders, 400, 99, placed, stop))
    producer.start()
    kills = 0
    for _ in range(3):
        time.sleep(1.5)
        worker.kill()  # SIGKILL: no cleanup, possibly mid-batch
        kills += 1
        time.sleep(0.5)
        worker.start()
    producer.join()
    wait_until_matched(timeout=120)
    assert kills == 3 and len(placed) > 100
    assert Trade.objects.exists()
    assert_consistent(placed)
