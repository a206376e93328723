"""The matching worker's batch step (DESIGN.md §8 "Matching worker").

``match_batch(symbol_id)`` takes up to ``batch_size`` unprocessed commands of one symbol in id order,
runs them through the in-memory engine, and writes the whole batch's effects in **one** DB
transaction: order states, trades, one ledger transaction (fills, fees, hold releases — each fee
account touched once per batch), klines, outbox events, the processed commands and the symbol's new
sequence. The transaction starts by locking the symbol's ``SymbolMatchState`` row and comparing its
``seq`` with the in-memory book's: a mismatch (another writer, or this process lost a batch)
rebuilds the book from the open orders in time priority (``Order.book_seq``). Any failure drops the
in-memory book, so nothing applied in memory survives a rolled-back batch. A crash before commit loses
nothing: the commands are still unprocessed and are simply run again.

The batch works on plain rows, not model instances (``OrderRow``; trades, commands and events as
tuples written through ``apps.core.db``'s ``COPY``/``unnest`` helpers): building and saving Django
models was most of a batch's time. The rows of resting orders stay in memory with the book
(``LiveBook.rows``) so a maker hit by a later batch is not read again; they share the book's
lifetime (a rebuild or a failed batch starts them afresh), and while the stored ``seq`` matches,
this worker is the only writer of those rows.

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
from datetime import datetime
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _json_str  # type: ignore[attr-defined]
from typing import Any, Protocol

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.ledger import Leg, ledger_post
from apps.accounts.models import Account, AccountType, Bucket, TransactionKind
from apps.core.db import RawJson, insert_rows, update_rows
from apps.core.money import ZERO, money_context, quantize_down
from apps.events.services import events_emit_rows
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
_STATUS: dict[engine.Status, str] = {
    engine.Status.NEW: OrderStatus.NEW.value,
    engine.Status.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED.value,
    engine.Status.FILLED: OrderStatus.FILLED.value,
    engine.Status.CANCELED: OrderStatus.CANCELED.value,
    engine.Status.REJECTED: OrderStatus.REJECTED.value,
}
_TERMINAL = frozenset((OrderStatus.FILLED.value, OrderStatus.CANCELED.value, OrderStatus.REJECTED.value))
_BUY = OrderSide.BUY.value

# The order columns a batch reads (``OrderRow``'s fields, in this order) and the ones it writes.
ORDER_COLUMNS = (
    "id",
    "organization_id",
    "user_id",
    "account_id",
    "client_order_id",
    "side",
    "type",
    "time_in_force",
    "stp",
    "price",
    "quantity",
    "quote_amount",
    "protection_price",
    "status",
    "executed_quantity",
    "executed_quote",
    "leaves_quantity",
    "fee",
    "hold_token_id",
    "hold_remaining",
    "reason",
    "book_seq",
    "created_at",
)
ORDER_WRITES = (
    "status",
    "leaves_quantity",
    "executed_quantity",
    "executed_quote",
    "fee",
    "hold_remaining",
    "reason",
    "book_seq",
)
TRADE_COLUMNS = (  # and symbol_id, created_at: the same for the whole batch
    "price",
    "quantity",
    "quote_quantity",
    "buy_order_id",
    "sell_order_id",
    "buyer_id",
    "seller_id",
    "buyer_is_maker",
    "buyer_fee",
    "seller_fee",
    "match_seq",
)


class OrderRow:
    """One order as a batch reads and writes it (``ORDER_COLUMNS``), without a model instance."""

    __slots__ = (
        "account_id",
        "book_seq",
        "client_order_id",
        "created_at",
        "executed_quantity",
        "executed_quote",
        "fee",
        "hold_remaining",
        "hold_token_id",
        "leaves_quantity",
        "organization_id",
        "pk",
        "price",
        "protection_price",
        "quantity",
        "quote_amount",
        "reason",
        "side",
        "status",
        "stp",
        "time_in_force",
        "type",
        "user_id",
    )

    def __init__(
        self,
        pk: int,
        organization_id: int,
        user_id: int,
        account_id: int,
        client_order_id: str,
        side: str,
        type: str,
        time_in_force: str,
        stp: str,
        price: Decimal | None,
        quantity: Decimal | None,
        quote_amount: Decimal | None,
        protection_price: Decimal | None,
        status: str,
        executed_quantity: Decimal,
        executed_quote: Decimal,
        leaves_quantity: Decimal,
        fee: Decimal,
        hold_token_id: str,
        hold_remaining: Decimal,
        reason: str,
        book_seq: int | None,
        created_at: datetime | None,
    ) -> None:
        self.pk = pk
        self.organization_id = organization_id
        self.user_id = user_id
        self.account_id = account_id
        self.client_order_id = client_order_id
        self.side = side
        self.type = type
        self.time_in_force = time_in_force
        self.stp = stp
        self.price = price
        self.quantity = quantity
        self.quote_amount = quote_amount
        self.protection_price = protection_price
        self.status = status
        self.executed_quantity = executed_quantity
        self.executed_quote = executed_quote
        self.leaves_quantity = leaves_quantity
        self.fee = fee
        self.hold_token_id = hold_token_id
        self.hold_remaining = hold_remaining
        self.reason = reason
        self.book_seq = book_seq
        self.created_at = created_at


class Placeable(Protocol):
    """What ``run_command`` reads of an order: an ``Order`` or an ``OrderRow``."""

    pk: Any
    user_id: Any
    side: str
    type: str
    time_in_force: str
    stp: str
    price: Decimal | None
    quantity: Decimal | None
    quote_amount: Decimal | None
    protection_price: Decimal | None


@dataclass
class LiveBook:
    """A symbol's in-memory book, the match sequence it reflects and its resting orders' rows."""

    book: engine.OrderBook
    seq: int
    tick: Decimal
    step: Decimal
    rows: dict[int, OrderRow] = field(default_factory=dict)  # filled in as orders pass through batches
    fee_accounts: dict[int, int] = field(default_factory=dict)  # organization -> its FEE account


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

    orders: dict[int, OrderRow] = field(default_factory=dict)
    touched: dict[int, None] = field(default_factory=dict)  # ordered set of order ids
    updates: dict[int, engine.OrderUpdate] = field(default_factory=dict)
    fills: list[tuple[engine.Trade, int]] = field(default_factory=list)  # (trade, seq)
    commands: list[tuple[int, int, str]] = field(default_factory=list)  # (command id, seq, reason)


def match_batch(symbol_id: str, *, batch_size: int = BATCH_SIZE) -> int:
    """Process one batch of the symbol's pending commands. Returns how many were processed."""
    after_commit: list[Any] = []
    with transaction.atomic():
        state = _lock_state(symbol_id)
        commands = _load_commands(symbol_id, batch_size)
        if not commands:
            return 0
        symbol = state.symbol
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


