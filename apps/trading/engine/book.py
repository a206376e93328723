"""The order book of one symbol and its matching loop (design notes in the package docstring).

Layout, chosen for speed in pure Python:

- Each side keeps ``levels`` (price -> ``_Level``) and ``keys``, a plain sorted list of
  *priority keys* with the best level last, so that reading, adding and removing the best
  level is O(1) at the list's end. The key is the price for bids and minus the price for
  asks; a taker crosses a level while ``key >= bound_key``, so one loop serves both sides.
- A level is a FIFO ``deque`` of ``_Order`` plus its total open quantity. Cancel is lazy:
  it zeroes the order's ``remaining`` and the order is skipped (and dropped) when it
  reaches the front; a level compacts itself when dead entries outnumber live ones.
- ``_index`` maps order_id -> live ``_Order`` for O(1) cancel and duplicate checks.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable

from .types import STP, OrderType, OrderUpdate, Side, Status, TimeInForce, Trade, new_trade, new_update

__all__ = ["OrderBook"]

_NO_BOUND = -(1 << 256)  # a bound key below every real key: "no price limit"
_COMPACT_MIN_DEAD = 32

_BUY = Side.BUY
_SELL = Side.SELL
_LIMIT = OrderType.LIMIT
_MARKET = OrderType.MARKET
_LIMIT_MAKER = OrderType.LIMIT_MAKER
_GTC = TimeInForce.GTC
_IOC = TimeInForce.IOC
_FOK = TimeInForce.FOK
_DC = STP.DC
_CO = STP.CO
_CN = STP.CN
_CB = STP.CB
_TIFS = frozenset(TimeInForce)
_STPS = frozenset(STP)
_NEW = Status.NEW
_PARTIALLY_FILLED = Status.PARTIALLY_FILLED
_FILLED = Status.FILLED
_CANCELED = Status.CANCELED
_REJECTED = Status.REJECTED

# Why matching stopped (returned by ``OrderBook._match``).
_STOP_DONE = 0  # the taker has nothing left to trade
_STOP_NO_CROSS = 1  # the book is empty or no longer crosses the taker's bound
_STOP_FUNDS = 2  # the remaining funds cannot buy one lot at the next price
_STOP_STP = 3  # self-trade prevention canceled the taker


class _Order:
    """A live order. Built by ``_new_order`` (or inline on the hottest path), not ``__init__``:
    setting slots in the caller's frame costs about half of a call to ``__init__``."""

    __slots__ = ("filled", "funds", "order_id", "owner", "price", "remaining", "side", "stp")
    order_id: int
    owner: int
    side: Side
    price: int  # 0 for a market order, which never rests
    remaining: int  # open quantity; 0 once the order left the book
    filled: int
    funds: int  # filled funds: sum of price * qty of its fills
    stp: STP


def _new_order(
    order_id: int, owner: int, side: Side, price: int, remaining: int, filled: int, funds: int, stp: STP
) -> _Order:
    order = _Order()
    order.order_id = order_id
    order.owner = owner
    order.side = side
    order.price = price
    order.remaining = remaining
    order.filled = filled
    order.funds = funds
    order.stp = stp
    return order


class _Level:
    __slots__ = ("dead", "qty", "queue")

    def __init__(self) -> None:
        self.qty = 0  # total open quantity of the live orders
        self.queue: deque[_Order] = deque()
        self.dead = 0  # canceled orders still sitting in ``queue``


class _Side:
    __slots__ = ("keys", "levels", "sign")

    def __init__(self, sign: int) -> None:
        self.levels: dict[int, _Level] = {}
        self.keys: list[int] = []  # priority keys (sign * price), ascending: best last
        self.sign = sign

    def level_for(self, price: int) -> _Level:
        level = self.levels.get(price)
        return self.add_level(price) if level is None else level

    def add_level(self, price: int) -> _Level:
        level = self.levels[price] = _Level()
        insort(self.keys, self.sign * price)
        return level

    def drop_level(self, price: int) -> None:
        del self.levels[price]
        keys = self.keys
        key = self.sign * price
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]


