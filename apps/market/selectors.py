"""Public market data reads: trades, klines, 24h tickers, depth (with merge levels), book ticker."""

from __future__ import annotations

import time
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Max, Min, Sum
from django.utils.translation import gettext as _

from apps.core.errors import InvalidParameter
from apps.core.money import ZERO, fmt, money_context
from apps.market.intervals import MINUTE
from apps.market.models import INTERVALS, Kline
from apps.market.services import depth_key
from apps.tokens.models import Symbol
from apps.trading.models import OrderSide, OrderStatus, SymbolMatchState, Trade


def trades_recent(*, symbol: Symbol, limit: int = 100, from_id: int | None = None) -> list[Trade]:
    if not 1 <= limit <= 1000:
        raise InvalidParameter(_("limit must be between 1 and 1000"))
    queryset = Trade.objects.filter(symbol=symbol)
    if from_id is not None:
        return list(queryset.filter(pk__gte=from_id).order_by("pk")[:limit])
    return list(queryset.order_by("-pk")[:limit])[::-1]


def klines(
    *, symbol: Symbol, interval: str, start_ms: int | None = None, end_ms: int | None = None, limit: int = 500
) -> list[Kline]:
    if interval not in INTERVALS:
        raise InvalidParameter(_("interval must be one of %(intervals)s") % {"intervals": ", ".join(INTERVALS)})
    if not 1 <= limit <= 1000:
        raise InvalidParameter(_("limit must be between 1 and 1000"))
    queryset = Kline.objects.filter(symbol=symbol, interval=interval)
    if start_ms is not None:
        queryset = queryset.filter(open_time__gte=start_ms)
    if end_ms is not None:
        queryset = queryset.filter(open_time__lte=end_ms)
    if start_ms is not None:
        return list(queryset.order_by("open_time")[:limit])
    return list(queryset.order_by("-open_time")[:limit])[::-1]


def ticker_24h(*, symbol: Symbol, now_ms: int | None = None) -> dict[str, Any]:
    """Rolling 24h statistics from the 1-minute klines."""
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    since = now_ms - 1440 * MINUTE
    bars = Kline.objects.filter(symbol=symbol, interval="1m", open_time__gte=since - since % MINUTE)
    stats = bars.aggregate(
        high=Max("high"),
        low=Min("low"),
        volume=Sum("volume"),
        quote_volume=Sum("quote_volume"),
        trade_count=Sum("trade_count"),
    )
    first = bars.order_by("open_time").values_list("open", flat=True).first()
    last = SymbolMatchState.objects.filter(symbol=symbol).values_list("last_price", flat=True).first()
    book = book_ticker(symbol=symbol)
    open_price = first if first is not None else last
    with money_context():
        change = (last - open_price) if last is not None and open_price is not None else ZERO
        percent = (change / open_price * 100) if open_price else ZERO
    return {
        "symbol": symbol.pk,
        "time": now_ms,
        "open": fmt(open_price or ZERO),
        "high": fmt(stats["high"] or last or ZERO),
        "low": fmt(stats["low"] or last or ZERO),
        "last": fmt(last or ZERO),
        "volume": fmt(stats["volume"] or ZERO),
        "quote_volume": fmt(stats["quote_volume"] or ZERO),
        "trade_count": stats["trade_count"] or 0,
        "price_change": fmt(change),
        "price_change_percent": fmt(percent.quantize(Decimal("0.01"))),
        "best_bid": book["bid_price"],
        "best_bid_qty": book["bid_qty"],
        "best_ask": book["ask_price"],
        "best_ask_qty": book["ask_qty"],
    }


