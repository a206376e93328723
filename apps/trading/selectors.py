"""Reads of orders and fills, and the one place order/trade rows become plain payloads."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from apps.core.errors import InvalidParameter
from apps.core.money import fmt
from apps.core.pagination import page_by_id
from apps.trading.models import DONE_STATUSES, OPEN_STATUSES, Order, OrderSide, Trade
from apps.users.models import User


def orders_open(
    *,
    user: User,
    symbol_id: str | None = None,
    limit: int | None = None,
    from_id: int | None = None,
    to_id: int | None = None,
) -> list[Order]:
    queryset = Order.objects.filter(user=user, status__in=OPEN_STATUSES).select_related("symbol")
    if symbol_id:
        queryset = queryset.filter(symbol_id=symbol_id.upper())
    return page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit, default_limit=500)


def orders_history(
    *,
    user: User,
    symbol_id: str | None = None,
    from_id: int | None = None,
    to_id: int | None = None,
    limit: int | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> list[Order]:
    queryset = Order.objects.filter(user=user, status__in=DONE_STATUSES).select_related("symbol")
    if symbol_id:
        queryset = queryset.filter(symbol_id=symbol_id.upper())
    queryset = _time_range(queryset, start_ms, end_ms)
    return page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit)


def fills(
    *,
    user: User,
    symbol_id: str | None = None,
    order_id: int | None = None,
    from_id: int | None = None,
    to_id: int | None = None,
    limit: int | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> list[Trade]:
    queryset = Trade.objects.filter(Q(buyer=user) | Q(seller=user)).select_related("buy_order", "sell_order", "symbol")
    if symbol_id:
        queryset = queryset.filter(symbol_id=symbol_id.upper())
    if order_id is not None:
        queryset = queryset.filter(Q(buy_order_id=order_id) | Q(sell_order_id=order_id))
    queryset = _time_range(queryset, start_ms, end_ms)
    return page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit)


def _time_range(queryset: QuerySet[Any], start_ms: int | None, end_ms: int | None) -> QuerySet[Any]:
    from datetime import UTC, datetime

    if start_ms is not None and end_ms is not None and end_ms < start_ms:
        raise InvalidParameter(_("end time is before start time"))
    if start_ms is not None:
        queryset = queryset.filter(created_at__gte=datetime.fromtimestamp(start_ms / 1000, tz=UTC))
    if end_ms is not None:
        queryset = queryset.filter(created_at__lte=datetime.fromtimestamp(end_ms / 1000, tz=UTC))
    return queryset


def order_payload(order: Order) -> dict[str, Any]:
    """Surface-neutral order fields; each surface renames and maps statuses in one place."""
    return {
        "order_id": str(order.pk),
        "client_order_id": order.client_order_id,
        "symbol": order.symbol_id,
        "side": order.side,
        "type": order.type,
        "time_in_force": order.time_in_force,
        "price": fmt(order.price) if order.price is not None else "0",
        "quantity": fmt(order.quantity) if order.quantity is not None else "0",
        "quote_amount": fmt(order.quote_amount) if order.quote_amount is not None else "0",
        "executed_quantity": fmt(order.executed_quantity),
        "executed_quote": fmt(order.executed_quote),
        "leaves_quantity": fmt(order.leaves_quantity),
        "fee": fmt(order.fee),
        "fee_token": order.symbol.base_id if order.side == OrderSide.BUY else order.symbol.quote_id,
        "status": order.status,
        "reason": order.reason,
        "created_at": int(order.created_at.timestamp() * 1000) if order.created_at else None,
        "updated_at": int(order.updated_at.timestamp() * 1000) if order.updated_at else None,
    }


def trade_payload(trade: Trade, order: Order) -> dict[str, Any]:
    """One side's view of a fill: ``order`` is the viewer's own order (buy or sell)."""
    is_buyer = order.pk == trade.buy_order_id
    return {
        "trade_id": str(trade.pk),
        "order_id": str(order.pk),
        "client_order_id": order.client_order_id,
        "symbol": trade.symbol_id,
        "side": OrderSide.BUY if is_buyer else OrderSide.SELL,
        "price": fmt(trade.price),
        "quantity": fmt(trade.quantity),
        "quote_quantity": fmt(trade.quote_quantity),
        "fee": fmt(trade.buyer_fee if is_buyer else trade.seller_fee),
        "fee_token": trade.symbol.base_id if is_buyer else trade.symbol.quote_id,
        "is_maker": trade.buyer_is_maker if is_buyer else not trade.buyer_is_maker,
        "time": int(trade.created_at.timestamp() * 1000) if trade.created_at else None,
    }
