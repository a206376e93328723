"""``queue_match``: one waiting task message per symbol, and an order is never failed by the queue."""

from __future__ import annotations

import pytest

from apps.trading import services, tasks
from apps.trading.models import MatchCommand, Order, OrderStatus
from apps.trading.tasks import match_symbol
from broker.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


class FakeTask:
    def __init__(self, apply_async):
        self.apply_async = apply_async


@pytest.fixture
def services_mode():
    """Tasks are published, not run in-process (as with a real broker)."""
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


@pytest.fixture
def published(services_mode, monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr(tasks, "match_symbol", FakeTask(lambda args, queue: calls.append((args, queue))))
    return calls


def test_placements_in_the_same_instant_share_one_task_message(traders, place, published):
    alice, bob = traders
    place(alice, "buy", price="100", quantity="1")
    place(bob, "sell", price="101", quantity="1")
    place(alice, "buy", price="99", quantity="1")
    assert published == [(("BTCUSDT",), services.match_queue("BTCUSDT"))]
    assert MatchCommand.objects.filter(processed_at__isnull=True).count() == 3


def test_the_worker_clears_the_mark_before_it_drains_so_a_later_order_queues_again(traders, place, published):
    alice, bob = traders
    place(alice, "buy", price="100", quantity="1")
    assert len(published) == 1
    assert match_symbol("BTCUSDT") == 1  # the task body, in this process: clears the mark, drains
    assert Order.objects.get().status == OrderStatus.NEW
    place(bob, "sell", price="101", quantity="1")
    assert len(published) == 2


def test_an_unreachable_cache_still_publishes(traders, place, published, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(services.cache, "add", broken)
    alice, _ = traders
    place(alice, "buy", price="100", quantity="1")
    place(alice, "buy", price="99", quantity="1")
    assert len(published) == 2


def test_an_unreachable_broker_does_not_fail_the_committed_order(traders, place, services_mode, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks, "match_symbol", FakeTask(broken))
    alice, _ = traders
    order = place(alice, "buy", price="100", quantity="1", client_order_id="kept")
    assert Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).exists()
    assert services.stale_symbols() == ["BTCUSDT"]  # the sweeper re-queues it
