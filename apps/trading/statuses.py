"""Order statuses as each API surface shows them: the one place surfaces map statuses (DESIGN.md §8).

``pending`` (accepted, funds held, not yet seen by the engine) exists only here; every surface
whose spec has no pending state shows it as new.

The BGE API (seed 004) documents its order ``status`` as a code "0–7" without a table; our codes:

| code | meaning |
|---|---|
| 0 | accepted, not yet on the book (pending) |
| 1 | new: resting, nothing filled |
| 2 | partially filled, resting |
| 3 | filled |
| 4 | canceled with nothing filled |
| 5 | canceled after a partial fill |
| 6 | rejected (post-only would take, fill-or-kill could not fill) |
| 7 | new, as the BGE examples show for a fresh limit order — not emitted; reserved |
"""

from __future__ import annotations

from decimal import Decimal

from apps.trading.models import OrderStatus

BHEX = {
    OrderStatus.PENDING: "NEW",
    OrderStatus.NEW: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELED: "CANCELED",
    OrderStatus.REJECTED: "REJECTED",
}


def bge_code(status: str, executed_quantity: Decimal) -> int:
    if status == OrderStatus.CANCELED:
        return 5 if executed_quantity > 0 else 4
    return {
        OrderStatus.PENDING: 0,
        OrderStatus.NEW: 1,
        OrderStatus.PARTIALLY_FILLED: 2,
        OrderStatus.FILLED: 3,
        OrderStatus.REJECTED: 6,
    }[OrderStatus(status)]


def bhex_status(status: str) -> str:
    return BHEX[OrderStatus(status)]
