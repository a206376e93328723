"""How the BGE API names and renders things (seed 004): products, orders, fills, market data.

* Products are ``BASE_QUOTE`` (``BTC_USDT``); our ``Symbol`` ids are ``BASEQUOTE`` (``BTCUSDT``).
* Amounts are strings; order and trade ids are strings; times in REST bodies are ISO 8601 UTC
  (``2022-01-04T10:17:03Z``); candle ids are the bucket's start in unix seconds.
* Order statuses are the numeric codes of ``apps.trading.statuses.bge_code``.
* Candle intervals: ``1min 5min 15min 30min 60min 4hour 1day 1week 1mon`` (and the other interval
  names of the K线 channel, ``3min 2hour 6hour 8hour 12hour 3day``, which map to our klines too).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from apps.bgeapi.errors import BgeError
from apps.core.errors import UnknownSymbol
from apps.core.money import ZERO, fmt, money_context
from apps.market.models import Kline
from apps.market.selectors import depth_merge_step, depth_near_touch
from apps.tokens.models import ChainNetwork, Symbol, Token
from apps.tokens.selectors import symbol_get_offered
from apps.trading.models import Order, OrderType, Trade
from apps.trading.statuses import bge_code

INTERVALS = {
    "1min": "1m",
    "3min": "3m",
    "5min": "5m",
    "15min": "15m",
    "30min": "30m",
    "60min": "1h",
    "2hour": "2h",
    "4hour": "4h",
    "6hour": "6h",
    "8hour": "8h",
    "12hour": "12h",
    "1day": "1d",
    "3day": "3d",
    "1week": "1w",
    "1mon": "1M",
}
ORDERBOOK_LEVELS = range(0, 12)  # interval 0–11: prices grouped to tick × 10^interval
PERCENT10_RATE = Decimal("0.1")
DEPTH_LIMIT = 200  # levels per side at interval 0
MERGED_DEPTH_LIMIT = 150  # per side at intervals 1–11
NO_CLIENT_OID = "0"  # the seed's default client_oid
AUTO_CLIENT_ORDER_ID = "auto-"  # order_place's prefix for orders placed without a client id


def product_name(symbol: Symbol) -> str:
    return f"{symbol.base_id}_{symbol.quote_id}"


def product_symbol(*, organization_id: int, product: str) -> Symbol:
    """The symbol an organization offers for ``BASE_QUOTE``; ``UnknownSymbol`` (1050) otherwise."""
    base, sep, quote = (product or "").strip().upper().partition("_")
    symbol = symbol_get_offered(organization_id=organization_id, symbol_id=base + quote) if sep else None
    if symbol is None or symbol.base_id != base or symbol.quote_id != quote:
        raise UnknownSymbol(f"Unknown product: {product}")
    return symbol


def candle_interval(value: str | None) -> str:
    interval = INTERVALS.get(value or "1min")
    if interval is None:
        raise BgeError(1001, f"interval must be one of {', '.join(INTERVALS)}")
    return interval


def iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def client_oid(order: Order) -> str:
    cid = order.client_order_id
    return NO_CLIENT_OID if not cid or cid.startswith(AUTO_CLIENT_ORDER_ID) else cid


def _average_price(executed_quote: Decimal, executed_quantity: Decimal) -> str:
    if not executed_quantity:
        return "0"
    with money_context():
        return fmt(executed_quote / executed_quantity)


def order_shape(order: Order, product: str) -> dict[str, Any]:
    """An order as ``GET /v1/orders/{order_id}`` shows it.

    ``filled_size`` is the quote filled (成交金额) and ``filled_amount`` the base filled (成交数量),
    as the seed's field table says; ``funds`` is the quote a market buy may spend (0 otherwise).
    """
    return {
        "order_id": str(order.pk),
        "client_oid": client_oid(order),
        "product": product,
        "side": order.side,
        "type": OrderType.MARKET.value if order.type == OrderType.MARKET else OrderType.LIMIT.value,
        "price": fmt(order.price or ZERO),
        "size": fmt(order.quantity or ZERO),
        "funds": fmt(order.quote_amount or ZERO),
        "filled_size": fmt(order.executed_quote),
        "filled_amount": fmt(order.executed_quantity),
        "filled_fees": fmt(order.fee),
        "filled_average_price": _average_price(order.executed_quote, order.executed_quantity),
        "status": str(bge_code(order.status, order.executed_quantity)),
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
    }


def order_event_shape(payload: dict[str, Any], product: str) -> dict[str, Any]:
    """An ``order.update`` outbox payload (``apps.trading.selectors.order_payload``) as the orders channel
    pushes it."""
    cid = payload.get("client_order_id") or ""
    executed = Decimal(payload.get("executed_quantity") or "0")
    return {
        "order_id": payload["order_id"],
        "product": product,
        "side": payload["side"],
        "price": payload["price"],
        "size": payload["quantity"],
        "filled_amount": payload["executed_quantity"],
        "funds": payload["quote_amount"],
        "filled_size": payload["executed_quote"],
        "type": OrderType.MARKET.value if payload["type"] == OrderType.MARKET else OrderType.LIMIT.value,
        "status": str(bge_code(payload["status"], executed)),
        "client_oid": NO_CLIENT_OID if not cid or cid.startswith(AUTO_CLIENT_ORDER_ID) else cid,
    }


def order_channel_shape(order: Order, product: str) -> dict[str, Any]:
    full = order_shape(order, product)
    keys = ("order_id", "product", "side", "price", "size", "filled_amount", "funds", "filled_size", "type")
    return {**{k: full[k] for k in keys}, "status": full["status"], "client_oid": full["client_oid"]}


def fill_shape(trade: Trade, *, user_id: int, product: str) -> dict[str, Any]:
    is_buyer = trade.buyer_id == user_id
    is_maker = trade.buyer_is_maker if is_buyer else not trade.buyer_is_maker
    return {
        "product": product,
        "order_id": str(trade.buy_order_id if is_buyer else trade.sell_order_id),
        "trade_id": str(trade.pk),
        "liquidity": "maker" if is_maker else "taker",
        "price": fmt(trade.price),
        "size": fmt(trade.quantity),
        "fee": fmt(trade.buyer_fee if is_buyer else trade.seller_fee),
        "created_at": iso(trade.created_at),
        "updated_at": iso(trade.created_at),
        "side": "buy" if is_buyer else "sell",
    }


def product_shape(symbol: Symbol) -> dict[str, Any]:
    """``GET /v1/products``. Limits in USD are not configured here and render as ``""`` like the
    seed's example; the price-rate fields carry the symbol's limit and market price bands."""
    name = product_name(symbol)
    return {
        "product": name,
        "base_currency": symbol.base_id,
        "quote_currency": symbol.quote_id,
        "display_name": name,
        "status": symbol.status,
        "maker_fees_rate": fmt(symbol.maker_fee_rate),
        "taker_fees_rate": fmt(symbol.taker_fee_rate),
        "quote_precision": str(symbol.quote.precision),
        "trade_precision": str(symbol.price_places),
        "amount_precision": str(symbol.quantity_places),
        "max_buy_price_rate": fmt(symbol.price_band_rate),
        "max_sell_price_rate": fmt(symbol.price_band_rate),
        "max_trade_usd_per_order": "",
        "min_trade_usd_per_order": "",
        "max_market_taker_trade_rate": fmt(symbol.market_band_rate),
        "min_market_taker_trade_rate": fmt(symbol.market_band_rate),
        "max_market_trade_usd_per_order": "",
        "min_market_trade_usd_per_order": "",
    }


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def currency_shape(token: Token, chains: list[ChainNetwork]) -> dict[str, Any]:
    return {
        "currency": token.pk,
        "min_size": fmt(token.min_deposit),
        "status": _on(token.is_listed),
        "max_precision": str(token.precision),
        "type": "fiat" if token.is_fiat else "crypto",
        "deposit_status": _on(token.deposit_enabled),
        "withdraw_status": _on(token.withdraw_enabled),
        "accuracy": str(token.precision),
        "details": []
        if token.is_fiat
        else [
            {
                "network_confirmations": str(chain.confirmations_required),
                "sort_order": str(position),
                "display_name": chain.chain,
                "deposit_status": _on(token.deposit_enabled and chain.deposit_enabled),
                "accuracy": str(token.precision),
                "withdraw_status": _on(token.withdraw_enabled and chain.withdraw_enabled),
            }
            for position, chain in enumerate(chains, start=1)
        ],
    }


def candle_shape(kline: Kline) -> dict[str, Any]:
    return {
        "id": kline.open_time // 1000,
        "open": fmt(kline.open),
        "close": fmt(kline.close),
        "high": fmt(kline.high),
        "low": fmt(kline.low),
        "vol": fmt(kline.volume),
        "count": kline.trade_count,
        "filled_size": fmt(kline.quote_volume),
    }


def ticker_shape(ticker: dict[str, Any], *, product: str, seq_id: int) -> dict[str, Any]:
    """A ``market.selectors.ticker_24h`` result; ``change_percent`` is a fraction (-0.5412 = −54.12 %)."""
    with money_context():
        open_price, last = Decimal(ticker["open"]), Decimal(ticker["last"])
        change = last - open_price
        percent = (change / open_price).quantize(Decimal("0.0001")) if open_price else ZERO
    return {
        "id": ticker["time"] // 1000,
        "product": product,
        "open": ticker["open"],
        "close": ticker["last"],
        "high": ticker["high"],
        "low": ticker["low"],
        "vol": ticker["volume"],
        "count": ticker.get("trade_count", 0),
        "change": fmt(change),
        "seq_id": seq_id,
        "filled_size": ticker["quote_volume"],
        "change_percent": fmt(percent),
    }


def trade_shape(*, trade_id: int, ts_ms: int, price: str, quantity: str, buyer_is_maker: bool) -> dict[str, Any]:
    """A public trade; ``direction`` is the taker's side."""
    return {
        "vol": quantity,
        "ts": ts_ms,
        "price": price,
        "direction": "sell" if buyer_is_maker else "buy",
        "id": trade_id,
    }


