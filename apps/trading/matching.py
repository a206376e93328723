"""The matching worker's batch step (DESIGN.md §8 "Matching worker").

``match_batch(symbol_id)`` takes up to ``batch_size`` unprocessed commands of one symbol in id order,
runs them through the in-memory engine, and writes the whole batch's effects in **one** DB
transaction: order states, trades, one ledger transaction (fills, fees, hold releases — each fee
account touched once per batch), klines, outbox events, the processed commands and the symbol's new
sequence. The transaction starts by locking the symbol's ``SymbolMatchState`` row and comparing its
``seq`` with the in-memory book's: a mismatch (another worker wrote, or this process lost a batch)
rebuilds the book from the open orders in time priority (``Order.book_seq``). Any failure drops the
in-memory book, so nothing applied in memory survives a rolled-back batch. A crash before commit loses
nothing: the commands are still unprocessed and are simply run again.

Engine units: a price is ``price / tick`` ticks, a quantity ``qty / step`` lots, a market buy's quote
amount ``floor(quote / (tick * step))`` quote units; the unspendable remainder of a market buy's quote
stays held and is released when the order ends.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.ledger import Leg, ledger_post
from apps.accounts.models import Account, AccountType, Bucket, TransactionKind
from apps.core.db import bulk_insert, bulk_set
from apps.core.money import ZERO, money_context, quantize_down
from apps.events.models import OutboxEvent
from apps.events.services import events_emit_many
from apps.market.services import Tick, depth_store, klines_record, market_publish, tick_payload
from apps.tokens.models import Symbol
from apps.trading import engine
from apps.trading.models import CommandKind, MatchCommand, Order, OrderSide, OrderStatus, SymbolMatchState, Trade

logger = logging.getLogger(__name__)

BATCH_SIZE = 500

_SIDE: dict[str, engine.Side] = {OrderSide.BUY: engine.Side.BUY, OrderSide.SELL: engine.Side.SELL}
_TYPE = {
    "limit": engine.OrderType.LIMIT,
    "market": engine.OrderType.MARKET,
    "limit_maker": engine.OrderType.LIMIT_MAKER,
}
_TIF = {"gtc": engine.TimeInForce.GTC, "ioc": engine.TimeInForce.IOC, "fok": engine.TimeInForce.FOK}
_STP = {"dc": engine.STP.DC, "co": engine.STP.CO, "cn": engine.STP.CN, "cb": engine.STP.CB}
_STATUS = {
    engine.Status.NEW: OrderStatus.NEW,
    engine.Status.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    engine.Status.FILLED: OrderStatus.FILLED,
    engine.Status.CANCELED: OrderStatus.CANCELED,
    engine.Status.REJECTED: OrderStatus.REJECTED,
}
_TERMINAL = (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED)


@dataclass
class LiveBook:
    """A symbol's in-memory book and the match sequence it reflects."""

    book: engine.OrderBook
    seq: int
    tick: Decimal
    step: Decimal


_BOOKS: dict[str, LiveBook] = {}


def forget_books() -> None:
    """Drop every in-memory book (tests; a worker restart does the same)."""
    _BOOKS.clear()


def _ticks(value: Decimal, unit: Decimal) -> int:
    with money_context():
        return int(value / unit)


def book_rebuild(symbol: Symbol, seq: int) -> LiveBook:
    """Load the symbol's resting orders into a fresh engine, in their original time priority."""
    book = engine.OrderBook()
    resting = (
        Order.objects.filter(symbol=symbol, status__in=(OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED))
        .order_by("book_seq", "pk")
        .values_list("pk", "user_id", "side", "price", "leaves_quantity", "stp")
    )
    tick, step = symbol.price_tick, symbol.quantity_step
    for pk, user_id, side, price, leaves, stp in resting.iterator(chunk_size=5000):
        assert price is not None, "only limit orders rest on a book"
        book.restore(
            order_id=pk,
            owner=user_id,
            side=_SIDE[side],
            price=_ticks(price, tick),
            remaining_qty=_ticks(leaves, step),
            stp=_STP[stp],
        )
    # A large book is many long-lived objects; moving them out of the collector's generations keeps
    # full collections (tens of ms with 100k orders) from stalling later batches.
    gc.freeze()
    live = LiveBook(book=book, seq=seq, tick=tick, step=step)
    _BOOKS[symbol.pk] = live
    return live