def _open_status(order: _Order) -> Status:
    return _PARTIALLY_FILLED if order.filled else _NEW


class OrderBook:
    """The in-memory book of one symbol; every method is deterministic."""

    __slots__ = ("_asks", "_bids", "_index", "seq")

    def __init__(self) -> None:
        self.seq = 0  # commands processed (place and cancel, rejected ones included)
        self._bids = _Side(1)
        self._asks = _Side(-1)
        self._index: dict[int, _Order] = {}

    # ------------------------------------------------------------------ commands

    def place(
        self,
        *,
        order_id: int,
        owner: int,
        side: Side,
        type: OrderType,
        tif: TimeInForce,
        price: int | None,
        qty: int | None,
        funds: int | None = None,
        stp: STP = STP.DC,
    ) -> tuple[list[Trade], list[OrderUpdate]]:
        """Process one new order; return its fills and every order state it changed."""
        if type == _LIMIT or type == _LIMIT_MAKER:
            if (
                price is None
                or qty is None
                or funds is not None
                or price <= 0
                or qty <= 0
                or tif not in _TIFS
                or stp not in _STPS
                or (type == _LIMIT_MAKER and tif != _GTC)
                or order_id in self._index
            ):
                raise ValueError(self._invalid(order_id, type, tif, price, qty, funds, stp))
            if side == _BUY:
                own, opp, bound_key = self._bids, self._asks, -price
            elif side == _SELL:
                own, opp, bound_key = self._asks, self._bids, price
            else:
                raise ValueError(f"bad side {side!r}")
            self.seq += 1
            keys = opp.keys
            if not keys or keys[-1] < bound_key:  # nothing to take
                if tif == _GTC:  # the most common command of all: a limit order that rests
                    order = _Order()
                    order.order_id = order_id
                    order.owner = owner
                    order.side = side
                    order.price = price
                    order.remaining = qty
                    order.filled = 0
                    order.funds = 0
                    order.stp = stp
                    level = own.levels.get(price)
                    if level is None:
                        level = own.add_level(price)
                    level.queue.append(order)
                    level.qty += qty
                    self._index[order_id] = order
                    return [], [new_update(order_id, _NEW, 0, qty, 0, "")]
                if tif == _IOC:
                    return [], [new_update(order_id, _CANCELED, 0, 0, 0, "ioc")]
                return [], [new_update(order_id, _REJECTED, 0, 0, 0, "fok")]
            if type == _LIMIT_MAKER:
                return [], [new_update(order_id, _REJECTED, 0, 0, 0, "post_only")]
            taker = _new_order(order_id, owner, side, price, qty, 0, 0, stp)
            return self._take(taker, tif, own, opp, bound_key, False, 0)

        if type != _MARKET:
            raise ValueError(f"bad order type {type!r}")
        if (
            (qty is None) == (funds is None)
            or (qty is not None and qty <= 0)
            or (funds is not None and (funds <= 0 or side != _BUY))
            or (price is not None and price <= 0)
            or tif not in _TIFS
            or stp not in _STPS
            or order_id in self._index
        ):
            raise ValueError(self._invalid(order_id, type, tif, price, qty, funds, stp, side))
        if side == _BUY:
            own, opp = self._bids, self._asks
            bound_key = _NO_BOUND if price is None else -price
        elif side == _SELL:
            own, opp = self._asks, self._bids
            bound_key = _NO_BOUND if price is None else price
        else:
            raise ValueError(f"bad side {side!r}")
        self.seq += 1
        taker = _new_order(order_id, owner, side, 0, qty or 0, 0, 0, stp)
        return self._take(taker, tif, own, opp, bound_key, True, funds or 0)

    def _invalid(
        self,
        order_id: int,
        type: OrderType,
        tif: TimeInForce,
        price: int | None,
        qty: int | None,
        funds: int | None,
        stp: STP,
        side: Side = _BUY,
    ) -> str:
        """Say what is wrong with a rejected ``place`` call (off the hot path)."""
        if order_id in self._index:
            return f"order {order_id} is already on the book"
        if tif not in _TIFS:
            return f"bad time in force {tif!r}"
        if stp not in _STPS:
            return f"bad stp {stp!r}"
        if price is not None and price <= 0:
            return "price must be positive"
        if type == _MARKET:
            if (qty is None) == (funds is None):
                return "a market order needs exactly one of qty and funds"
            if funds is not None and side != _BUY:
                return "only a market buy can be given funds"
            if funds is not None and funds <= 0:
                return "funds must be positive"
        else:
            if price is None:
                return "a limit order needs a price"
            if funds is not None:
                return "a limit order takes qty, not funds"
            if type == _LIMIT_MAKER and tif != _GTC:
                return "a post-only order is always GTC"
        return "qty must be positive"

    def _take(
        self,
        taker: _Order,
        tif: TimeInForce,
        own: _Side,
        opp: _Side,
        bound_key: int,
        market: bool,
        funds: int,
    ) -> tuple[list[Trade], list[OrderUpdate]]:
        """Run a taker (a crossing limit order or any market order) and report the result."""
        order_id = taker.order_id
        trades: list[Trade] = []
        updates: list[OrderUpdate] = []
        if tif == _FOK and not self._fok_fills(taker, opp, bound_key, funds):
            return trades, [new_update(order_id, _REJECTED, 0, 0, 0, "fok")]
        by_funds = funds > 0
        keys = opp.keys
        if keys and keys[-1] >= bound_key:
            stop, funds_left, decreased = self._match(taker, opp, bound_key, by_funds, funds, trades, updates)
        else:
            stop, funds_left, decreased = _STOP_NO_CROSS, funds, False
            if by_funds and keys and funds < -keys[-1]:  # too poor for the best ask, bound or not
                stop = _STOP_FUNDS

        filled = taker.filled
        if stop == _STOP_STP:
            status, reason = _CANCELED, "stp"
        elif not market:
            if taker.remaining == 0:
                status, reason = _FILLED, ""
            elif tif == _GTC:
                level = own.levels.get(taker.price)
                if level is None:
                    level = own.add_level(taker.price)
                level.queue.append(taker)
                level.qty += taker.remaining
                self._index[order_id] = taker
                updates.append(
                    new_update(
                        order_id,
                        _PARTIALLY_FILLED if filled else _NEW,
                        filled,
                        taker.remaining,
                        taker.funds,
                        "stp" if decreased else "",
                    )
                )
                return trades, updates
            else:
                status, reason = _CANCELED, "ioc"
        elif by_funds:
            if funds_left == 0:
                status, reason = _FILLED, ""
            elif stop == _STOP_FUNDS:
                status, reason = (_FILLED if filled else _CANCELED), "funds_exhausted"
            else:
                status, reason = _CANCELED, "no_liquidity"
        elif taker.remaining == 0:
            status, reason = _FILLED, ""
        else:
            status, reason = _CANCELED, "no_liquidity"
        updates.append(new_update(order_id, status, filled, 0, taker.funds, reason))
        return trades, updates

    def cancel(self, order_id: int) -> tuple[list[Trade], list[OrderUpdate]]:
        """Cancel a resting order; an unknown or finished id is a no-op (still a command)."""
        self.seq += 1
        order = self._index.pop(order_id, None)
        if order is None:
            return [], []
        side = self._bids if order.side == _BUY else self._asks
        level = side.levels[order.price]
        level.qty -= order.remaining
        order.remaining = 0
        if level.qty == 0:
            side.drop_level(order.price)
        else:
            level.dead += 1
            if level.dead >= _COMPACT_MIN_DEAD and level.dead * 2 > len(level.queue):
                level.queue = deque([o for o in level.queue if o.remaining])
                level.dead = 0
        return [], [new_update(order_id, _CANCELED, order.filled, 0, order.funds, "canceled")]

    def restore(
        self,
        *,
        order_id: int,
        owner: int,
        side: Side,
        price: int,
        remaining_qty: int,
        filled_qty: int = 0,
        filled_funds: int = 0,
        stp: STP = STP.DC,
    ) -> None:
        """Put a resting order back at the end of its level: no matching, no ``seq`` bump.

        Used to rebuild the book from stored open orders, fed in their original time
        priority. The caller sets ``seq`` afterwards to the stored sequence.
        """
        if order_id in self._index:
            raise ValueError(f"order {order_id} is already on the book")
        if side != _BUY and side != _SELL:
            raise ValueError(f"bad side {side!r}")
        if stp not in _STPS:
            raise ValueError(f"bad stp {stp!r}")
        if price <= 0 or remaining_qty <= 0 or filled_qty < 0 or filled_funds < 0:
            raise ValueError("price and remaining_qty must be positive, fills not negative")
        order = _new_order(order_id, owner, side, price, remaining_qty, filled_qty, filled_funds, stp)
        level = (self._bids if side == _BUY else self._asks).level_for(price)
        level.queue.append(order)
        level.qty += remaining_qty
        self._index[order_id] = order

    # ------------------------------------------------------------------ reads

    def depth(self, limit: int | None = None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Aggregated levels: (bids high to low, asks low to high) as (price, total qty)."""
        return self._side_depth(self._bids, limit), self._side_depth(self._asks, limit)

    @staticmethod
    def _side_depth(side: _Side, limit: int | None) -> list[tuple[int, int]]:
        keys = side.keys
        if limit is not None:
            keys = keys[-limit:] if limit > 0 else []
        levels = side.levels
        sign = side.sign
        out = []
        for key in reversed(keys):
            price = key * sign
            out.append((price, levels[price].qty))
        return out

    def orders(self) -> list[tuple[int, int, Side, int, int]]:
        """Every resting order as (order_id, owner, side, price, remaining_qty).

        Canonical order: bids then asks, each by price priority then time priority.
        """
        out: list[tuple[int, int, Side, int, int]] = []
        for side in (self._bids, self._asks):
            for key in reversed(side.keys):
                for o in side.levels[key * side.sign].queue:
                    if o.remaining:
                        out.append((o.order_id, o.owner, o.side, o.price, o.remaining))
        return out

    def best_bid(self) -> int | None:
        keys = self._bids.keys
        return keys[-1] if keys else None

    def best_ask(self) -> int | None:
        keys = self._asks.keys
        return -keys[-1] if keys else None

    def __len__(self) -> int:
        return len(self._index)

    # ------------------------------------------------------------------ matching

    def _match(
        self,
        taker: _Order,
        opp: _Side,
        bound_key: int,
        by_funds: bool,
        funds_left: int,
        trades: list[Trade],
        updates: list[OrderUpdate],
    ) -> tuple[int, int, bool]:
        """Match ``taker`` against ``opp`` while it crosses ``bound_key``.

        Mutates the book and the taker (remaining, filled, funds); appends fills and maker
        updates. Returns (stop reason, funds left for a by-funds buy, taker decreased by STP).
        """
        index = self._index
        keys = opp.keys
        levels = opp.levels
        sign = opp.sign
        taker_id = taker.order_id
        owner = taker.owner
        taker_side = taker.side
        stp = taker.stp
        rem = taker.remaining
        filled = 0
        spent = 0
        decreased = False
        stop = _STOP_NO_CROSS
        append_trade = trades.append
        append_update = updates.append
        while keys:
            key = keys[-1]
            price = key * sign
            if by_funds and funds_left < price:  # funds before the bound (package docstring)
                stop = _STOP_FUNDS
                break
            if key < bound_key:
                break
            level = levels[price]
            queue = level.queue
            while True:
                if by_funds:
                    rem = funds_left // price
                    if rem == 0:
                        stop = _STOP_FUNDS
                        break
                maker = queue[0]
                mrem = maker.remaining
                if mrem == 0:  # canceled earlier, dropped lazily
                    queue.popleft()
                    level.dead -= 1
                    continue
                if maker.owner != owner:
                    qty = rem if rem < mrem else mrem
                    notional = qty * price
                    append_trade(new_trade(price, qty, maker.order_id, taker_id, taker_side))
                    maker.filled += qty
                    maker.funds += notional
                    level.qty -= qty
                    filled += qty
                    spent += notional
                    if qty == mrem:
                        maker.remaining = 0
                        queue.popleft()
                        del index[maker.order_id]
                        append_update(new_update(maker.order_id, _FILLED, maker.filled, 0, maker.funds, ""))
                    else:
                        maker.remaining = mrem - qty
                        append_update(
                            new_update(
                                maker.order_id,
                                _PARTIALLY_FILLED,
                                maker.filled,
                                maker.remaining,
                                maker.funds,
                                "",
                            )
                        )
                    if by_funds:
                        funds_left -= notional
                        if funds_left == 0:
                            stop = _STOP_DONE
                            break
                    else:
                        rem -= qty
                        if rem == 0:
                            stop = _STOP_DONE
                            break
                    if level.qty == 0:
                        break
                    continue
                # Self-trade: the taker's mode decides, no trade happens.
                if stp == _DC:
                    if rem < mrem:  # decrease the maker, cancel the taker
                        maker.remaining = mrem - rem
                        level.qty -= rem
                        append_update(
                            new_update(
                                maker.order_id,
                                _open_status(maker),
                                maker.filled,
                                maker.remaining,
                                maker.funds,
                                "stp",
                            )
                        )
                        stop = _STOP_STP
                        break
                    self._cancel_front(maker, level, queue, append_update)
                    if rem == mrem:  # equal: cancel both
                        stop = _STOP_STP
                        break
                    decreased = True  # decrease the taker, cancel the maker
                    if by_funds:
                        funds_left -= mrem * price
                    else:
                        rem -= mrem
                elif stp == _CO:
                    self._cancel_front(maker, level, queue, append_update)
                elif stp == _CN:
                    stop = _STOP_STP
                    break
                else:  # CB
                    self._cancel_front(maker, level, queue, append_update)
                    stop = _STOP_STP
                    break
                if level.qty == 0:
                    break
            if level.qty == 0:
                keys.pop()
                del levels[price]
            if stop != _STOP_NO_CROSS:
                break
        taker.filled = filled
        taker.funds = spent
        taker.remaining = 0 if by_funds or stop == _STOP_STP else rem
        return stop, funds_left, decreased

    def _cancel_front(
        self,
        maker: _Order,
        level: _Level,
        queue: deque[_Order],
        append_update: Callable[[OrderUpdate], None],
    ) -> None:
        """Cancel the maker at the front of ``queue`` for self-trade prevention."""
        level.qty -= maker.remaining
        maker.remaining = 0
        queue.popleft()
        del self._index[maker.order_id]
        append_update(new_update(maker.order_id, _CANCELED, maker.filled, 0, maker.funds, "stp"))

    def _fok_fills(self, taker: _Order, opp: _Side, bound_key: int, funds: int) -> bool:
        """Dry run for FOK: would the taker end FILLED with STP never touching it?

        STP cancel-oldest only removes makers, so those are skipped; any other mode meeting
        a self order decreases or cancels the taker, so the order cannot fill whole.
        A buy by funds must buy at least one lot and stop only because its funds are spent
        or cannot buy one more lot at the next price, not for lack of liquidity.
        """
        owner = taker.owner
        skip_self = taker.stp == _CO
        levels = opp.levels
        sign = opp.sign
        rem = taker.remaining
        bought = False
        for key in reversed(opp.keys):
            price = key * sign
            if funds and funds < price:
                return bought
            if key < bound_key:
                return False
            for maker in levels[price].queue:
                mrem = maker.remaining
                if mrem == 0:
                    continue
                if funds:
                    rem = funds // price
                    if rem == 0:
                        return bought
                if maker.owner == owner:
                    if skip_self:
                        continue
                    return False
                qty = rem if rem < mrem else mrem
                if funds:
                    funds -= qty * price
                    bought = True
                    if funds == 0 or qty < mrem:  # spent, or too poor for this maker's rest
                        return True
                else:
                    rem -= qty
                    if rem == 0:
                        return True
        return False
