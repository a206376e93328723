"""Property tests: random command streams through the real and the reference engine agree.

A few owners (so self-trades happen), a narrow price range (so orders cross), every order
type, time in force and STP mode, and cancels of ids seen so far. After every command both
engines must return identical events; at the end identical books. A book rebuilt with
``restore`` must then behave exactly like the original. Along the way ``record`` checks,
from the events alone, that quantity is conserved: for every order, filled + still open +
canceled/decreased == original quantity, and fills never cross owners.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.trading.engine import STP, OrderBook, OrderType, OrderUpdate, Side, Status, TimeInForce, Trade

from .reference import ReferenceBook

Command = tuple[Any, ...]

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,  # no example files in the work tree; a failure prints its example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

prices = st.integers(min_value=95, max_value=105)
quantities = st.integers(min_value=1, max_value=8)
owners = st.integers(min_value=1, max_value=3)
stps = st.sampled_from(list(STP))
sides = st.sampled_from(list(Side))


@st.composite
def place_commands(draw: st.DrawFn) -> Command:
    kind = draw(st.sampled_from(["limit", "limit", "limit", "maker", "market", "market"]))
    side = draw(sides)
    owner = draw(owners)
    stp = draw(stps)
    if kind == "limit":
        tif = draw(st.sampled_from(list(TimeInForce)))
        return ("place", OrderType.LIMIT, tif, side, owner, stp, draw(prices), draw(quantities), None)
    if kind == "maker":
        return ("place", OrderType.LIMIT_MAKER, TimeInForce.GTC, side, owner, stp, draw(prices), draw(quantities), None)
    tif = draw(st.sampled_from(list(TimeInForce)))
    bound = draw(st.none() | prices)
    if side == Side.BUY and draw(st.booleans()):
        return ("place", OrderType.MARKET, tif, side, owner, stp, bound, None, draw(st.integers(1, 1200)))
    return ("place", OrderType.MARKET, tif, side, owner, stp, bound, draw(quantities), None)


commands = st.lists(
    st.one_of(place_commands(), place_commands(), st.tuples(st.just("cancel"), st.integers(0, 1000))),
    max_size=100,
)


@dataclass
class History:
    """What a test knows about each order from the events alone."""

    original: dict[int, int | None] = field(default_factory=dict)  # qty (None: by funds)
    last: dict[int, OrderUpdate] = field(default_factory=dict)
    fills: dict[int, int] = field(default_factory=dict)
    fill_funds: dict[int, int] = field(default_factory=dict)
    removed: dict[int, int] = field(default_factory=dict)  # canceled or decreased, not filled
    stp_touched: set[int] = field(default_factory=set)
    owner_stp: dict[int, tuple[int, STP]] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)


def run(
    book: OrderBook | ReferenceBook, cmd: Command, next_id: int, history: History
) -> tuple[list[Trade], list[OrderUpdate]]:
    if cmd[0] == "cancel":
        ids = history.ids
        return book.cancel(ids[cmd[1] % len(ids)] if ids else 999_999)
    _, type_, tif, side, owner, stp, price, qty, funds = cmd
    return book.place(
        order_id=next_id,
        owner=owner,
        side=side,
        type=type_,
        tif=tif,
        price=price,
        qty=qty,
        funds=funds,
        stp=stp,
    )


def record(history: History, cmd: Command, order_id: int, trades: list[Trade], updates: list[OrderUpdate]) -> None:
    """Track every order's life from the events and check conservation step by step."""
    if cmd[0] == "place":
        history.original[order_id] = cmd[7]
        history.owner_stp[order_id] = (cmd[4], cmd[5])
        history.ids.append(order_id)
    fills_now: dict[int, int] = {}
    for t in trades:
        assert t.qty > 0
        for oid in (t.maker_order_id, t.taker_order_id):
            fills_now[oid] = fills_now.get(oid, 0) + t.qty
            history.fills[oid] = history.fills.get(oid, 0) + t.qty
            history.fill_funds[oid] = history.fill_funds.get(oid, 0) + t.qty * t.price
        assert history.owner_stp[t.maker_order_id][0] != history.owner_stp[t.taker_order_id][0]
    if cmd[0] == "place" and any(u.reason == "stp" for u in updates):
        history.stp_touched.add(order_id)  # a taker decreased by DC may still end FILLED
    seen = [u.order_id for u in updates]
    assert len(seen) == len(set(seen)), "each order is reported once per command"
    assert set(fills_now) <= set(seen), "every filled order gets an update"
    for u in updates:
        original = history.original[u.order_id]
        assert u.filled_qty == history.fills.get(u.order_id, 0)
        assert u.filled_funds == history.fill_funds.get(u.order_id, 0)
        assert u.remaining_qty >= 0
        if u.status in (Status.FILLED, Status.CANCELED, Status.REJECTED):
            assert u.remaining_qty == 0
        else:
            assert u.remaining_qty > 0
        if u.reason == "stp":
            history.stp_touched.add(u.order_id)
        if original is None:  # a market buy by funds: funds, not lots, are conserved
            if u.status != Status.REJECTED:
                assert u.filled_funds <= cmd[8]
            continue
        before = history.last[u.order_id].remaining_qty if u.order_id in history.last else original
        removed = before - fills_now.get(u.order_id, 0) - u.remaining_qty
        assert removed >= 0, "open quantity only shrinks by fills, cancels and decreases"
        if removed and u.status != Status.CANCELED and u.status != Status.REJECTED:
            assert u.reason == "stp" or u.status == Status.FILLED
        history.removed[u.order_id] = history.removed.get(u.order_id, 0) + removed
        # Conservation: filled + still open + canceled/decreased == original quantity.
        assert u.filled_qty + u.remaining_qty + history.removed[u.order_id] == original
        if u.status == Status.FILLED and u.order_id not in history.stp_touched:
            assert u.filled_qty == original
        history.last[u.order_id] = u
    if cmd[0] == "place" and cmd[2] == TimeInForce.FOK:
        last = updates[-1]
        assert last.order_id == order_id
        if last.status == Status.REJECTED:
            assert trades == [] and len(updates) == 1 and last.reason == "fok"
        else:
            assert last.status == Status.FILLED