@dataclass
class _Batch:
    """What one batch accumulates before it is written."""

    orders: dict[int, Order] = field(default_factory=dict)
    touched: dict[int, None] = field(default_factory=dict)  # ordered set of order ids
    updates: dict[int, engine.OrderUpdate] = field(default_factory=dict)
    fills: list[tuple[engine.Trade, int]] = field(default_factory=list)  # (trade, seq)
    commands: list[MatchCommand] = field(default_factory=list)


def match_batch(symbol_id: str, *, batch_size: int = BATCH_SIZE) -> int:
    """Process one batch of the symbol's pending commands. Returns how many were processed."""
    after_commit: list[Any] = []
    with transaction.atomic():
        state = _lock_state(symbol_id)
        commands = list(
            MatchCommand.objects.filter(symbol_id=symbol_id, processed_at__isnull=True)
            .select_related("order")
            .order_by("pk")[:batch_size]
        )
        if not commands:
            return 0
        symbol = Symbol.objects.select_related("base", "quote").get(pk=symbol_id)
        live = _BOOKS.get(symbol_id)
        if live is None or live.seq != state.seq or live.tick != symbol.price_tick or live.step != symbol.quantity_step:
            if live is not None:
                logger.warning("book of %s is stale (memory %s, stored %s): rebuilding", symbol_id, live.seq, state.seq)
            live = book_rebuild(symbol, state.seq)
        try:
            _apply(symbol, state, live, commands, after_commit)
        except BaseException:
            _BOOKS.pop(symbol_id, None)
            raise
    for callback in after_commit:
        callback()
    return len(commands)


def _lock_state(symbol_id: str) -> SymbolMatchState:
    state = SymbolMatchState.objects.select_for_update().filter(symbol_id=symbol_id).first()
    if state is None:
        try:
            with transaction.atomic():
                SymbolMatchState.objects.create(symbol_id=symbol_id)
        except IntegrityError:
            pass
        state = SymbolMatchState.objects.select_for_update().get(symbol_id=symbol_id)
    return state


def _apply(
    symbol: Symbol, state: SymbolMatchState, live: LiveBook, commands: list[MatchCommand], after_commit: list[Any]
) -> None:
    batch = _Batch()
    book, tick, step = live.book, live.tick, live.step
    seq = state.seq
    now = timezone.now()
    for command in commands:
        seq += 1
        # One Python object per order for the whole batch (its place and cancel may both be here).
        order = batch.orders.setdefault(command.order_id, command.order)
        command.processed_at = now
        command.seq = seq
        batch.commands.append(command)
        if command.kind == CommandKind.PLACE:
            if order.status != OrderStatus.PENDING:
                continue  # already applied (cannot happen while seq matches; kept as a guard)
            order.book_seq = seq
        trades, updates = run_command(book, command.kind, order, tick, step)
        if command.kind == CommandKind.CANCEL and not updates:
            command.reason = command.reason or "not_open"
        for trade in trades:
            batch.fills.append((trade, seq))
        for update in updates:
            batch.updates[update.order_id] = update
            batch.touched[update.order_id] = None
    _write(symbol, state, live, batch, seq, now, after_commit)


def run_command(
    book: engine.OrderBook, kind: str, order: Order, tick: Decimal, step: Decimal
) -> tuple[list[engine.Trade], list[engine.OrderUpdate]]:
    """Feed one command to the engine, converting the order to ticks and lots."""
    if kind == CommandKind.CANCEL:
        return book.cancel(order.pk)
    funds = _ticks(order.quote_amount, tick * step) if order.quote_amount is not None else None
    if funds == 0:
        # Less than one tick × one lot of quote: nothing can be bought.
        return [], [engine.OrderUpdate(order.pk, engine.Status.CANCELED, 0, 0, 0, "no_liquidity")]
    bound = order.price if order.price is not None else order.protection_price
    return book.place(
        order_id=order.pk,
        owner=order.user_id,
        side=_SIDE[order.side],
        type=_TYPE[order.type],
        tif=_TIF[order.time_in_force],
        price=_ticks(bound, tick) if bound is not None else None,
        qty=_ticks(order.quantity, step) if order.quantity is not None else None,
        funds=funds,
        stp=_STP[order.stp],
    )


