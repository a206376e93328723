"""Value types the engine speaks: enums for order parameters and the two event records.

The events are frozen slotted dataclasses, but a frozen dataclass's ``__init__`` sets each
field through ``object.__setattr__``, which costs about four times a plain slotted class's
``__init__``; at one or more events per command that dominated the engine's time. So the
engine builds each event as a plain twin class with the same slots and then gives it its
real class: ``_TradeInit`` and ``_OrderUpdateInit`` exist only for that (CPython allows
``__class__`` assignment between classes with identical slot layouts). Consumers only ever
see genuine, immutable ``Trade`` and ``OrderUpdate`` instances.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Side(enum.IntEnum):
    BUY = 1
    SELL = 2


class OrderType(enum.IntEnum):
    LIMIT = 1
    MARKET = 2
    LIMIT_MAKER = 3  # post-only: rejected rather than allowed to take liquidity


class TimeInForce(enum.IntEnum):
    GTC = 1  # good till canceled: the unfilled remainder rests
    IOC = 2  # immediate or cancel: the unfilled remainder is canceled
    FOK = 3  # fill or kill: all of it trades now, or nothing happens


class STP(enum.IntEnum):
    """Self-trade prevention mode, chosen by the taker."""

    DC = 1  # decrease and cancel
    CO = 2  # cancel oldest (the resting order)
    CN = 3  # cancel newest (the taker)
    CB = 4  # cancel both


class Status(enum.IntEnum):
    NEW = 1
    PARTIALLY_FILLED = 2
    FILLED = 3
    CANCELED = 4
    REJECTED = 5


@dataclass(slots=True, frozen=True)
class Trade:
    """One fill, always at the resting (maker) order's price."""

    price: int
    qty: int
    maker_order_id: int
    taker_order_id: int
    taker_side: Side


@dataclass(slots=True, frozen=True)
class OrderUpdate:
    """The state of an order after a command touched it.

    ``remaining_qty`` is the quantity still open on the book: it is 0 once the order is
    terminal (FILLED, CANCELED, REJECTED). Whatever was neither filled nor left open was
    canceled or decreased (self-trade prevention); the caller releases its hold.
    """

    order_id: int
    status: Status
    filled_qty: int
    remaining_qty: int
    filled_funds: int
    reason: str


class _TradeInit:
    """Mutable twin of ``Trade`` used only to construct it quickly (see the module docstring)."""

    __slots__ = Trade.__slots__  # the same layout is what makes the class swap legal
    price: int
    qty: int
    maker_order_id: int
    taker_order_id: int
    taker_side: Side


class _OrderUpdateInit:
    """Mutable twin of ``OrderUpdate`` used only to construct it quickly."""

    __slots__ = OrderUpdate.__slots__
    order_id: int
    status: Status
    filled_qty: int
    remaining_qty: int
    filled_funds: int
    reason: str


# Both builders set the slots in the caller's frame: no ``__init__`` call to pay for.


def new_trade(price: int, qty: int, maker_order_id: int, taker_order_id: int, taker_side: Side) -> Trade:
    """``Trade(...)``, built fast; equal to it in every respect."""
    trade = _TradeInit()
    trade.price = price
    trade.qty = qty
    trade.maker_order_id = maker_order_id
    trade.taker_order_id = taker_order_id
    trade.taker_side = taker_side
    trade.__class__ = Trade  # type: ignore[assignment]
    return trade  # type: ignore[return-value]


def new_update(
    order_id: int, status: Status, filled_qty: int, remaining_qty: int, filled_funds: int, reason: str
) -> OrderUpdate:
    """``OrderUpdate(...)``, built fast; equal to it in every respect."""
    update = _OrderUpdateInit()
    update.order_id = order_id
    update.status = status
    update.filled_qty = filled_qty
    update.remaining_qty = remaining_qty
    update.filled_funds = filled_funds
    update.reason = reason
    update.__class__ = OrderUpdate  # type: ignore[assignment]
    return update  # type: ignore[return-value]


# Fail at import, not mid-match, if the class swap ever stops working.
new_trade(1, 1, 1, 1, Side.BUY)
new_update(1, Status.NEW, 0, 1, 0, "")
