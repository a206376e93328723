"""Unit tests of the matching engine's contract, one behaviour per test."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apps.trading.engine import STP, OrderBook, OrderType, OrderUpdate, Side, Status, TimeInForce, Trade

BUY, SELL = Side.BUY, Side.SELL
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
NEW, PARTIAL, FILLED = Status.NEW, Status.PARTIALLY_FILLED, Status.FILLED
CANCELED, REJECTED = Status.CANCELED, Status.REJECTED

Events = tuple[list[Trade], list[OrderUpdate]]


def limit(
    book: OrderBook,
    order_id: int,
    side: Side,
    price: int,
    qty: int,
    *,
    owner: int | None = None,
    tif: TimeInForce = GTC,
    stp: STP = STP.DC,
) -> Events:
    return book.place(
        order_id=order_id,
        owner=order_id if owner is None else owner,
        side=side,
        type=OrderType.LIMIT,
        tif=tif,
        price=price,
        qty=qty,
        stp=stp,
    )


def market(
    book: OrderBook,
    order_id: int,
    side: Side,
    *,
    qty: int | None = None,
    funds: int | None = None,
    bound: int | None = None,
    owner: int | None = None,
    tif: TimeInForce = IOC,
    stp: STP = STP.DC,
) -> Events:
    return book.place(
        order_id=order_id,
        owner=order_id if owner is None else owner,
        side=side,
        type=OrderType.MARKET,
        tif=tif,
        price=bound,
        qty=qty,
        funds=funds,
        stp=stp,
    )


def maker(book: OrderBook, order_id: int, side: Side, price: int, qty: int, *, owner: int | None = None) -> Events:
    return book.place(
        order_id=order_id,
        owner=order_id if owner is None else owner,
        side=side,
        type=OrderType.LIMIT_MAKER,
        tif=GTC,
        price=price,
        qty=qty,
    )


def upd(order_id: int, status: Status, filled: int, remaining: int, funds: int, reason: str = "") -> OrderUpdate:
    return OrderUpdate(order_id, status, filled, remaining, funds, reason)


@pytest.fixture
def asks() -> OrderBook:
    """Asks 100x2 (id 1), 100x3 (id 2), 101x4 (id 3), 103x5 (id 4); no bids."""
    book = OrderBook()
    limit(book, 1, SELL, 100, 2)
    limit(book, 2, SELL, 100, 3)
    limit(book, 3, SELL, 101, 4)
    limit(book, 4, SELL, 103, 5)
    return book


# ---------------------------------------------------------------- limit orders


def test_limit_rests_when_it_does_not_cross() -> None:
    book = OrderBook()
    assert limit(book, 1, BUY, 99, 5) == ([], [upd(1, NEW, 0, 5, 0)])
    assert limit(book, 2, SELL, 101, 7) == ([], [upd(2, NEW, 0, 7, 0)])
    assert limit(book, 3, BUY, 98, 1) == ([], [upd(3, NEW, 0, 1, 0)])
    assert book.best_bid() == 99
    assert book.best_ask() == 101
    assert book.depth() == ([(99, 5), (98, 1)], [(101, 7)])
    assert len(book) == 3
    assert book.seq == 3


def test_empty_book_reads() -> None:
    book = OrderBook()
    assert book.best_bid() is None and book.best_ask() is None
    assert book.depth() == ([], [])
    assert book.orders() == []
    assert len(book) == 0 and book.seq == 0


def test_limit_partial_fill_trades_at_maker_price_and_rests_the_rest(asks: OrderBook) -> None:
    trades, updates = limit(asks, 10, BUY, 100, 7)
    assert trades == [Trade(100, 2, 1, 10, BUY), Trade(100, 3, 2, 10, BUY)]
    assert updates == [upd(1, FILLED, 2, 0, 200), upd(2, FILLED, 3, 0, 300), upd(10, PARTIAL, 5, 2, 500)]
    assert asks.depth() == ([(100, 2)], [(101, 4), (103, 5)])


def test_limit_partially_fills_a_maker() -> None:
    book = OrderBook()
    limit(book, 1, SELL, 100, 10)
    trades, updates = limit(book, 2, BUY, 105, 4)
    assert trades == [Trade(100, 4, 1, 2, BUY)]
    assert updates == [upd(1, PARTIAL, 4, 6, 400), upd(2, FILLED, 4, 0, 400)]
    trades, updates = limit(book, 3, BUY, 100, 6)
    assert updates == [upd(1, FILLED, 10, 0, 1000), upd(3, FILLED, 6, 0, 600)]
    assert len(book) == 0


def test_limit_sweeps_several_levels_in_price_then_time_priority(asks: OrderBook) -> None:
    trades, updates = limit(asks, 10, BUY, 103, 10)
    assert trades == [
        Trade(100, 2, 1, 10, BUY),
        Trade(100, 3, 2, 10, BUY),
        Trade(101, 4, 3, 10, BUY),
        Trade(103, 1, 4, 10, BUY),
    ]
    assert updates[-1] == upd(10, FILLED, 10, 0, 200 + 300 + 404 + 103)
    assert updates[:-1] == [
        upd(1, FILLED, 2, 0, 200),
        upd(2, FILLED, 3, 0, 300),
        upd(3, FILLED, 4, 0, 404),
        upd(4, PARTIAL, 1, 4, 103),
    ]
    assert asks.best_ask() == 103


def test_sell_limit_sweeps_bids_high_to_low() -> None:
    book = OrderBook()
    limit(book, 1, BUY, 98, 1)
    limit(book, 2, BUY, 100, 1)
    limit(book, 3, BUY, 99, 1)
    trades, _ = limit(book, 4, SELL, 99, 5)
    assert [(t.price, t.maker_order_id) for t in trades] == [(100, 2), (99, 3)]
    assert book.depth() == ([(98, 1)], [(99, 3)])


def test_limit_ioc_cancels_the_remainder(asks: OrderBook) -> None:
    trades, updates = limit(asks, 10, BUY, 100, 7, tif=IOC)
    assert [t.qty for t in trades] == [2, 3]
    assert updates[-1] == upd(10, CANCELED, 5, 0, 500, "ioc")
    assert asks.best_bid() is None


def test_limit_ioc_without_a_cross_is_canceled(asks: OrderBook) -> None:
    assert limit(asks, 10, BUY, 99, 7, tif=IOC) == ([], [upd(10, CANCELED, 0, 0, 0, "ioc")])


def test_limit_ioc_fully_filled(asks: OrderBook) -> None:
    _, updates = limit(asks, 10, BUY, 100, 5, tif=IOC)
    assert updates[-1] == upd(10, FILLED, 5, 0, 500)


# ---------------------------------------------------------------- fill or kill


def test_limit_fok_fills_whole(asks: OrderBook) -> None:
    trades, updates = limit(asks, 10, BUY, 101, 9, tif=FOK)
    assert sum(t.qty for t in trades) == 9
    assert updates[-1] == upd(10, FILLED, 9, 0, 500 + 404)


def test_limit_fok_rejected_leaves_the_book_unchanged(asks: OrderBook) -> None:
    before = (asks.orders(), asks.depth(), len(asks))
    assert limit(asks, 10, BUY, 101, 10, tif=FOK) == ([], [upd(10, REJECTED, 0, 0, 0, "fok")])
    assert (asks.orders(), asks.depth(), len(asks)) == before
    assert asks.seq == 5
    # ...and the book still behaves as before: the next taker meets the same makers.
    trades, _ = limit(asks, 11, BUY, 101, 9)
    assert [(t.maker_order_id, t.qty) for t in trades] == [(1, 2), (2, 3), (3, 4)]


def test_fok_under_dc_is_rejected_when_it_meets_an_own_order(asks: OrderBook) -> None:
    before = asks.orders()
    assert limit(asks, 10, BUY, 103, 3, owner=2, tif=FOK) == ([], [upd(10, REJECTED, 0, 0, 0, "fok")])
    assert asks.orders() == before


def test_fok_under_co_skips_own_orders_that_it_cancels(asks: OrderBook) -> None:
    trades, updates = limit(asks, 10, BUY, 101, 6, owner=2, tif=FOK, stp=STP.CO)
    assert [(t.maker_order_id, t.qty) for t in trades] == [(1, 2), (3, 4)]
    assert updates == [
        upd(1, FILLED, 2, 0, 200),
        upd(2, CANCELED, 0, 0, 0, "stp"),
        upd(3, FILLED, 4, 0, 404),
        upd(10, FILLED, 6, 0, 604),
    ]


def test_market_fok_by_qty(asks: OrderBook) -> None:
    assert market(asks, 10, BUY, qty=15, tif=FOK) == ([], [upd(10, REJECTED, 0, 0, 0, "fok")])
    assert market(asks, 11, BUY, qty=14, tif=FOK)[1][-1].status == FILLED
    assert len(asks) == 0


def test_market_fok_by_funds() -> None:
    book = OrderBook()
    limit(book, 1, SELL, 100, 2)
    limit(book, 2, SELL, 150, 1)
    limit(book, 3, SELL, 200, 1)
    # 351 buys 2 @100 and 1 @150; the 1 left cannot buy a lot at 200: the whole order.
    assert market(book, 10, BUY, funds=351, tif=FOK)[1][-1] == upd(10, FILLED, 3, 0, 350, "funds_exhausted")
    # 450 would buy the lot at 200 and then run out of book with 250 left.
    assert market(book, 11, BUY, funds=450, tif=FOK) == ([], [upd(11, REJECTED, 0, 0, 0, "fok")])
    assert book.orders() == [(3, 3, SELL, 200, 1)]
    limit(book, 4, SELL, 100, 2)
    # 150 buys 1 of the 2 lots at 100; 50 left: the whole order.
    assert market(book, 12, BUY, funds=150, tif=FOK)[1][-1] == upd(12, FILLED, 1, 0, 100, "funds_exhausted")
    # Too poor for one lot, or blocked by the bound: nothing would trade.
    assert market(book, 13, BUY, funds=99, tif=FOK) == ([], [upd(13, REJECTED, 0, 0, 0, "fok")])
    assert market(book, 14, BUY, funds=500, bound=99, tif=FOK) == ([], [upd(14, REJECTED, 0, 0, 0, "fok")])
    assert book.orders() == [(4, 4, SELL, 100, 1), (3, 3, SELL, 200, 1)]


# ---------------------------------------------------------------- market orders


def test_market_sell_by_qty_sweeps_bids() -> None:
    book = OrderBook()
    limit(book, 1, BUY, 100, 2)
    limit(book, 2, BUY, 99, 2)
    trades, updates = market(book, 3, SELL, qty=3)
    assert trades == [Trade(100, 2, 1, 3, SELL), Trade(99, 1, 2, 3, SELL)]
    assert updates == [upd(1, FILLED, 2, 0, 200), upd(2, PARTIAL, 1, 1, 99), upd(3, FILLED, 3, 0, 299)]


def test_market_remainder_is_canceled_for_lack_of_liquidity(asks: OrderBook) -> None:
    trades, updates = market(asks, 10, BUY, qty=20)
    assert sum(t.qty for t in trades) == 14
    assert updates[-1] == upd(10, CANCELED, 14, 0, 500 + 404 + 515, "no_liquidity")
    assert len(asks) == 0


def test_market_on_an_empty_book_is_canceled() -> None:
    book = OrderBook()
    assert market(book, 1, SELL, qty=1) == ([], [upd(1, CANCELED, 0, 0, 0, "no_liquidity")])
    assert market(book, 2, BUY, funds=100) == ([], [upd(2, CANCELED, 0, 0, 0, "no_liquidity")])
    assert len(book) == 0


def test_market_gtc_behaves_like_ioc(asks: OrderBook) -> None:
    _, updates = market(asks, 10, BUY, qty=20, tif=GTC)
    assert updates[-1].status == CANCELED and len(asks) == 0


def test_market_buy_by_qty(asks: OrderBook) -> None:
    trades, updates = market(asks, 10, BUY, qty=3)
    assert trades == [Trade(100, 2, 1, 10, BUY), Trade(100, 1, 2, 10, BUY)]
    assert updates[-1] == upd(10, FILLED, 3, 0, 300)


def test_market_buy_by_funds_rounds_down_to_whole_lots(asks: OrderBook) -> None:
    # 100x5 = 500, then 101 x floor(350/101) = 3 lots = 303, 47 left < 101.
    trades, updates = market(asks, 10, BUY, funds=850)
    assert trades == [Trade(100, 2, 1, 10, BUY), Trade(100, 3, 2, 10, BUY), Trade(101, 3, 3, 10, BUY)]
    assert updates[-1] == upd(10, FILLED, 8, 0, 803, "funds_exhausted")
    assert asks.depth()[1] == [(101, 1), (103, 5)]


def test_market_buy_by_funds_stops_before_an_unaffordable_level(asks: OrderBook) -> None:
    # 100x5 + 101x4 = 904; 96 left cannot buy a lot at 103.
    _, updates = market(asks, 10, BUY, funds=1000)
    assert updates[-1] == upd(10, FILLED, 9, 0, 904, "funds_exhausted")


def test_market_buy_by_funds_spent_exactly(asks: OrderBook) -> None:
    assert market(asks, 10, BUY, funds=400)[1][-1] == upd(10, FILLED, 4, 0, 400)


def test_market_buy_by_funds_too_poor_for_one_lot(asks: OrderBook) -> None:
    assert market(asks, 10, BUY, funds=99) == ([], [upd(10, CANCELED, 0, 0, 0, "funds_exhausted")])
    assert len(asks) == 4


def test_market_buy_by_funds_runs_out_of_book() -> None:
    book = OrderBook()
    limit(book, 1, SELL, 100, 2)
    assert market(book, 2, BUY, funds=1000)[1][-1] == upd(2, CANCELED, 2, 0, 200, "no_liquidity")


def test_market_buy_protection_bound(asks: OrderBook) -> None:
    trades, updates = market(asks, 10, BUY, qty=20, bound=101)
    assert max(t.price for t in trades) == 101
    assert updates[-1] == upd(10, CANCELED, 9, 0, 904, "no_liquidity")
    assert asks.depth()[1] == [(103, 5)]


def test_market_buy_by_funds_protection_bound(asks: OrderBook) -> None:
    _, updates = market(asks, 10, BUY, funds=5000, bound=100)
    assert updates[-1] == upd(10, CANCELED, 5, 0, 500, "no_liquidity")
    # Below the best ask the bound blocks everything.
    assert market(asks, 11, BUY, funds=5000, bound=99) == ([], [upd(11, CANCELED, 0, 0, 0, "no_liquidity")])


def test_market_by_funds_checks_funds_before_the_bound(asks: OrderBook) -> None:
    # After 904, 96 left: too poor for 103, which is also beyond the bound; funds win.
    assert market(asks, 10, BUY, funds=1000, bound=101)[1][-1] == upd(10, FILLED, 9, 0, 904, "funds_exhausted")


def test_market_sell_protection_bound() -> None:
    book = OrderBook()
    limit(book, 1, BUY, 100, 1)
    limit(book, 2, BUY, 99, 1)
    limit(book, 3, BUY, 98, 1)
    trades, updates = market(book, 4, SELL, qty=3, bound=99)
    assert [t.price for t in trades] == [100, 99]
    assert updates[-1] == upd(4, CANCELED, 2, 0, 199, "no_liquidity")
    assert book.orders() == [(3, 3, BUY, 98, 1)]


# ---------------------------------------------------------------- post-only


def test_limit_maker_rests_when_it_does_not_cross(asks: OrderBook) -> None:
    assert maker(asks, 10, BUY, 99, 3) == ([], [upd(10, NEW, 0, 3, 0)])
    assert asks.best_bid() == 99


def test_limit_maker_rejected_when_it_would_cross(asks: OrderBook) -> None:
    before = asks.orders()
    assert maker(asks, 10, BUY, 100, 3) == ([], [upd(10, REJECTED, 0, 0, 0, "post_only")])
    assert maker(asks, 11, SELL, 99, 3) == ([], [upd(11, NEW, 0, 3, 0)])
    assert maker(asks, 12, BUY, 99, 3) == ([], [upd(12, REJECTED, 0, 0, 0, "post_only")])
    assert asks.orders() == [(11, 11, SELL, 99, 3), *before]
    assert asks.seq == 7


def test_limit_maker_rejected_even_against_own_order(asks: OrderBook) -> None:
    assert maker(asks, 10, BUY, 100, 1, owner=1)[1] == [upd(10, REJECTED, 0, 0, 0, "post_only")]


# ---------------------------------------------------------------- self-trade prevention


def test_stp_dc_taker_larger_decreases_taker_cancels_maker(asks: OrderBook) -> None:
    # Taker owner 1 meets its own 100x2 (id 1): id 1 canceled, taker 7 -> 5, then trades id 2.
    trades, updates = limit(asks, 10, BUY, 100, 7, owner=1)
    assert trades == [Trade(100, 3, 2, 10, BUY)]
    assert updates == [
        upd(1, CANCELED, 0, 0, 0, "stp"),
        upd(2, FILLED, 3, 0, 300),
        upd(10, PARTIAL, 3, 2, 300, "stp"),
    ]
    assert asks.depth() == ([(100, 2)], [(101, 4), (103, 5)])


def test_stp_dc_decreased_taker_that_rests_unfilled_is_new() -> None:
    book = OrderBook()
    limit(book, 1, SELL, 100, 2, owner=7)
    trades, updates = limit(book, 2, BUY, 100, 5, owner=7)
    assert trades == []
    assert updates == [upd(1, CANCELED, 0, 0, 0, "stp"), upd(2, NEW, 0, 3, 0, "stp")]
    assert book.orders() == [(2, 7, BUY, 100, 3)]


def test_stp_dc_taker_smaller_decreases_maker_cancels_taker(asks: OrderBook) -> None:
    trades, updates = limit(asks, 10, BUY, 100, 2, owner=2, stp=STP.DC)
    # id 1 (other owner) fills first, then the taker is done; no self meeting.
    assert updates[-1] == upd(10, FILLED, 2, 0, 200)
    trades, updates = limit(asks, 11, BUY, 100, 1, owner=2)
    assert trades == []
    assert updates == [upd(2, NEW, 0, 2, 0, "stp"), upd(11, CANCELED, 0, 0, 0, "stp")]
    assert asks.depth()[1][0] == (100, 2)
    # The decreased maker keeps its place at the front of its level.
    assert asks.orders()[0] == (2, 2, SELL, 100, 2)


def test_stp_dc_equal_cancels_both(asks: OrderBook) -> None:
    limit(asks, 10, BUY, 100, 2)  # takes id 1
    trades, updates = limit(asks, 11, BUY, 103, 3, owner=2)
    assert trades == []
    assert updates == [upd(2, CANCELED, 0, 0, 0, "stp"), upd(11, CANCELED, 0, 0, 0, "stp")]
    assert asks.best_ask() == 101


def test_stp_dc_on_a_partially_filled_maker_keeps_its_fills() -> None:
    book = OrderBook()
    limit(book, 1, SELL, 100, 5, owner=1)
    limit(book, 2, BUY, 100, 2, owner=2)
    _, updates = limit(book, 3, BUY, 100, 1, owner=1)
    assert updates == [upd(1, PARTIAL, 2, 2, 200, "stp"), upd(3, CANCELED, 0, 0, 0, "stp")]


def test_market_fok_by_funds_ending_inside_the_last_maker() -> None:
    book = OrderBook()
    limit(book, 1, SELL, 100, 2)
    # 150 buys 1 of the 2 lots, the last ones on the book; 50 left cannot buy the other.
    assert market(book, 2, BUY, funds=150, tif=FOK)[1][-1] == upd(2, FILLED, 1, 0, 100, "funds_exhausted")


def test_stp_dc_market_buy_by_funds_decreases_funds_by_the_makers_notional() -> None:
    book = OrderBook()
    limit(book, 1, SELL, 100, 2, owner=1)
    limit(book, 2, SELL, 100, 10, owner=2)
    # 799 buys 7 lots > own 2: own canceled, funds 799 - 2 * 100 = 599 -> 5 lots.
    trades, updates = market(book, 3, BUY, funds=799, owner=1)
    assert trades == [Trade(100, 5, 2, 3, BUY)]
    assert updates[-1] == upd(3, FILLED, 5, 0, 500, "funds_exhausted")


def test_stp_dc_market_buy_by_funds() -> None:
    book = OrderBook()
    limit(book, 1, SELL, 100, 2, owner=1)
    limit(book, 2, SELL, 100, 5, owner=2)
    # 750 buys 7 lots at 100: larger than own 2 -> own canceled, funds 750 - 200 = 550 -> 5 lots.
    trades, updates = market(book, 3, BUY, funds=750, owner=1)
    assert trades == [Trade(100, 5, 2, 3, BUY)]
    assert updates == [
        upd(1, CANCELED, 0, 0, 0, "stp"),
        upd(2, FILLED, 5, 0, 500),
        upd(3, CANCELED, 5, 0, 500, "no_liquidity"),
    ]

    limit(book, 4, SELL, 100, 5, owner=1)
    # 250 buys 2 lots < 5: own maker decreased by 2, taker canceled.
    assert market(book, 5, BUY, funds=250, owner=1) == (
        [],
        [upd(4, NEW, 0, 3, 0, "stp"), upd(5, CANCELED, 0, 0, 0, "stp")],
    )
    # 300 buys exactly the 3 lots: both canceled.
    assert market(book, 6, BUY, funds=300, owner=1) == (
        [],
        [upd(4, CANCELED, 0, 0, 0, "stp"), upd(6, CANCELED, 0, 0, 0, "stp")],
    )
    assert len(book) == 0


def test_stp_co_cancels_resting_and_continues(asks: OrderBook) -> None:
    trades, updates = limit(asks, 10, BUY, 101, 6, owner=2, stp=STP.CO)
    assert [(t.maker_order_id, t.qty) for t in trades] == [(1, 2), (3, 4)]
    assert updates[1] == upd(2, CANCELED, 0, 0, 0, "stp")
    assert updates[-1] == upd(10, FILLED, 6, 0, 604)


def test_stp_cn_cancels_the_taker_and_stops(asks: OrderBook) -> None:
    trades, updates = limit(asks, 10, BUY, 103, 10, owner=2, stp=STP.CN)
    assert trades == [Trade(100, 2, 1, 10, BUY)]
    assert updates == [upd(1, FILLED, 2, 0, 200), upd(10, CANCELED, 2, 0, 200, "stp")]
    assert asks.orders()[0] == (2, 2, SELL, 100, 3)


def test_stp_cb_cancels_both_and_stops(asks: OrderBook) -> None:
    trades, updates = limit(asks, 10, BUY, 103, 10, owner=2, stp=STP.CB)
    assert trades == [Trade(100, 2, 1, 10, BUY)]
    assert updates == [upd(1, FILLED, 2, 0, 200), upd(2, CANCELED, 0, 0, 0, "stp"), upd(10, CANCELED, 2, 0, 200, "stp")]
    assert asks.depth()[1] == [(101, 4), (103, 5)]


def test_stp_only_for_the_same_owner(asks: OrderBook) -> None:
    trades, _ = limit(asks, 10, BUY, 100, 5, owner=99, stp=STP.CB)
    assert len(trades) == 2


# ---------------------------------------------------------------- cancel


def test_cancel_resting_order(asks: OrderBook) -> None:
    assert asks.cancel(2) == ([], [upd(2, CANCELED, 0, 0, 0, "canceled")])
    assert asks.depth()[1][0] == (100, 2)
    assert len(asks) == 3
    assert asks.seq == 5


def test_cancel_partially_filled_order_reports_its_fills(asks: OrderBook) -> None:
    limit(asks, 10, BUY, 100, 1)
    assert asks.cancel(1) == ([], [upd(1, CANCELED, 1, 0, 100, "canceled")])


def test_cancel_unknown_or_gone_is_a_counted_no_op(asks: OrderBook) -> None:
    assert asks.cancel(999) == ([], [])
    asks.cancel(1)
    assert asks.cancel(1) == ([], [])
    assert asks.seq == 7


def test_cancel_last_order_of_a_level_removes_the_level(asks: OrderBook) -> None:
    asks.cancel(3)
    assert asks.depth()[1] == [(100, 5), (103, 5)]
    asks.cancel(1)
    asks.cancel(2)
    assert asks.best_ask() == 103


def test_many_cancels_in_one_level_keep_fifo_and_totals() -> None:
    book = OrderBook()
    for i in range(1, 201):
        limit(book, i, SELL, 100, 1)
    for i in range(1, 200, 2):  # cancel the odd ones (compaction kicks in on the way)
        book.cancel(i)
    assert book.depth()[1] == [(100, 100)]
    assert [o[0] for o in book.orders()] == list(range(2, 201, 2))
    trades, _ = limit(book, 1000, BUY, 100, 3)
    assert [t.maker_order_id for t in trades] == [2, 4, 6]


def test_cancels_do_not_pile_up_in_a_level() -> None:
    # White-box: cancel is lazy, so check the level really sheds canceled orders.
    book = OrderBook()
    limit(book, 1, SELL, 100, 1)  # keeps the level alive
    for i in range(2, 1002):
        limit(book, i, SELL, 100, 1)
        book.cancel(i)
    level = book._asks.levels[100]
    assert len(level.queue) < 100
    assert book.orders() == [(1, 1, SELL, 100, 1)]


def test_order_id_of_a_finished_order_may_be_reused(asks: OrderBook) -> None:
    asks.cancel(1)
    assert limit(asks, 1, BUY, 90, 1) == ([], [upd(1, NEW, 0, 1, 0)])


# ---------------------------------------------------------------- restore


def test_restore_rebuilds_the_same_book_and_behaviour() -> None:
    original = OrderBook()
    limit(original, 1, SELL, 100, 5, owner=1)
    limit(original, 2, SELL, 100, 3, owner=2)
    limit(original, 3, SELL, 102, 4, owner=3)
    limit(original, 4, BUY, 98, 2, owner=4)
    limit(original, 5, BUY, 100, 2, owner=5)  # fills 2 of id 1

    rebuilt = OrderBook()
    rebuilt.restore(order_id=1, owner=1, side=SELL, price=100, remaining_qty=3, filled_qty=2, filled_funds=200)
    rebuilt.restore(order_id=2, owner=2, side=SELL, price=100, remaining_qty=3)
    rebuilt.restore(order_id=3, owner=3, side=SELL, price=102, remaining_qty=4)
    rebuilt.restore(order_id=4, owner=4, side=BUY, price=98, remaining_qty=2)
    assert rebuilt.seq == 0
    rebuilt.seq = original.seq
    assert rebuilt.orders() == original.orders()
    assert rebuilt.depth() == original.depth()
    assert len(rebuilt) == len(original)

    commands: list[Callable[[OrderBook], Events]] = [
        lambda b: limit(b, 6, BUY, 102, 7, owner=9),
        lambda b: b.cancel(4),
        lambda b: market(b, 7, SELL, qty=1, owner=9),
        lambda b: limit(b, 8, SELL, 101, 1, owner=1),
    ]
    for command in commands:
        assert command(rebuilt) == command(original)
    assert rebuilt.orders() == original.orders()
    assert rebuilt.seq == original.seq


def test_restore_does_not_match_and_keeps_fill_totals() -> None:
    book = OrderBook()
    book.restore(order_id=1, owner=1, side=SELL, price=100, remaining_qty=3, filled_qty=2, filled_funds=190)
    book.restore(order_id=2, owner=2, side=BUY, price=90, remaining_qty=1)
    assert len(book) == 2 and book.seq == 0
    _, updates = limit(book, 3, BUY, 100, 3)
    assert updates[0] == upd(1, FILLED, 5, 0, 490)


def test_restore_rejects_duplicates_and_bad_values() -> None:
    book = OrderBook()
    book.restore(order_id=1, owner=1, side=SELL, price=100, remaining_qty=3)
    with pytest.raises(ValueError):
        book.restore(order_id=1, owner=1, side=SELL, price=100, remaining_qty=3)
    with pytest.raises(ValueError):
        book.restore(order_id=2, owner=1, side=SELL, price=0, remaining_qty=3)
    with pytest.raises(ValueError):
        book.restore(order_id=2, owner=1, side=SELL, price=100, remaining_qty=0)
    assert book.orders() == [(1, 1, SELL, 100, 3)]


# ---------------------------------------------------------------- reads and guards


def test_depth_limit_and_orders_canonical_order() -> None:
    book = OrderBook()
    limit(book, 1, BUY, 97, 1)
    limit(book, 2, BUY, 99, 2)
    limit(book, 3, BUY, 99, 3)
    limit(book, 4, SELL, 105, 1)
    limit(book, 5, SELL, 101, 1)
    limit(book, 6, BUY, 98, 1)
    assert book.depth(2) == ([(99, 5), (98, 1)], [(101, 1), (105, 1)])
    assert book.depth(0) == ([], [])
    assert [o[0] for o in book.orders()] == [2, 3, 6, 1, 5, 4]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"type": OrderType.LIMIT, "tif": GTC, "price": 100, "qty": 0},
        {"type": OrderType.LIMIT, "tif": GTC, "price": 100, "qty": -1},
        {"type": OrderType.LIMIT, "tif": GTC, "price": 0, "qty": 1},
        {"type": OrderType.LIMIT, "tif": GTC, "price": None, "qty": 1},
        {"type": OrderType.LIMIT, "tif": GTC, "price": 100, "qty": None},
        {"type": OrderType.LIMIT, "tif": GTC, "price": 100, "qty": 1, "funds": 100},
        {"type": OrderType.LIMIT_MAKER, "tif": IOC, "price": 100, "qty": 1},
        {"type": OrderType.MARKET, "tif": IOC, "price": None, "qty": None},
        {"type": OrderType.MARKET, "tif": IOC, "price": None, "qty": 1, "funds": 100},
        {"type": OrderType.MARKET, "tif": IOC, "price": None, "qty": None, "funds": 0},
        {"type": OrderType.MARKET, "tif": IOC, "price": -5, "qty": 1},
        {"type": OrderType.MARKET, "tif": IOC, "price": None, "qty": None, "funds": 100, "side": SELL},
        {"type": OrderType.LIMIT, "tif": GTC, "price": 100, "qty": 1, "order_id": 1},
        {"type": OrderType.MARKET, "tif": IOC, "price": None, "qty": 1, "order_id": 1},
        {"type": OrderType.LIMIT, "tif": GTC, "price": 100, "qty": 1, "side": 3},
        {"type": OrderType.MARKET, "tif": IOC, "price": None, "qty": 1, "side": 3},
        {"type": OrderType.LIMIT, "tif": 7, "price": 100, "qty": 1},
        {"type": OrderType.LIMIT, "tif": GTC, "price": 100, "qty": 1, "stp": 9},
        {"type": 9, "tif": GTC, "price": 100, "qty": 1},
    ],
)
def test_invalid_input_raises_and_changes_nothing(asks: OrderBook, kwargs: dict[str, object]) -> None:
    before = (asks.orders(), asks.seq)
    params: dict[str, object] = {"order_id": 50, "owner": 1, "side": BUY, **kwargs}
    with pytest.raises(ValueError):
        asks.place(**params)  # type: ignore[arg-type]
    assert (asks.orders(), asks.seq) == before


def test_same_commands_give_same_events() -> None:
    def run() -> list[Events]:
        book = OrderBook()
        out = []
        for i in range(1, 200):
            side = BUY if i % 3 else SELL
            out.append(limit(book, i, side, 95 + (i * 7) % 11, 1 + i % 4, owner=i % 3))
            if i % 5 == 0:
                out.append(book.cancel(i - 3))
        return out

    assert run() == run()


def test_plain_ints_work_like_the_enums() -> None:
    # The worker may pass stored integer codes rather than enum members.
    book = OrderBook()
    book.place(order_id=1, owner=1, side=2, type=1, tif=1, price=100, qty=3, stp=1)  # type: ignore[arg-type]
    trades, updates = book.place(order_id=2, owner=2, side=1, type=2, tif=2, price=None, qty=1)  # type: ignore[arg-type]
    assert trades == [Trade(100, 1, 1, 2, BUY)]
    assert updates == [upd(1, PARTIAL, 1, 2, 100), upd(2, FILLED, 1, 0, 100)]
