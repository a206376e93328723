"""Market-data writes, called by the matching worker: klines inside the batch transaction, the depth
snapshot and websocket fan-out after commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Q

from apps.core.broadcast import broadcast_publish
from apps.core.money import fmt
from apps.market.intervals import MINUTE, bucket_start
from apps.market.models import INTERVALS, Kline

logger = logging.getLogger(__name__)

DEPTH_LEVELS = 200


@dataclass(frozen=True, slots=True)
class Tick:
    """One trade as market data needs it."""

    trade_id: int
    ts_ms: int
    price: Decimal
    quantity: Decimal
    quote: Decimal
    buyer_is_maker: bool


def _fold(bars: dict[Any, dict[str, Any]], key: Any, part: dict[str, Any]) -> None:
    """Merge ``part`` (a bar or a single trade as a bar) into ``bars[key]``; parts arrive in time order."""
    bar = bars.get(key)
    if bar is None:
        bars[key] = dict(part)
        return
    bar["high"] = max(bar["high"], part["high"])
    bar["low"] = min(bar["low"], part["low"])
    bar["close"] = part["close"]
    bar["volume"] += part["volume"]
    bar["quote_volume"] += part["quote_volume"]
    bar["trade_count"] += part["trade_count"]


def klines_record(*, symbol_id: str, ticks: list[Tick]) -> None:
    """Fold a batch's trades into every interval's current bucket (on PostgreSQL one upsert that merges
    into the stored bars; elsewhere one read and one upsert).

    Trades are folded into 1-minute bars first and those into the 15 intervals, so the work is
    trades + 15 × minutes rather than 15 × trades.
    """
    if not ticks:
        return
    minutes: dict[int, dict[str, Any]] = {}
    for tick in ticks:
        part = {
            "open": tick.price,
            "high": tick.price,
            "low": tick.price,
            "close": tick.price,
            "volume": tick.quantity,
            "quote_volume": tick.quote,
            "trade_count": 1,
        }
        _fold(minutes, tick.ts_ms - tick.ts_ms % MINUTE, part)
    buckets: dict[tuple[str, int], dict[str, Any]] = {}
    for minute in sorted(minutes):
        for interval in INTERVALS:
            _fold(buckets, (interval, bucket_start(interval, minute)), minutes[minute])
    if connection.vendor == "postgresql":
        _klines_upsert(symbol_id, buckets)
        return
    lookup = Q()
    for interval, open_time in buckets:
        lookup |= Q(interval=interval, open_time=open_time)
    existing = {(k.interval, k.open_time): k for k in Kline.objects.filter(lookup, symbol_id=symbol_id)}
    rows: list[Kline] = []
    for (interval, open_time), bar in buckets.items():
        old = existing.get((interval, open_time))
        if old is not None:
            bar["open"] = old.open
            bar["high"] = max(old.high, bar["high"])
            bar["low"] = min(old.low, bar["low"])
            bar["volume"] += old.volume
            bar["quote_volume"] += old.quote_volume
            bar["trade_count"] += old.trade_count
        rows.append(Kline(symbol_id=symbol_id, interval=interval, open_time=open_time, **bar))
    Kline.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["symbol", "interval", "open_time"],
        update_fields=["open", "high", "low", "close", "volume", "quote_volume", "trade_count"],
    )


def _klines_upsert(symbol_id: str, buckets: dict[tuple[str, int], dict[str, Any]]) -> None:
    """One statement: insert each bucket or fold it into the stored bar (open stays, high/low widen,
    close moves, volumes and count add up), with no read first."""
    qn = connection.ops.quote_name
    columns = ("symbol_id", "interval", "open_time", "open", "high", "low", "close", "volume", "quote_volume")
    values: list[Any] = []
    for (interval, open_time), bar in buckets.items():
        values += [symbol_id, interval, open_time, bar["open"], bar["high"], bar["low"], bar["close"]]
        values += [bar["volume"], bar["quote_volume"], bar["trade_count"]]
    row = "(%s, %s, %s::bigint, %s::numeric, %s::numeric, %s::numeric, %s::numeric, %s::numeric, %s::numeric, %s::int)"
    sql = (
        f"INSERT INTO {qn(Kline._meta.db_table)} AS k ({', '.join(qn(c) for c in (*columns, 'trade_count'))}) "
        f"VALUES {', '.join([row] * len(buckets))} "
        f"ON CONFLICT ({qn('symbol_id')}, {qn('interval')}, {qn('open_time')}) DO UPDATE SET "
        "high = GREATEST(k.high, EXCLUDED.high), low = LEAST(k.low, EXCLUDED.low), close = EXCLUDED.close, "
        "volume = k.volume + EXCLUDED.volume, quote_volume = k.quote_volume + EXCLUDED.quote_volume, "
        "trade_count = k.trade_count + EXCLUDED.trade_count"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


def depth_key(symbol_id: str) -> str:
    return f"market:depth:{symbol_id}"


def depth_store(
    *,
    symbol_id: str,
    seq_id: int,
    bids: Iterable[tuple[Decimal, Decimal]],
    asks: Iterable[tuple[Decimal, Decimal]],
    ts_ms: int,
) -> dict[str, Any]:
    snapshot = {
        "symbol": symbol_id,
        "seq_id": seq_id,
        "ts": ts_ms,
        "bids": [[fmt(p), fmt(q)] for p, q in bids],
        "asks": [[fmt(p), fmt(q)] for p, q in asks],
    }
    previous = cache.get(depth_key(symbol_id))
    # seq_id only grows: a slower writer never overwrites a newer snapshot.
    if previous is None or previous.get("seq_id", -1) <= seq_id:
        cache.set(depth_key(symbol_id), snapshot, timeout=None)
    return snapshot


def market_group(symbol_id: str) -> str:
    return f"market.{symbol_id}"


def _market_message(symbol_id: str, topic: str, data: Any) -> dict[str, Any]:
    message = {"type": "market.message", "topic": topic, "symbol": symbol_id, "data": data}
    if topic == "depth":
        message["snapshot"] = True  # a full book: a later one replaces it (apps.core.broadcast)
    return message


def market_publish(*, symbol_id: str, messages: list[tuple[str, Any]]) -> None:
    """Fan out ``(topic, data)`` messages, in order, to the symbol's websocket subscribers (after commit)."""
    if not messages:
        return
    # One message for the whole batch (apps.core.ws "Batches"), published once for every process
    # (apps.core.broadcast).
    batch = [_market_message(symbol_id, topic, data) for topic, data in messages]
    try:
        broadcast_publish(market_group(symbol_id), {"type": "batch.message", "messages": batch})
    except Exception:  # market data fan-out must never break settlement that already committed
        logger.exception("market fan-out failed for %s", symbol_id)


def tick_payload(tick: Tick) -> dict[str, Any]:
    return {
        "id": tick.trade_id,
        "price": fmt(tick.price),
        "qty": fmt(tick.quantity),
        "quote_qty": fmt(tick.quote),
        "time": tick.ts_ms,
        "buyer_is_maker": tick.buyer_is_maker,
    }