def replay(symbol: Symbol) -> tuple[engine.OrderBook, list[engine.Trade]]:
    """Re-run every processed command of ``symbol`` in sequence order through a fresh engine.

    The result must equal the live state (resting orders, trades): a check that a crash or a
    restart neither lost nor duplicated anything.
    """
    book = engine.OrderBook()
    trades: list[engine.Trade] = []
    commands = MatchCommand.objects.filter(symbol=symbol, seq__isnull=False).select_related("order").order_by("seq")
    for command in commands.iterator(chunk_size=2000):
        fills, _ = run_command(book, command.kind, command.order, symbol.price_tick, symbol.quantity_step)
        trades.extend(fills)
    return book, trades


def _load_orders(batch: _Batch, symbol: Symbol) -> None:
    missing = [pk for pk in batch.touched if pk not in batch.orders]
    if missing:
        for order in Order.objects.filter(pk__in=missing):
            batch.orders[order.pk] = order
    for order in batch.orders.values():
        order.symbol = symbol  # every order of the batch is on this symbol: no per-row fetch later


def _write(
    symbol: Symbol,
    state: SymbolMatchState,
    live: LiveBook,
    batch: _Batch,
    seq: int,
    now: Any,
    after_commit: list[Any],
) -> None:
    tick, step = live.tick, live.step
    _load_orders(batch, symbol)
    base, quote = symbol.base_id, symbol.quote_id
    base_places, quote_places = symbol.base.precision, symbol.quote.precision
    legs: dict[tuple[int, str, str], Decimal] = defaultdict(lambda: ZERO)
    fees: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)  # (organization, token) -> fee
    trades: list[Trade] = []
    ts_ms = int(now.timestamp() * 1000)

    with money_context():
        for fill, fill_seq in batch.fills:
            taker = batch.orders[fill.taker_order_id]
            maker = batch.orders[fill.maker_order_id]
            buy, sell = (taker, maker) if fill.taker_side == engine.Side.BUY else (maker, taker)
            price = fill.price * tick
            qty = fill.qty * step
            cost = price * qty
            buyer_rate = symbol.taker_fee_rate if buy is taker else symbol.maker_fee_rate
            seller_rate = symbol.taker_fee_rate if sell is taker else symbol.maker_fee_rate
            buyer_fee = quantize_down(qty * buyer_rate, base_places)
            seller_fee = quantize_down(cost * seller_rate, quote_places)
            legs[(buy.account_id, quote, Bucket.HOLD)] -= cost
            legs[(buy.account_id, base, Bucket.AVAILABLE)] += qty - buyer_fee
            legs[(sell.account_id, base, Bucket.HOLD)] -= qty
            legs[(sell.account_id, quote, Bucket.AVAILABLE)] += cost - seller_fee
            fees[(buy.organization_id, base)] += buyer_fee
            fees[(sell.organization_id, quote)] += seller_fee
            buy.hold_remaining -= cost
            sell.hold_remaining -= qty
            for order, fee in ((buy, buyer_fee), (sell, seller_fee)):
                order.executed_quantity += qty
                order.executed_quote += cost
                order.fee += fee
            trades.append(
                Trade(
                    symbol=symbol,
                    price=price,
                    quantity=qty,
                    quote_quantity=cost,
                    buy_order=buy,
                    sell_order=sell,
                    buyer_id=buy.user_id,
                    seller_id=sell.user_id,
                    buyer_is_maker=buy is maker,
                    buyer_fee=buyer_fee,
                    seller_fee=seller_fee,
                    match_seq=fill_seq,
                )
            )

        changed: list[Order] = []
        for pk in batch.touched:
            order = batch.orders[pk]
            update = batch.updates[pk]
            order.status = _STATUS[update.status]
            order.leaves_quantity = update.remaining_qty * step
            if order.status in _TERMINAL:
                order.reason = update.reason
            elif update.reason:
                order.reason = update.reason
            # What must stay held: the open remainder (sell: base; limit buy: remainder × limit price).
            if order.status in _TERMINAL:
                required = ZERO
            elif order.side == OrderSide.SELL:
                required = order.leaves_quantity
            else:
                required = order.leaves_quantity * (order.price or ZERO)
            release = order.hold_remaining - required
            if release < 0:
                raise AssertionError(f"order {pk} would need {-release} more hold than it has")
            if release > 0:
                legs[(order.account_id, order.hold_token_id, Bucket.HOLD)] -= release
                legs[(order.account_id, order.hold_token_id, Bucket.AVAILABLE)] += release
                order.hold_remaining = required
            order.updated_at = now
            changed.append(order)

    if fees:
        fee_accounts = _fee_accounts({org for org, _ in fees})
        for (org, token), amount in fees.items():
            if amount:
                legs[(fee_accounts[org], token, Bucket.AVAILABLE)] += amount
    ledger_legs = [Leg(a, t, b, amount) for (a, t, b), amount in sorted(legs.items()) if amount != 0]
    if ledger_legs:
        ledger_post(
            kind=TransactionKind.TRADE,
            organization_id=None,
            legs=ledger_legs,
            reference=f"match:{symbol.pk}:{state.seq + 1}-{seq}",
        )
    bulk_set(
        changed,
        [
            "status",
            "leaves_quantity",
            "executed_quantity",
            "executed_quote",
            "fee",
            "hold_remaining",
            "reason",
            "book_seq",
            "updated_at",
        ],
    )
    created_trades = bulk_insert(trades)
    bulk_set(batch.commands, ["processed_at", "seq", "reason"])
    state.seq = seq
    if created_trades:
        state.last_price = created_trades[-1].price
        state.last_trade_id = created_trades[-1].pk or state.last_trade_id
    state.save(update_fields=["seq", "last_price", "last_trade_id", "updated_at"])

    ticks = [Tick(t.pk or 0, ts_ms, t.price, t.quantity, t.quote_quantity, t.buyer_is_maker) for t in created_trades]
    klines_record(symbol_id=symbol.pk, ticks=ticks)
    events_emit_many(_events(symbol, changed, created_trades))
    live.seq = seq

    bids, asks = live.book.depth(200)
    bids_dec = [(p * tick, q * step) for p, q in bids]
    asks_dec = [(p * tick, q * step) for p, q in asks]

    def publish() -> None:
        snapshot = depth_store(symbol_id=symbol.pk, seq_id=seq, bids=bids_dec, asks=asks_dec, ts_ms=ts_ms)
        messages = [("trade", tick_payload(tick_)) for tick_ in ticks]
        messages.append(("depth", snapshot))
        market_publish(symbol_id=symbol.pk, messages=messages)

    after_commit.append(publish)