def public_trade_shape(trade: Trade) -> dict[str, Any]:
    return trade_shape(
        trade_id=trade.pk,
        ts_ms=int(trade.created_at.timestamp() * 1000),
        price=fmt(trade.price),
        quantity=fmt(trade.quantity),
        buyer_is_maker=trade.buyer_is_maker,
    )


def orderbook_level(value: Any) -> int:
    try:
        level = int(value if value not in (None, "") else 0)
    except (TypeError, ValueError):
        raise BgeError(1051, "interval must be 0–11") from None
    if level not in ORDERBOOK_LEVELS:
        raise BgeError(1051, "interval must be 0–11")
    return level


def book_shape(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {"bids": snapshot["bids"], "asks": snapshot["asks"], "seq_id": snapshot["seq_id"]}


def orderbook_shape(snapshot: dict[str, Any], *, price_tick: Decimal, level: int) -> dict[str, Any]:
    """The order book at ``interval`` ``level``: 0 is every price (200 levels a side); 1–11 group
    prices to ``tick × 10^level`` (150 levels a side), bids rounded down and asks up."""
    if level == 0:
        return book_shape({**snapshot, "bids": snapshot["bids"][:DEPTH_LIMIT], "asks": snapshot["asks"][:DEPTH_LIMIT]})
    step = price_tick * (Decimal(10) ** level)
    return book_shape(depth_merge_step(snapshot=snapshot, step=step, limit=MERGED_DEPTH_LIMIT))


def percent10_shape(snapshot: dict[str, Any]) -> dict[str, Any]:
    """``percent10``: asks up to best ask + 10 %, bids down to best bid − 10 %, at most 200 each."""
    return book_shape(depth_near_touch(snapshot=snapshot, rate=PERCENT10_RATE, limit=DEPTH_LIMIT))