def assert_same_books(real: OrderBook, ref: ReferenceBook) -> None:
    assert real.orders() == ref.orders()
    assert real.depth() == ref.depth()
    assert real.depth(2) == ref.depth(2)
    assert real.best_bid() == ref.best_bid()
    assert real.best_ask() == ref.best_ask()
    assert len(real) == len(ref)
    assert real.seq == ref.seq


def check_book_against_history(real: OrderBook, history: History) -> None:
    for order_id, _owner, _side, _price, remaining in real.orders():
        assert history.last[order_id].remaining_qty == remaining
    bids, asks = real.depth()
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert all(q > 0 for _, q in bids + asks)


@PROPERTY_SETTINGS
@given(commands)
def test_engine_matches_reference(stream: list[Command]) -> None:
    real = OrderBook()
    ref = ReferenceBook()
    history = History()
    for n, cmd in enumerate(stream, start=1):
        real_out = run(real, cmd, n, history)
        ref_out = run(ref, cmd, n, history)
        assert real_out == ref_out, f"command {n}: {cmd}"
        record(history, cmd, n, *real_out)
        assert real.seq == n
    assert_same_books(real, ref)
    check_book_against_history(real, history)


@PROPERTY_SETTINGS
@given(commands, commands)
def test_restored_book_behaves_like_the_original(first: list[Command], second: list[Command]) -> None:
    original = OrderBook()
    history = History()
    n = 0
    for cmd in first:
        n += 1
        record(history, cmd, n, *run(original, cmd, n, history))

    rebuilt = OrderBook()
    ref = ReferenceBook()
    # The DB hands back open orders in time priority; the canonical order keeps it per level.
    for order_id, owner, side, price, remaining in sorted(original.orders(), key=lambda o: o[0]):
        last = history.last[order_id]
        stp = history.owner_stp[order_id][1]
        for book in (rebuilt, ref):
            book.restore(
                order_id=order_id,
                owner=owner,
                side=side,
                price=price,
                remaining_qty=remaining,
                filled_qty=last.filled_qty,
                filled_funds=last.filled_funds,
                stp=stp,
            )
    rebuilt.seq = ref.seq = original.seq
    assert rebuilt.orders() == original.orders()
    assert rebuilt.depth() == original.depth()

    for cmd in second:
        n += 1
        out = run(original, cmd, n, history)
        assert run(rebuilt, cmd, n, history) == out, f"command {n}: {cmd}"
        assert run(ref, cmd, n, history) == out, f"command {n}: {cmd}"
        record(history, cmd, n, *out)
    assert rebuilt.orders() == original.orders()
    assert rebuilt.depth() == original.depth()
    assert_same_books(rebuilt, ref)


def random_command(rng: random.Random) -> Command:
    """The same mix as the Hypothesis strategies, for long seeded streams."""
    if rng.random() < 0.25:
        return ("cancel", rng.randrange(1000))
    side = rng.choice(list(Side))
    owner = rng.randint(1, 3)
    stp = rng.choice(list(STP))
    price = rng.randint(95, 105)
    qty = rng.randint(1, 8)
    kind = rng.choice(["limit", "limit", "limit", "maker", "market", "market"])
    if kind == "limit":
        return ("place", OrderType.LIMIT, rng.choice(list(TimeInForce)), side, owner, stp, price, qty, None)
    if kind == "maker":
        return ("place", OrderType.LIMIT_MAKER, TimeInForce.GTC, side, owner, stp, price, qty, None)
    tif = rng.choice(list(TimeInForce))
    bound = rng.choice([None, price])
    if side == Side.BUY and rng.random() < 0.5:
        return ("place", OrderType.MARKET, tif, side, owner, stp, bound, None, rng.randint(1, 1200))
    return ("place", OrderType.MARKET, tif, side, owner, stp, bound, qty, None)


def test_long_seeded_streams_match_reference() -> None:
    """Longer streams than Hypothesis builds reach deep books and rare paths (seeded, so
    a failure names its seed and command)."""
    for seed in range(40):
        rng = random.Random(seed)
        real = OrderBook()
        ref = ReferenceBook()
        history = History()
        for n in range(1, 401):
            cmd = random_command(rng)
            real_out = run(real, cmd, n, history)
            assert real_out == run(ref, cmd, n, history), f"seed {seed}, command {n}: {cmd}"
            record(history, cmd, n, *real_out)
        assert_same_books(real, ref)
        check_book_against_history(real, history)