def _load_commands(symbol_id: str, batch_size: int) -> list[tuple[Any, ...]]:
    """The next pending commands in id order: ``(id, kind, reason, *ORDER_COLUMNS of its order)``."""
    return list(
        MatchCommand.objects.filter(symbol_id=symbol_id, processed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", "kind", "reason", *(f"order__{c}" for c in ORDER_COLUMNS))[:batch_size]
    )


def _lock_state(symbol_id: str) -> SymbolMatchState:
    """Lock the symbol's state row (only that row) and read it with the symbol and its tokens."""
    locked = SymbolMatchState.objects.select_for_update(of=("self",)).select_related("symbol__base", "symbol__quote")
    state = locked.filter(symbol_id=symbol_id).first()
    if state is None:
        try:
            with transaction.atomic():
                SymbolMatchState.objects.create(symbol_id=symbol_id)
        except IntegrityError:
            pass
        state = locked.get(symbol_id=symbol_id)
    return state


def _apply(
    symbol: Symbol, state: SymbolMatchState, live: LiveBook, commands: list[tuple[Any, ...]], after_commit: list[Any]
) -> None:
    batch = _Batch()
    book, tick, step, cached = live.book, live.tick, live.step, live.rows
    orders = batch.orders
    seq = state.seq
    for command_id, kind, reason, *columns in commands:
        seq += 1
        order_id = columns[0]
        # One object per order for the whole batch (its place and cancel may both be here); a resting
        # order's row is already in memory.
        order = orders.get(order_id) or cached.get(order_id)
        if order is None:
            order = OrderRow(*columns)
        orders[order_id] = order
        if kind == CommandKind.PLACE:
            if order.status != OrderStatus.PENDING:
                batch.commands.append((command_id, seq, reason))
                continue  # already applied (cannot happen while seq matches; kept as a guard)
            order.book_seq = seq
        trades, updates = run_command(book, kind, order, tick, step)
        if kind == CommandKind.CANCEL and not updates:
            reason = reason or "not_open"
        batch.commands.append((command_id, seq, reason))
        for trade in trades:
            batch.fills.append((trade, seq))
        for update in updates:
            batch.updates[update.order_id] = update
            batch.touched[update.order_id] = None
    _write(symbol, state, live, batch, seq, after_commit)


def run_command(
    book: engine.OrderBook, kind: str, order: Placeable, tick: Decimal, step: Decimal
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


def _load_makers(batch: _Batch, live: LiveBook) -> None:
    """Rows of the resting orders the batch touched that are neither in it nor in memory."""
    orders, cached = batch.orders, live.rows
    missing = []
    for pk in batch.touched:
        if pk not in orders:
            row = cached.get(pk)
            if row is None:
                missing.append(pk)
            else:
                orders[pk] = row
    if missing:
        for columns in Order.objects.filter(pk__in=missing).values_list(*ORDER_COLUMNS):
            orders[columns[0]] = OrderRow(*columns)


def _ms(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


def _write(
    symbol: Symbol,
    state: SymbolMatchState,
    live: LiveBook,
    batch: _Batch,
    seq: int,
    after_commit: list[Any],
) -> None:
    tick, step = live.tick, live.step
    _load_makers(batch, live)
    orders = batch.orders
    now = timezone.now()
    ts_ms = int(now.timestamp() * 1000)
    symbol_id, base, quote = symbol.pk, symbol.base_id, symbol.quote_id
    base_places, quote_places = symbol.base.precision, symbol.quote.precision
    taker_rate, maker_rate = symbol.taker_fee_rate, symbol.maker_fee_rate
    legs: dict[tuple[int, str, str], Decimal] = defaultdict(lambda: ZERO)
    fees: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)  # (organization, token) -> fee
    trade_rows: list[tuple[Any, ...]] = []
    # (buy order, sell order, price, qty, cost, buyer fee, seller fee, buyer is maker) per fill, for events.
    fills: list[tuple[OrderRow, OrderRow, Decimal, Decimal, Decimal, Decimal, Decimal, bool]] = []
    hold, available = Bucket.HOLD.value, Bucket.AVAILABLE.value

    with money_context():
        for fill, fill_seq in batch.fills:
            taker = orders[fill.taker_order_id]
            maker = orders[fill.maker_order_id]
            buyer_is_maker = fill.taker_side != engine.Side.BUY
            buy, sell = (maker, taker) if buyer_is_maker else (taker, maker)
            price = fill.price * tick
            qty = fill.qty * step
            cost = price * qty
            buyer_fee = quantize_down(qty * (maker_rate if buyer_is_maker else taker_rate), base_places)
            seller_fee = quantize_down(cost * (taker_rate if buyer_is_maker else maker_rate), quote_places)
            legs[(buy.account_id, quote, hold)] -= cost
            legs[(buy.account_id, base, available)] += qty - buyer_fee
            legs[(sell.account_id, base, hold)] -= qty
            legs[(sell.account_id, quote, available)] += cost - seller_fee
            fees[(buy.organization_id, base)] += buyer_fee
            fees[(sell.organization_id, quote)] += seller_fee
            buy.hold_remaining -= cost
            sell.hold_remaining -= qty
            buy.executed_quantity += qty
            buy.executed_quote += cost
            buy.fee += buyer_fee
            sell.executed_quantity += qty
            sell.executed_quote += cost
            sell.fee += seller_fee
            trade_rows.append(
                (
                    price,
                    qty,
                    cost,
                    buy.pk,
                    sell.pk,
                    buy.user_id,
                    sell.user_id,
                    buyer_is_maker,
                    buyer_fee,
                    seller_fee,
                    fill_seq,
                )
            )
            fills.append((buy, sell, price, qty, cost, buyer_fee, seller_fee, buyer_is_maker))

        changed: list[OrderRow] = []
        for pk in batch.touched:
            order = orders[pk]
            update = batch.updates[pk]
            order.status = status = _STATUS[update.status]
            order.leaves_quantity = leaves = update.remaining_qty * step
            terminal = status in _TERMINAL
            if terminal or update.reason:
                order.reason = update.reason
            # What must stay held: the open remainder (sell: base; limit buy: remainder × limit price).
            if terminal:
                required = ZERO
            elif order.side != _BUY:
                required = leaves
            else:
                required = leaves * (order.price or ZERO)
            release = order.hold_remaining - required
            if release < 0:
                raise AssertionError(f"order {pk} would need {-release} more hold than it has")
            if release > 0:
                legs[(order.account_id, order.hold_token_id, hold)] -= release
                legs[(order.account_id, order.hold_token_id, available)] += release
                order.hold_remaining = required
            changed.append(order)

    if fees:
        fee_accounts = live.fee_accounts
        missing = {org for org, _ in fees} - set(fee_accounts)
        if missing:
            fee_accounts.update(_fee_accounts(missing))
        for (org, token), amount in fees.items():
            if amount:
                legs[(fee_accounts[org], token, available)] += amount
    ledger_legs = [Leg(a, t, b, amount) for (a, t, b), amount in sorted(legs.items()) if amount != 0]
    ledger_reference = f"match:{symbol_id}:{state.seq + 1}-{seq}"
    # Every row written must exist: a count short of the batch is a bug, and rolls the batch back.
    written = update_rows(
        Order,
        ORDER_WRITES,
        [
            (
                o.pk,
                o.status,
                o.leaves_quantity,
                o.executed_quantity,
                o.executed_quote,
                o.fee,
                o.hold_remaining,
                o.reason,
                o.book_seq,
            )
            for o in changed
        ],
        constants={"updated_at": now},
    )
    if written != len(changed):
        raise AssertionError(f"{len(changed)} orders changed but {written} rows updated")
    trade_ids = insert_rows(Trade, TRADE_COLUMNS, trade_rows, constants={"symbol_id": symbol_id, "created_at": now})
    written = update_rows(MatchCommand, ("seq", "reason"), batch.commands, constants={"processed_at": now})
    if written != len(batch.commands):
        raise AssertionError(f"{len(batch.commands)} commands processed but {written} rows updated")
    state.seq = seq
    if trade_ids:
        state.last_price = trade_rows[-1][0]
        state.last_trade_id = trade_ids[-1]
    state.save(update_fields=["seq", "last_price", "last_trade_id", "updated_at"])

    ticks = [Tick(i, ts_ms, f[2], f[3], f[4], f[7]) for i, f in zip(trade_ids, fills, strict=True)]
    klines_record(symbol_id=symbol_id, ticks=ticks)
    events_emit_rows(_events(symbol, changed, trade_ids, fills, ts_ms))
    # The balances last: their row locks (which order placements and withdrawals of the same users
    # wait for) are then held only from here to the commit, not for the whole batch.
    if ledger_legs:
        ledger_post(kind=TransactionKind.TRADE, organization_id=None, legs=ledger_legs, reference=ledger_reference)
    live.seq = seq
    # The book's rows follow it: resting orders stay, finished ones leave.
    cached = live.rows
    for order in changed:
        if order.status in _TERMINAL:
            cached.pop(order.pk, None)
        else:
            cached[order.pk] = order

    bids, asks = live.book.depth(200)
    bids_dec = [(p * tick, q * step) for p, q in bids]
    asks_dec = [(p * tick, q * step) for p, q in asks]

    def publish() -> None:
        snapshot = depth_store(symbol_id=symbol_id, seq_id=seq, bids=bids_dec, asks=asks_dec, ts_ms=ts_ms)
        messages = [("trade", tick_payload(tick_)) for tick_ in ticks]
        messages.append(("depth", snapshot))
        market_publish(symbol_id=symbol_id, messages=messages)

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


def _fmt(value: Decimal | None) -> str:
    """``apps.core.money.fmt`` (plain digits, no trailing zeros; "0" for zero or None), faster."""
    if not value:
        return "0"
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _events(
    symbol: Symbol,
    orders: list[OrderRow],
    trade_ids: list[int],
    fills: list[tuple[OrderRow, OrderRow, Decimal, Decimal, Decimal, Decimal, Decimal, bool]],
    ts_ms: int,
) -> list[tuple[str, int | None, int | None, RawJson]]:
    """``order.update`` per changed order and ``trade.match`` per side of each fill, as outbox rows.

    The payloads are ``apps.trading.selectors.order_payload`` / ``trade_payload`` of the stored rows
    (tests/trading/test_matching.py compares them), encoded from templates: ``json.dumps`` of each
    dict was the largest Python cost of a batch. Every string that is not a formatted number goes
    through the JSON encoder's own string escaping.
    """
    symbol_s, base_s, quote_s = _json_str(symbol.pk), _json_str(symbol.base_id), _json_str(symbol.quote_id)
    events: list[tuple[str, int | None, int | None, RawJson]] = []
    append = events.append
    for o in orders:
        created = _ms(o.created_at)
        payload = (
            f'{{"order_id": "{o.pk}", "client_order_id": {_json_str(o.client_order_id)}, "symbol": {symbol_s}, '
            f'"side": {_json_str(o.side)}, "type": {_json_str(o.type)}, '
            f'"time_in_force": {_json_str(o.time_in_force)}, "price": "{_fmt(o.price)}", '
            f'"quantity": "{_fmt(o.quantity)}", "quote_amount": "{_fmt(o.quote_amount)}", '
            f'"executed_quantity": "{_fmt(o.executed_quantity)}", "executed_quote": "{_fmt(o.executed_quote)}", '
            f'"leaves_quantity": "{_fmt(o.leaves_quantity)}", "fee": "{_fmt(o.fee)}", '
            f'"fee_token": {base_s if o.side == _BUY else quote_s}, "status": {_json_str(o.status)}, '
            f'"reason": {_json_str(o.reason)}, "created_at": {"null" if created is None else created}, '
            f'"updated_at": {ts_ms}}}'
        )
        append(("order.update", o.organization_id, o.user_id, RawJson(payload)))
    for trade_id, (buy, sell, price, qty, cost, buyer_fee, seller_fee, buyer_is_maker) in zip(
        trade_ids, fills, strict=True
    ):
        common = (
            f'"trade_id": "{trade_id}", "symbol": {symbol_s}, "price": "{_fmt(price)}", '
            f'"quantity": "{_fmt(qty)}", "quote_quantity": "{_fmt(cost)}", "time": {ts_ms}'
        )
        # Each side's organization sees its own user's fill only, never the counterparty's order.
        append(
            (
                "trade.match",
                buy.organization_id,
                buy.user_id,
                RawJson(
                    f'{{{common}, "order_id": "{buy.pk}", "client_order_id": {_json_str(buy.client_order_id)}, '
                    f'"side": "buy", "fee": "{_fmt(buyer_fee)}", "fee_token": {base_s}, '
                    f'"is_maker": {"true" if buyer_is_maker else "false"}}}'
                ),
            )
        )
        append(
            (
                "trade.match",
                sell.organization_id,
                sell.user_id,
                RawJson(
                    f'{{{common}, "order_id": "{sell.pk}", "client_order_id": {_json_str(sell.client_order_id)}, '
                    f'"side": "sell", "fee": "{_fmt(seller_fee)}", "fee_token": {quote_s}, '
                    f'"is_maker": {"false" if buyer_is_maker else "true"}}}'
                ),
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