def depth_snapshot(*, symbol: Symbol) -> dict[str, Any]:
    """The worker's latest snapshot from the cache; rebuilt from open orders when the cache is cold."""
    snapshot = cache.get(depth_key(symbol.pk))
    if snapshot is not None:
        return snapshot  # type: ignore[no-any-return]
    from apps.trading.models import Order

    open_orders = Order.objects.filter(
        symbol=symbol, status__in=(OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
    ).values_list("side", "price", "leaves_quantity")
    levels: dict[str, dict[Decimal, Decimal]] = {OrderSide.BUY: {}, OrderSide.SELL: {}}
    for side, price, leaves in open_orders:
        if price is None:
            continue
        levels[side][price] = levels[side].get(price, ZERO) + leaves
    seq = SymbolMatchState.objects.filter(symbol=symbol).values_list("seq", flat=True).first() or 0
    return {
        "symbol": symbol.pk,
        "seq_id": seq,
        "ts": int(time.time() * 1000),
        "bids": [[fmt(p), fmt(q)] for p, q in sorted(levels[OrderSide.BUY].items(), reverse=True)],
        "asks": [[fmt(p), fmt(q)] for p, q in sorted(levels[OrderSide.SELL].items())],
    }


def depth(*, symbol: Symbol, limit: int = 100, merge: str | None = None) -> dict[str, Any]:
    if not 1 <= limit <= 200:
        raise InvalidParameter(_("limit must be between 1 and 200"))
    snapshot = depth_snapshot(symbol=symbol)
    bids, asks = snapshot["bids"], snapshot["asks"]
    if merge:
        try:
            step = Decimal(merge)
        except ArithmeticError:
            raise InvalidParameter(_("merge must be one of the symbol's merge levels")) from None
        allowed = symbol.merge_level_list()
        if step not in allowed:
            raise InvalidParameter(
                _("merge must be one of %(levels)s") % {"levels": ", ".join(fmt(x) for x in allowed) or _("(none)")}
            )
        bids = _merge(bids, step, ROUND_FLOOR)
        asks = _merge(asks, step, ROUND_CEILING)
    return {**snapshot, "bids": bids[:limit], "asks": asks[:limit]}


def depth_merge_step(*, snapshot: dict[str, Any], step: Decimal, limit: int = 200) -> dict[str, Any]:
    """A depth snapshot with prices grouped to any positive ``step`` (bids down, asks up)."""
    if step <= 0:
        raise InvalidParameter(_("step must be positive"))
    bids = _merge(snapshot["bids"], step, ROUND_FLOOR)
    asks = _merge(snapshot["asks"], step, ROUND_CEILING)
    return {**snapshot, "bids": bids[:limit], "asks": asks[:limit]}


def depth_near_touch(*, snapshot: dict[str, Any], rate: Decimal, limit: int = 200) -> dict[str, Any]:
    """The levels within ``rate`` of the best price: bids down to best bid × (1 − rate), asks up to
    best ask × (1 + rate), at most ``limit`` each (the BGE ``percent10`` depth)."""
    bids, asks = snapshot["bids"], snapshot["asks"]
    with money_context():
        if bids:
            floor = Decimal(bids[0][0]) * (1 - rate)
            bids = [level for level in bids if Decimal(level[0]) >= floor]
        if asks:
            ceiling = Decimal(asks[0][0]) * (1 + rate)
            asks = [level for level in asks if Decimal(level[0]) <= ceiling]
    return {**snapshot, "bids": bids[:limit], "asks": asks[:limit]}


def _merge(levels: list[list[str]], step: Decimal, rounding: str) -> list[list[str]]:
    merged: dict[Decimal, Decimal] = {}
    order: list[Decimal] = []
    with money_context():
        for price_text, qty_text in levels:
            bucket = (Decimal(price_text) / step).to_integral_value(rounding=rounding) * step
            if bucket not in merged:
                merged[bucket] = ZERO
                order.append(bucket)
            merged[bucket] += Decimal(qty_text)
    return [[fmt(p), fmt(merged[p])] for p in order]


def book_ticker(*, symbol: Symbol) -> dict[str, Any]:
    snapshot = depth_snapshot(symbol=symbol)
    bid = snapshot["bids"][0] if snapshot["bids"] else ["0", "0"]
    ask = snapshot["asks"][0] if snapshot["asks"] else ["0", "0"]
    return {
        "symbol": symbol.pk,
        "bid_price": bid[0],
        "bid_qty": bid[1],
        "ask_price": ask[0],
        "ask_qty": ask[1],
        "seq_id": snapshot["seq_id"],
    }
