"""A naive reference engine: obviously correct, deliberately slow.

Resting orders live in one plain list in arrival order. Every matching step scans the whole
list for the best opposite order; FOK is decided by running the order on a deep copy and
keeping the copy only if the order ended FILLED without self-trade prevention touching it.
The real engine (``apps.trading.engine``) must produce exactly the same events and book.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from apps.trading.engine import STP, OrderType, OrderUpdate, Side, Status, TimeInForce, Trade


@dataclass
class RefOrder:
    order_id: int
    owner: int
    side: Side
    price: int
    remaining: int
    filled: int
    funds: int
    stp: STP
    arrival: int


def _opposite(side: Side) -> Side:
    return Side.SELL if side == Side.BUY else Side.BUY


def _within(taker_side: Side, bound: int | None, price: int) -> bool:
    """Is a resting price acceptable to a taker limited by ``bound``?"""
    if bound is None:
        return True
    return price <= bound if taker_side == Side.BUY else price >= bound


def _open_status(order: RefOrder) -> Status:
    return Status.PARTIALLY_FILLED if order.filled > 0 else Status.NEW


class ReferenceBook:
    def __init__(self) -> None:
        self.seq = 0
        self.resting: list[RefOrder] = []  # arrival order
        self.arrivals = 0

    # ------------------------------------------------------------------ helpers

    def _find(self, order_id: int) -> RefOrder | None:
        for order in self.resting:
            if order.order_id == order_id:
                return order
        return None

    def _best(self, side: Side) -> RefOrder | None:
        """The first resting order of ``side`` in price-time priority."""
        best: RefOrder | None = None
        for order in self.resting:
            if order.side != side:
                continue
            if best is None:
                best = order
            elif side == Side.BUY and order.price > best.price:
                best = order
            elif side == Side.SELL and order.price < best.price:
                best = order
            # equal price: the earlier arrival (already in best) wins
        return best

    def _rest(self, order: RefOrder) -> None:
        self.arrivals += 1
        order.arrival = self.arrivals
        self.resting.append(order)

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
        if self._find(order_id) is not None:
            raise ValueError("duplicate order id")
        self.seq += 1
        if type == OrderType.LIMIT_MAKER:
            best = self._best(_opposite(side))
            assert price is not None
            if best is not None and _within(side, price, best.price):
                return [], [OrderUpdate(order_id, Status.REJECTED, 0, 0, 0, "post_only")]
        if tif == TimeInForce.FOK:
            trial = copy.deepcopy(self)
            trades, updates, touched = trial._execute(
                order_id, owner, side, type, price, qty, funds, stp, TimeInForce.IOC
            )
            if updates[-1].status == Status.FILLED and not touched:
                self.resting = trial.resting
                self.arrivals = trial.arrivals
                return trades, updates
            return [], [OrderUpdate(order_id, Status.REJECTED, 0, 0, 0, "fok")]
        trades, updates, _ = self._execute(order_id, owner, side, type, price, qty, funds, stp, tif)
        return trades, updates

    def _execute(
        self,
        order_id: int,
        owner: int,
        side: Side,
        type: OrderType,
        price: int | None,
        qty: int | None,
        funds: int | None,
        stp: STP,
        tif: TimeInForce,
    ) -> tuple[list[Trade], list[OrderUpdate], bool]:
        """Run the order; return (trades, updates, was the taker touched by STP)."""
        by_funds = funds is not None
        remaining = 0 if by_funds else (qty or 0)
        funds_left = funds or 0
        filled = 0
        spent = 0
        touched = False  # decreased or canceled by STP
        trades: list[Trade] = []
        updates: list[OrderUpdate] = []
        stop = ""  # '', 'no_liquidity', 'funds_exhausted', 'stp'
        while True:
            if not by_funds and remaining == 0:
                break
            if by_funds and funds_left == 0:
                break
            maker = self._best(_opposite(side))
            if maker is None:
                stop = "no_liquidity"
                break
            if by_funds and funds_left < maker.price:
                stop = "funds_exhausted"
                break
            if not _within(side, price, maker.price):
                stop = "no_liquidity"
                break
            want = funds_left // maker.price if by_funds else remaining
            if maker.owner != owner:
                q = min(want, maker.remaining)
                trades.append(Trade(maker.price, q, maker.order_id, order_id, side))
                maker.remaining -= q
                maker.filled += q
                maker.funds += q * maker.price
                filled += q
                spent += q * maker.price
                if by_funds:
                    funds_left -= q * maker.price
                else:
                    remaining -= q
                if maker.remaining == 0:
                    self.resting.remove(maker)
                    updates.append(OrderUpdate(maker.order_id, Status.FILLED, maker.filled, 0, maker.funds, ""))
                else:
                    updates.append(
                        OrderUpdate(
                            maker.order_id,
                            Status.PARTIALLY_FILLED,
                            maker.filled,
                            maker.remaining,
                            maker.funds,
                            "",
                        )
                    )
                continue
            # self-trade
            cancel_maker = False
            cancel_taker = False
            if stp == STP.DC:
                if want == maker.remaining:
                    cancel_maker = cancel_taker = True
                elif want < maker.remaining:
                    maker.remaining -= want
                    updates.append(
                        OrderUpdate(
                            maker.order_id,
                            _open_status(maker),
                            maker.filled,
                            maker.remaining,
                            maker.funds,
                            "stp",
                        )
                    )
                    cancel_taker = True
                else:
                    touched = True
                    if by_funds:
                        funds_left -= maker.remaining * maker.price
                    else:
                        remaining -= maker.remaining
                    cancel_maker = True
            elif stp == STP.CO:
                cancel_maker = True
            elif stp == STP.CN:
                cancel_taker = True
            else:
                cancel_maker = cancel_taker = True
            if cancel_maker:
                self.resting.remove(maker)
                updates.append(OrderUpdate(maker.order_id, Status.CANCELED, maker.filled, 0, maker.funds, "stp"))
            if cancel_taker:
                touched = True
                stop = "stp"
                break

        if stop == "stp":
            updates.append(OrderUpdate(order_id, Status.CANCELED, filled, 0, spent, "stp"))
        elif type == OrderType.MARKET:
            if by_funds:
                if funds_left == 0:
                    status, reason = Status.FILLED, ""
                elif stop == "funds_exhausted":
                    status = Status.FILLED if filled > 0 else Status.CANCELED
                    reason = "funds_exhausted"
                else:
                    status, reason = Status.CANCELED, "no_liquidity"
            elif remaining == 0:
                status, reason = Status.FILLED, ""
            else:
                status, reason = Status.CANCELED, "no_liquidity"
            updates.append(OrderUpdate(order_id, status, filled, 0, spent, reason))
        elif remaining == 0:
            updates.append(OrderUpdate(order_id, Status.FILLED, filled, 0, spent, ""))
        elif tif == TimeInForce.IOC:
            updates.append(OrderUpdate(order_id, Status.CANCELED, filled, 0, spent, "ioc"))
        else:
            assert price is not None
            order = RefOrder(order_id, owner, side, price, remaining, filled, spent, stp, 0)
            self._rest(order)
            updates.append(
                OrderUpdate(order_id, _open_status(order), filled, remaining, spent, "stp" if touched else "")
            )
        return trades, updates, touched

    def cancel(self, order_id: int) -> tuple[list[Trade], list[OrderUpdate]]:
        self.seq += 1
        order = self._find(order_id)
        if order is None:
            return [], []
        self.resting.remove(order)
        return [], [OrderUpdate(order_id, Status.CANCELED, order.filled, 0, order.funds, "canceled")]

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
        self._rest(RefOrder(order_id, owner, side, price, remaining_qty, filled_qty, filled_funds, stp, 0))

    # ------------------------------------------------------------------ reads

    def _sorted(self) -> list[RefOrder]:
        def priority(order: RefOrder) -> tuple[int, int, int]:
            key = -order.price if order.side == Side.BUY else order.price
            return (int(order.side), key, order.arrival)

        return sorted(self.resting, key=priority)

    def orders(self) -> list[tuple[int, int, Side, int, int]]:
        return [(o.order_id, o.owner, o.side, o.price, o.remaining) for o in self._sorted()]

    def depth(self, limit: int | None = None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        sides: dict[Side, list[tuple[int, int]]] = {Side.BUY: [], Side.SELL: []}
        for order in self._sorted():
            levels = sides[order.side]
            if levels and levels[-1][0] == order.price:
                levels[-1] = (order.price, levels[-1][1] + order.remaining)
            else:
                levels.append((order.price, order.remaining))
        bids, asks = sides[Side.BUY], sides[Side.SELL]
        if limit is not None:
            bids, asks = bids[:limit], asks[:limit]
        return bids, asks

    def best_bid(self) -> int | None:
        best = self._best(Side.BUY)
        return None if best is None else best.price

    def best_ask(self) -> int | None:
        best = self._best(Side.SELL)
        return None if best is None else best.price

    def __len__(self) -> int:
        return len(self.resting)
