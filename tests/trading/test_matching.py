"""Matching and settlement through the real services (engine in-process, DESIGN.md §8)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.accounts.models import AccountType, Balance
from apps.accounts.reconcile import reconcile
from apps.core import errors
from apps.events.models import OutboxEvent
from apps.market import selectors as market
from apps.tokens.models import SymbolStatus
from apps.tokens.services import symbol_set_status
from apps.trading import matching
from apps.trading.models import Order, OrderStatus, SymbolMatchState, Trade
from apps.trading.services import order_cancel, order_cancel_all

pytestmark = pytest.mark.django_db(transaction=True)


def fee_balance(org, token):
    row = Balance.objects.filter(account__organization=org, account__type=AccountType.FEE, token_id=token).first()
    return row.available if row else Decimal(0)


def reload(order):
    return Order.objects.get(pk=order.pk)


def test_limit_orders_cross_at_maker_price_with_fees_and_hold_release(traders, place, bal, org):
    alice, bob = traders
    sell = place(alice, "sell", price="100", quantity="1")
    buy = place(bob, "buy", price="101", quantity="1")
    trade = Trade.objects.get()
    assert (trade.price, trade.quantity, trade.quote_quantity, trade.buyer_is_maker) == (
        Decimal("100"),
        Decimal("1"),
        Decimal("100"),
        False,
    )
    assert (trade.buyer_fee, trade.seller_fee) == (Decimal("0.002"), Decimal("0.1"))  # taker 0.2%, maker 0.1%
    assert reload(sell).status == reload(buy).status == OrderStatus.FILLED
    # bob held 101, paid 100: the 1 USDT price improvement is released
    assert bal(bob, "USDT") == (Decimal("99900"), Decimal("0"))
    assert bal(bob, "BTC") == (Decimal("10.998"), Decimal("0"))
    assert bal(alice, "USDT") == (Decimal("100099.9"), Decimal("0"))
    assert bal(alice, "BTC") == (Decimal("9"), Decimal("0"))
    assert (fee_balance(org, "BTC"), fee_balance(org, "USDT")) == (Decimal("0.002"), Decimal("0.1"))
    assert SymbolMatchState.objects.get().last_price == Decimal("100")
    assert reconcile()["ok"]


def test_partial_fill_keeps_the_rest_resting_and_held(traders, place, bal):
    alice, bob = traders
    sell = place(alice, "sell", price="100", quantity="2")
    place(bob, "buy", price="100", quantity="0.5")
    sell = reload(sell)
    assert (sell.status, sell.executed_quantity, sell.leaves_quantity) == (
        OrderStatus.PARTIALLY_FILLED,
        Decimal("0.5"),
        Decimal("1.5"),
    )
    assert bal(alice, "BTC") == (Decimal("8"), Decimal("1.5"))
    assert reconcile()["ok"]


def test_price_time_priority_across_levels(traders, place, make_user, fund):
    alice, bob = traders
    carol = make_user()
    fund(carol, "BTC", "5")
    first = place(alice, "sell", price="101", quantity="1")
    better = place(carol, "sell", price="100", quantity="1")
    second = place(carol, "sell", price="101", quantity="1")
    place(bob, "buy", price="101", quantity="2.5")
    assert [t.sell_order_id for t in Trade.objects.order_by("pk")] == [better.pk, first.pk, second.pk]
    assert [t.price for t in Trade.objects.order_by("pk")] == [Decimal("100"), Decimal("101"), Decimal("101")]
    assert reload(second).leaves_quantity == Decimal("0.5")


def test_market_buy_spends_quote_amount_and_releases_dust(traders, place, bal):
    alice, bob = traders
    place(alice, "sell", price="100", quantity="1")
    place(alice, "sell", price="110", quantity="1")
    order = reload(place(bob, "buy", type="market", quote_amount="150"))
    assert order.status == OrderStatus.FILLED and order.reason == "funds_exhausted"
    assert (order.executed_quantity, order.executed_quote) == (Decimal("1.4545"), Decimal("149.995"))
    assert bal(bob, "USDT") == (Decimal("100000") - Decimal("149.995"), Decimal("0"))
    assert order.hold_remaining == 0
    assert reconcile()["ok"]


def test_market_sell_on_empty_book_is_canceled_and_released(traders, place, bal):
    alice, _ = traders
    order = reload(place(alice, "sell", type="market", quantity="1"))
    assert (order.status, order.reason) == (OrderStatus.CANCELED, "no_liquidity")
    assert bal(alice, "BTC") == (Decimal("10"), Decimal("0"))


def test_ioc_remainder_is_canceled(traders, place, bal):
    alice, bob = traders
    place(alice, "sell", price="100", quantity="1")
    order = reload(place(bob, "buy", price="100", quantity="3", time_in_force="ioc"))
    assert (order.status, order.executed_quantity, order.reason) == (OrderStatus.CANCELED, Decimal("1"), "ioc")
    assert bal(bob, "USDT") == (Decimal("99900"), Decimal("0"))


def test_fok_that_cannot_fill_is_rejected_and_changes_nothing(traders, place, bal):
    alice, bob = traders
    resting = place(alice, "sell", price="100", quantity="1")
    order = reload(place(bob, "buy", price="100", quantity="2", time_in_force="fok"))
    assert (order.status, order.reason) == (OrderStatus.REJECTED, "fok")
    assert not Trade.objects.exists()
    assert reload(resting).status == OrderStatus.NEW
    assert bal(bob, "USDT") == (Decimal("100000"), Decimal("0"))
    filled = reload(place(bob, "buy", price="100", quantity="1", time_in_force="fok"))
    assert filled.status == OrderStatus.FILLED


def test_post_only_rejected_when_it_would_take(traders, place):
    alice, bob = traders
    place(alice, "sell", price="100", quantity="1")
    crossing = reload(place(bob, "buy", type="limit_maker", price="100", quantity="1"))
    assert (crossing.status, crossing.reason) == (OrderStatus.REJECTED, "post_only")
    assert reload(place(bob, "buy", type="limit_maker", price="99.99", quantity="1")).status == OrderStatus.NEW


@pytest.mark.parametrize(
    "stp, maker_status, taker_status",
    [
        ("dc", OrderStatus.CANCELED, OrderStatus.CANCELED),  # equal sizes: both canceled
        ("co", OrderStatus.CANCELED, OrderStatus.NEW),  # oldest canceled, taker rests
        ("cn", OrderStatus.NEW, OrderStatus.CANCELED),
        ("cb", OrderStatus.CANCELED, OrderStatus.CANCELED),
    ],
)
def test_self_trade_prevention_modes(traders, place, bal, stp, maker_status, taker_status):
    alice, _ = traders
    maker = place(alice, "sell", price="100", quantity="1")
    taker = place(alice, "buy", price="100", quantity="1", stp=stp)
    assert not Trade.objects.exists()
    assert (reload(maker).status, reload(taker).status) == (maker_status, taker_status)
    assert reconcile()["ok"]


def test_self_trade_decrease_releases_the_decreased_hold(traders, place, bal):
    alice, _ = traders
    maker = place(alice, "sell", price="100", quantity="3")
    place(alice, "buy", price="100", quantity="1", stp="dc")
    maker = reload(maker)
    assert (maker.status, maker.leaves_quantity, maker.hold_remaining) == (OrderStatus.NEW, Decimal("2"), Decimal("2"))
    assert bal(alice, "BTC") == (Decimal("8"), Decimal("2"))
    assert reconcile()["ok"]


def test_cancel_releases_hold_and_is_idempotent(traders, place, bal):
    alice, bob = traders
    order = place(alice, "buy", price="100", quantity="1", client_order_id="to-cancel")
    place(bob, "sell", price="100", quantity="0.25")
    canceled = order_cancel(user=alice, client_order_id="to-cancel")
    assert (canceled.status, canceled.executed_quantity) == (OrderStatus.CANCELED, Decimal("0.25"))
    assert bal(alice, "USDT") == (Decimal("99975"), Decimal("0"))
    with pytest.raises(errors.CancelRejected):
        order_cancel(user=alice, order_id=order.pk)
    with pytest.raises(errors.OrderNotFound):
        order_cancel(user=bob, order_id=order.pk)  # not bob's order
    assert reconcile()["ok"]


def test_cancel_all_for_a_symbol(traders, place, bal):
    alice, _ = traders
    for price in ("90", "91", "92"):
        place(alice, "buy", price=price, quantity="1")
    assert order_cancel_all(user=alice, symbol_id="BTCUSDT") == 3
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.CANCELED}
    assert bal(alice, "USDT") == (Decimal("100000"), Decimal("0"))


def test_delisting_cancels_resting_orders(traders, place, btcusdt, bal):
    alice, bob = traders
    place(alice, "sell", price="100", quantity="1")
    place(bob, "buy", price="90", quantity="1")
    symbol_set_status(symbol=btcusdt, status=SymbolStatus.OFF)
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.CANCELED}
    assert bal(alice, "BTC") == (Decimal("10"), Decimal("0"))
    assert bal(bob, "USDT") == (Decimal("100000"), Decimal("0"))
    assert reconcile()["ok"]


def test_pause_keeps_resting_orders(traders, place, btcusdt):
    alice, _ = traders
    order = place(alice, "sell", price="100", quantity="1")
    symbol_set_status(symbol=btcusdt, status=SymbolStatus.PAUSE)
    assert reload(order).status == OrderStatus.NEW


def test_book_rebuilds_from_open_orders_with_time_priority(traders, place, make_user, fund):
    alice, bob = traders
    carol = make_user()
    fund(carol, "BTC", "5")
    older = place(carol, "sell", price="100", quantity="1")
    newer = place(alice, "sell", price="100", quantity="1")
    matching.forget_books()  # a worker restart: the book is gone from memory
    place(bob, "buy", price="100", quantity="1.5")
    assert reload(older).status == OrderStatus.FILLED
    assert reload(newer).leaves_quantity == Decimal("0.5")


def test_stale_sequence_forces_a_rebuild(traders, place):
    alice, bob = traders
    place(alice, "sell", price="100", quantity="1")
    # another writer advanced the stored sequence behind this process's back
    SymbolMatchState.objects.update(seq=999)
    live_before = matching._BOOKS["BTCUSDT"]
    place(bob, "buy", price="100", quantity="1")
    assert matching._BOOKS["BTCUSDT"] is not live_before
    assert Trade.objects.count() == 1
    assert SymbolMatchState.objects.get().seq == 1000


def test_events_are_written_with_the_batch(traders, place, other_org, make_user, fund):
    alice, _ = traders
    dave = make_user(organization=other_org)
    fund(dave, "USDT", "1000")
    place(alice, "sell", price="100", quantity="1")
    place(dave, "buy", price="100", quantity="1")
    matches = list(OutboxEvent.objects.filter(type="trade.match").order_by("pk"))
    assert [(e.organization_id, e.user_id, e.payload["side"]) for e in matches] == [
        (dave.organization_id, dave.pk, "buy"),
        (alice.organization_id, alice.pk, "sell"),
    ]
    # neither side's event names the other side's order
    assert all(set(e.payload) >= {"order_id", "price", "quantity"} for e in matches)
    assert matches[0].payload["order_id"] != matches[1].payload["order_id"]
    # sell rests (new), then the buy fills both: one update per order state change
    assert OutboxEvent.objects.filter(type="order.update").count() == 3
    assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()


def test_market_data_klines_ticker_depth(traders, place, btcusdt):
    alice, bob = traders
    place(alice, "sell", price="100", quantity="1")
    place(alice, "sell", price="100.05", quantity="2")
    place(alice, "sell", price="100.50", quantity="1")
    place(bob, "buy", price="99.50", quantity="3")
    place(bob, "buy", price="100", quantity="1")
    place(bob, "buy", price="100.05", quantity="0.5")
    bars = market.klines(symbol=btcusdt, interval="1m")
    assert len(bars) == 1
    bar = bars[0]
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.trade_count) == (
        Decimal("100"),
        Decimal("100.05"),
        Decimal("100"),
        Decimal("100.05"),
        Decimal("1.5"),
        2,
    )
    from apps.market.models import INTERVALS, Kline

    assert Kline.objects.filter(symbol=btcusdt).count() == len(INTERVALS)
    ticker = market.ticker_24h(symbol=btcusdt)
    assert (ticker["last"], ticker["volume"], ticker["best_bid"], ticker["best_ask"]) == (
        "100.05",
        "1.5",
        "99.5",
        "100.05",
    )
    depth = market.depth(symbol=btcusdt)
    assert depth["asks"] == [["100.05", "1.5"], ["100.5", "1"]]
    assert depth["bids"] == [["99.5", "3"]]
    assert depth["seq_id"] == SymbolMatchState.objects.get().seq
    merged = market.depth(symbol=btcusdt, merge="1")
    assert merged["asks"] == [["101", "2.5"]]
    assert merged["bids"] == [["99", "3"]]
    with pytest.raises(errors.InvalidParameter):
        market.depth(symbol=btcusdt, merge="0.5")
    # a cold cache rebuilds the same depth from open orders
    from django.core.cache import cache

    cache.clear()
    assert market.depth(symbol=btcusdt)["asks"] == depth["asks"]


def test_trades_are_published_to_the_market_group_after_commit(traders, place, monkeypatch):
    from django.db import connection

    from apps.market import services as market_services

    alice, bob = traders
    published: list[tuple[str, dict, bool]] = []

    def record(name: str, message: dict) -> None:
        published.append((name, message, connection.in_atomic_block))

    monkeypatch.setattr(market_services, "broadcast_publish", record)
    place(alice, "sell", price="100", quantity="1")
    place(bob, "buy", price="100", quantity="1")
    assert [name for name, _, _ in published] == ["market.BTCUSDT", "market.BTCUSDT"]
    assert not any(in_transaction for _, _, in_transaction in published)  # after commit
    batches = [[(m["type"], m["topic"]) for m in message["messages"]] for _, message, _ in published]
    assert batches == [[("market.message", "depth")], [("market.message", "trade"), ("market.message", "depth")]]
    trade, depth = published[1][1]["messages"]
    assert trade["data"]["price"] == "100" and trade["data"]["qty"] == "1"
    assert depth["data"]["asks"] == []


def test_place_and_cancel_in_one_batch(traders, place, bal):
    """Both commands of one order processed in the same batch keep one consistent order state."""
    from apps.trading.models import CommandKind, MatchCommand
    from broker.celery import app

    alice, bob = traders
    place(bob, "buy", price="100", quantity="0.5")
    app.conf.task_always_eager = False  # hold the commands back so one batch sees both
    try:
        from unittest import mock

        with mock.patch("apps.trading.services.queue_match"):
            order = place(alice, "sell", price="100", quantity="2")
            MatchCommand.objects.create(symbol_id="BTCUSDT", kind=CommandKind.CANCEL, order=order)
    finally:
        app.conf.task_always_eager = True
    assert matching.match_batch("BTCUSDT") == 2
    order = reload(order)
    assert (order.status, order.executed_quantity, order.book_seq) == (OrderStatus.CANCELED, Decimal("0.5"), 2)
    assert bal(alice, "BTC") == (Decimal("9.5"), Decimal("0"))
    assert reconcile()["ok"]


def test_replay_reproduces_the_live_book_and_trades(traders, place):
    alice, bob = traders
    for i in range(5):
        place(alice, "sell", price=str(100 + i), quantity="1")
        place(bob, "buy", price=str(99 + i), quantity="0.7")
    place(bob, "buy", type="market", quote_amount="250")
    book, trades = matching.replay(SymbolMatchState.objects.get().symbol)
    live = matching._BOOKS["BTCUSDT"].book
    assert book.orders() == live.orders()
    assert [(t.maker_order_id, t.taker_order_id, t.qty) for t in trades] == [
        (
            t.sell_order_id if t.buyer_is_maker is False else t.buy_order_id,
            t.buy_order_id if t.buyer_is_maker is False else t.sell_order_id,
            int(t.quantity / Decimal("0.0001")),
        )
        for t in Trade.objects.order_by("pk")
    ]


def test_event_payloads_equal_the_selector_payloads_of_the_stored_rows(traders, place):
    """The worker encodes order.update / trade.match from its batch rows; they must read exactly like
    ``order_payload`` / ``trade_payload`` of what was stored (one shape for every surface)."""
    from apps.trading.selectors import order_payload, trade_payload

    alice, bob = traders
    place(alice, "sell", price="100", quantity="1", client_order_id="a-1")
    place(alice, "sell", price="100.5", quantity="2")
    place(bob, "buy", price="101", quantity="1.5", client_order_id="b:1.x_y-z")  # fills one, part of the other
    place(bob, "buy", type="market", quote_amount="60.5")  # no price, no quantity
    place(alice, "sell", price="90", quantity="0.1", time_in_force="ioc")  # canceled: no buyer left
    order_cancel_all(user=alice, symbol_id="BTCUSDT")
    latest = {}
    for event in OutboxEvent.objects.filter(type="order.update").order_by("pk"):
        latest[event.payload["order_id"]] = event.payload
    assert latest == {str(o.pk): order_payload(o) for o in Order.objects.select_related("symbol")}
    expected = [
        trade_payload(trade, order)
        for trade in Trade.objects.select_related("symbol", "buy_order", "sell_order").order_by("pk")
        for order in (trade.buy_order, trade.sell_order)
    ]
    assert len(expected) == 6
    assert [e.payload for e in OutboxEvent.objects.filter(type="trade.match").order_by("pk")] == expected


def test_a_failed_batch_leaves_nothing_behind_in_memory(traders, place, bal):
    """The batch changes its in-memory order rows and book before it writes; when the write fails,
    both are dropped with the rolled-back transaction, so the retry applies each fill once."""
    from unittest import mock

    from apps.trading.models import MatchCommand

    alice, bob = traders
    maker = place(alice, "sell", price="100", quantity="2")  # rests: its row stays in memory with the book
    with mock.patch("apps.trading.services.queue_match"):
        taker = place(bob, "buy", price="100", quantity="0.5")
    with mock.patch("apps.trading.matching.insert_rows", side_effect=RuntimeError("disk full")):
        with pytest.raises(RuntimeError):
            matching.match_batch("BTCUSDT")
    assert "BTCUSDT" not in matching._BOOKS
    assert MatchCommand.objects.filter(processed_at__isnull=True).count() == 1
    assert matching.match_batch("BTCUSDT") == 1
    maker, taker = reload(maker), reload(taker)
    assert (maker.status, maker.executed_quantity, maker.hold_remaining) == (
        OrderStatus.PARTIALLY_FILLED,
        Decimal("0.5"),
        Decimal("1.5"),
    )
    assert (taker.status, taker.executed_quantity) == (OrderStatus.FILLED, Decimal("0.5"))
    assert Trade.objects.count() == 1
    assert bal(alice, "BTC") == (Decimal("8"), Decimal("1.5"))
    # a further fill of the same maker starts from the stored state, not a doubled one
    place(bob, "buy", price="100", quantity="1.5")
    assert (reload(maker).status, reload(maker).executed_quantity) == (OrderStatus.FILLED, Decimal("2"))
    assert reconcile()["ok"]