def _fee_accounts(organization_ids: set[int]) -> dict[int, int]:
    from apps.accounts.services import system_account

    found = dict(
        Account.objects.filter(organization_id__in=organization_ids, user=None, type=AccountType.FEE).values_list(
            "organization_id", "pk"
        )
    )
    for org in organization_ids - set(found):
        found[org] = system_account(organization_id=org, type=AccountType.FEE).pk
    return found


def _events(symbol: Symbol, orders: list[Order], trades: list[Trade]) -> list[OutboxEvent]:
    from apps.trading.selectors import order_payload, trade_payload

    events: list[OutboxEvent] = []
    for order in orders:
        events.append(
            OutboxEvent(
                type="order.update",
                organization_id=order.organization_id,
                user_id=order.user_id,
                payload=order_payload(order),
            )
        )
    for trade in trades:
        for order in (trade.buy_order, trade.sell_order):
            # Each side's organization sees its own user's fill only, never the counterparty's order.
            events.append(
                OutboxEvent(
                    type="trade.match",
                    organization_id=order.organization_id,
                    user_id=order.user_id,
                    payload=trade_payload(trade, order),
                )
            )
    return events


def process_symbol(symbol_id: str, *, batch_size: int = BATCH_SIZE, time_budget: float = 5.0) -> int:
    """Run batches until the symbol has no pending command (or the time budget is spent)."""
    total = 0
    deadline = time.monotonic() + time_budget
    while True:
        done = match_batch(symbol_id, batch_size=batch_size)
        total += done
        if done < batch_size or time.monotonic() > deadline:
            return total
