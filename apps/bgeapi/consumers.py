"""The BGE websocket protocol (seed 004 "WEBSOCKET"): public ``/ws/v2/public``, private ``/ws/v2/private``.

Client frames are JSON objects ``{"event", "biz", "type", "product", "interval", "zip"}`` with
``event`` ``sub`` / ``unsub`` / ``req`` (and ``login`` on the private service). Answers carry
``{"biz", "type", "product", "ts", "code": 200, "status": "OK", "event"}``; pushes carry
``{"id", "biz", "type", "product", "data"}`` (plus ``seq_id`` / ``interval`` where the seed shows
them). Refusals are ``{"event", "code", "msg"}``: 400 for a malformed request, 401 before login, 500
on a server fault, and the REST codes (40001–40016, 1050 …) where one fits.

Rules from ``apps.core.ws.JsonWebsocket``: at most 50 client frames a second (the 51st is answered
with an error and the connection is closed); the server sends ``{"ping": ts}`` every
``ping_interval`` seconds and closes a connection that has not answered ``{"pong": ts}`` for
``idle_timeout`` (30) seconds — only pongs (and client pings) count as an answer. ``"zip": true`` on
a request makes its answer and the pushes of that subscription gzip-compressed binary frames.

Data sources: the matching worker publishes each batch's trades and then its depth snapshot to the
group ``market.<SYMBOL>`` (``apps.market.services.market_publish``); fills are pushed per trade,
candles and tickers once per batch (when its depth message arrives), order books at most every
``book_push_interval`` seconds and at least every ``book_refresh_interval`` seconds while
subscribed. User events arrive on ``user.<uid>`` (``apps.events.delivery``): ``order.update`` feeds
the orders channel; the assets channel pushes ``balance.changed`` of the trading account and, after
``order.update`` / ``trade.match`` (fills do not emit ``balance.changed``), re-reads the product's two
balances — each push carries only the currencies whose balance changed since the last one.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from channels.db import database_sync_to_async

from apps.accounts.models import AccountType
from apps.accounts.selectors import user_balances
from apps.apikeys.auth import api_key_require, bge_authenticate
from apps.bgeapi import errors
from apps.bgeapi.base import refuse_frozen, timestamp_malformed
from apps.bgeapi.shapes import (
    candle_interval,
    candle_shape,
    order_channel_shape,
    order_event_shape,
    orderbook_level,
    orderbook_shape,
    percent10_shape,
    product_name,
    product_symbol,
    ticker_shape,
    trade_shape,
)
from apps.core.errors import BrokerError, TimestampOutOfWindow, UnknownSymbol
from apps.core.money import fmt
from apps.core.ws import JsonWebsocket, WsError
from apps.events.delivery import user_group
from apps.market import selectors as market
from apps.market.services import market_group
from apps.tokens.models import Symbol
from apps.trading import selectors as trading_selectors
from apps.users.models import User
from apps.users.selectors import organization_resolve

MARKET_TYPES = ("candles", "fills", "orderbook", "ticker", "percent10")
BOOK_TYPES = ("orderbook", "percent10")
PRIVATE_TYPES = ("assets", "orders")
ALL = "all"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Subscription:
    biz: str
    type: str
    product: str  # as the client wrote it, upper-cased (or "all")
    symbol: Symbol | None  # None for orders of every product
    interval: str = ""  # candles: the BGE name ("15min"); orderbook: "0"–"11"
    zip: bool = False
    last_push: float = 0.0
    pending: dict[str, Any] | None = field(default=None)  # a book newer than the last one pushed

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.type, self.product, self.interval)

    def echo(self) -> dict[str, Any]:
        """The request fields every answer repeats."""
        answer: dict[str, Any] = {"biz": self.biz, "type": self.type, "product": self.product}
        if self.type == "candles":
            answer["interval"] = self.interval
        elif self.type == "orderbook":
            answer["interval"] = int(self.interval)
        return answer


# --- database reads (run in the thread pool) ----------------------------------------------------
@database_sync_to_async
def _organization_id() -> int:
    return organization_resolve(organization_id=None).pk


@database_sync_to_async
def _symbol(organization_id: int, product: str) -> Symbol:
    return product_symbol(organization_id=organization_id, product=product)


@database_sync_to_async
def _symbol_by_id(symbol_id: str) -> Symbol | None:
    return Symbol.objects.filter(pk=symbol_id).first()


@database_sync_to_async
def _book(symbol: Symbol) -> dict[str, Any]:
    return market.depth_snapshot(symbol=symbol)


@database_sync_to_async
def _candles(symbol: Symbol, interval: str, start_s: int | None, end_s: int | None, size: int) -> list[dict[str, Any]]:
    bars = market.klines(
        symbol=symbol,
        interval=candle_interval(interval),
        start_ms=start_s * 1000 if start_s is not None else None,
        end_ms=end_s * 1000 if end_s is not None else None,
        limit=size,
    )
    return [candle_shape(k) for k in bars]


@database_sync_to_async
def _ticker(symbol: Symbol, seq_id: int | None = None) -> dict[str, Any]:
    if seq_id is None:
        seq_id = market.depth_snapshot(symbol=symbol)["seq_id"]
    shaped = ticker_shape(market.ticker_24h(symbol=symbol), product=product_name(symbol), seq_id=seq_id)
    shaped.pop("product")
    return shaped


@database_sync_to_async
def _trades(symbol: Symbol, size: int) -> list[dict[str, Any]]:
    trades = market.trades_recent(symbol=symbol, limit=size)
    return [
        trade_shape(
            trade_id=t.pk,
            ts_ms=int(t.created_at.timestamp() * 1000),
            price=fmt(t.price),
            quantity=fmt(t.quantity),
            buyer_is_maker=t.buyer_is_maker,
        )
        for t in reversed(trades)
    ]


@database_sync_to_async
def _assets(user: User, symbol: Symbol) -> list[dict[str, Any]]:
    held = {b.token_id: b for b in user_balances(user=user).filter(token_id__in=(symbol.quote_id, symbol.base_id))}
    rows = []
    for token_id in (symbol.quote_id, symbol.base_id):
        balance = held.get(token_id)
        rows.append(
            {
                "currency": token_id,
                "available": fmt(balance.available) if balance else "0",
                "hold": fmt(balance.hold) if balance else "0",
            }
        )
    return rows


@database_sync_to_async
def _open_orders(user: User, symbol: Symbol | None) -> list[dict[str, Any]]:
    orders = trading_selectors.orders_open(user=user, symbol_id=symbol.pk if symbol else None, limit=1000)
    return [order_channel_shape(o, product_name(o.symbol)) for o in orders]


@database_sync_to_async
def _login(*, key: str, ip: str, signature: str, timestamp: str) -> User:
    try:
        api_key = bge_authenticate(key=key, ip=ip, signature=signature, timestamp=timestamp)
    except TimestampOutOfWindow as exc:
        exc.details["malformed"] = timestamp_malformed(timestamp or "")
        raise
    api_key_require(api_key, "read")
    assert api_key.user is not None
    refuse_frozen(api_key.user)
    return api_key.user


# --- the public service -------------------------------------------------------------------------
class PublicSocket(JsonWebsocket):
    uses_channel_layer = False  # market data only: broadcast groups (PrivateSocket turns it back on)
    ping_interval: ClassVar[float | None] = 10.0
    idle_timeout: ClassVar[float | None] = 30.0  # seconds without a pong before the server closes
    book_push_interval: ClassVar[float] = 0.5  # order books: at most one push per this many seconds …
    book_refresh_interval: ClassVar[float] = 5.0  # … and at least one while nothing changes
    error_codes: ClassVar[dict[str, tuple[Any, str]]] = {
        "invalid_json": (400, "Invalid request: not a JSON object"),
        "invalid_request": (400, "Invalid request"),
        "rate_limited": (400, "Too many messages: at most 50 per second; closing"),
        "timeout": (400, "No pong received for 30 s; closing"),
        "internal": (500, "系统错误,请稍后重试"),
    }
    biz_names: ClassVar[tuple[str, ...]] = ("market",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subscriptions: dict[tuple[str, str, str], Subscription] = {}
        self.organization_id: int | None = None
        self.dirty: set[str] = set()  # symbols with trades since their last candle/ticker push
        self.symbols: dict[str, Symbol | None] = {}
        self.book_task = False

    # --- heartbeat: only a pong (or a client ping) proves the client is there ------------------
    def mark_alive(self) -> None:
        """Every client frame would count as alive in the base; BGE counts pongs only."""

    def pong_received(self) -> None:
        self.last_seen = time.monotonic()

    def error_frame(self, error: WsError) -> dict[str, Any]:
        return {"event": error.extra.get("event", ""), "code": error.code, "msg": error.message}

    async def handle(self, content: dict[str, Any]) -> None:
        if "pong" in content:
            self.pong_received()
            return
        if "ping" in content:
            self.pong_received()
            await self.send_json({"pong": content["ping"]})
            return
        event = content.get("event")
        if event == "login":
            await self.login(content)
        elif event in ("sub", "unsub", "req"):
            subscription = await self.parse(content)
            if event == "sub":
                await self.subscribe(subscription)
            elif event == "unsub":
                await self.unsubscribe(subscription)
            else:
                await self.request(subscription, content)
        else:
            raise self.invalid(content)

    # --- requests -------------------------------------------------------------------------------
    def invalid(self, content: dict[str, Any], reason: str = "") -> WsError:
        raw = json.dumps(content, separators=(",", ":"), ensure_ascii=False, default=str)
        return WsError(400, f"Invalid request: {raw}" + (f" ({reason})" if reason else ""), event=content.get("event"))

    async def login(self, content: dict[str, Any]) -> None:
        raise WsError(400, "Invalid request: login is on the private service /ws/v2/private", event="login")

    async def org_id(self) -> int:
        if self.organization_id is None:
            self.organization_id = await _organization_id()
        return self.organization_id

    async def parse(self, content: dict[str, Any]) -> Subscription:
        biz, kind, product = content.get("biz"), content.get("type"), content.get("product")
        if biz not in self.biz_names or not isinstance(kind, str) or not isinstance(product, str) or not product:
            raise self.invalid(content)
        if biz == "market" and kind not in MARKET_TYPES:
            raise self.invalid(content, f"type must be one of {', '.join(MARKET_TYPES)}")
        if biz == "exchange" and kind not in PRIVATE_TYPES:
            raise self.invalid(content, f"type must be one of {', '.join(PRIVATE_TYPES)}")
        product = product.strip().upper()
        interval = ""
        try:
            if kind == "candles":
                interval = str(content.get("interval") or "1min")
                candle_interval(interval)
            elif kind == "orderbook":
                interval = str(orderbook_level(content.get("interval")))
        except errors.BgeError as exc:
            raise WsError(exc.code, exc.message, event=content.get("event")) from None
        symbol: Symbol | None = None
        if not (kind == "orders" and product.lower() == ALL):
            try:
                symbol = await _symbol(await self.org_id(), product)
            except UnknownSymbol:
                raise WsError(1050, f"{errors.MESSAGES[1050]}: {product}", event=content.get("event")) from None
        else:
            product = ALL
        return Subscription(
            biz=biz, type=kind, product=product, symbol=symbol, interval=interval, zip=content.get("zip") is True
        )

    def answer(self, subscription: Subscription, event: str, **data: Any) -> dict[str, Any]:
        return {**subscription.echo(), "ts": now_ms(), "code": 200, "status": "OK", "event": event, **data}

    async def subscribe(self, subscription: Subscription) -> None:
        self.subscriptions[subscription.key] = subscription
        if subscription.symbol is not None and subscription.biz == "market":
            await self.join_broadcast(market_group(subscription.symbol.pk))
        await self.send_json(self.answer(subscription, "sub"), compress=subscription.zip)
        if subscription.type in BOOK_TYPES:
            assert subscription.symbol is not None
            await self.push_book(subscription, await _book(subscription.symbol))
            if not self.book_task:
                self.book_task = True
                self.spawn(self._book_loop())

    async def unsubscribe(self, subscription: Subscription) -> None:
        self.subscriptions.pop(subscription.key, None)
        symbol = subscription.symbol
        if symbol is not None and subscription.biz == "market":
            still = any(s.symbol is not None and s.symbol.pk == symbol.pk for s in self.market_subscriptions())
            if not still:
                await self.leave_broadcast(market_group(symbol.pk))
        await self.send_json(self.answer(subscription, "unsub"), compress=subscription.zip)

    async def request(self, subscription: Subscription, content: dict[str, Any]) -> None:
        symbol = subscription.symbol
        assert symbol is not None or subscription.type == "orders"
        data: Any
        try:
            data = await self.request_data(subscription, content)
        except BrokerError as exc:
            _, body = errors.error_body(exc)
            raise WsError(body["code"], body["message"], event="req") from None
        await self.send_json(self.answer(subscription, "req", data=data), compress=subscription.zip)

    async def request_data(self, subscription: Subscription, content: dict[str, Any]) -> Any:
        symbol = subscription.symbol
        assert symbol is not None
        if subscription.type == "candles":
            start, end = self.int_field(content, "from"), self.int_field(content, "to")
            size = self.int_field(content, "size") or 500
            return await _candles(symbol, subscription.interval, start, end, min(max(size, 1), 1000))
        if subscription.type == "fills":
            size = self.int_field(content, "size") or 100
            return await _trades(symbol, min(max(size, 1), 1000))
        if subscription.type == "ticker":
            return await _ticker(symbol)
        snapshot = await _book(symbol)
        return self.book_data(subscription, snapshot)

    def int_field(self, content: dict[str, Any], name: str) -> int | None:
        value = content.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise self.invalid(content, f"{name} must be an integer") from None

    # --- pushes ---------------------------------------------------------------------------------
    def market_subscriptions(self, symbol_id: str | None = None, *types: str) -> list[Subscription]:
        return [
            s
            for s in self.subscriptions.values()
            if s.biz == "market"
            and s.symbol is not None
            and (symbol_id is None or s.symbol.pk == symbol_id)
            and (not types or s.type in types)
        ]

    async def push(self, subscription: Subscription, data: Any, *, push_id: str, **extra: Any) -> None:
        frame: dict[str, Any] = {"id": push_id, "biz": subscription.biz, "type": subscription.type}
        frame.update(extra)
        frame["data"] = data
        frame["product"] = subscription.product
        if subscription.type == "candles":
            frame["interval"] = subscription.interval
        elif subscription.type == "orderbook":
            frame["interval"] = subscription.interval
        await self.send_json(frame, compress=subscription.zip)

    def book_data(self, subscription: Subscription, snapshot: dict[str, Any]) -> dict[str, Any]:
        assert subscription.symbol is not None
        if subscription.type == "percent10":
            return percent10_shape(snapshot)
        return orderbook_shape(snapshot, price_tick=subscription.symbol.price_tick, level=int(subscription.interval))

    async def push_book(self, subscription: Subscription, snapshot: dict[str, Any]) -> None:
        subscription.pending = None
        subscription.last_push = time.monotonic()
        data = self.book_data(subscription, snapshot)
        extra = {"seq_id": snapshot["seq_id"]} if subscription.type == "percent10" else {}
        await self.push(subscription, data, push_id=str(now_ms() // 1000), **extra)

    async def _book_loop(self) -> None:
        while not self.closed:
            await asyncio.sleep(self.book_push_interval)
            now = time.monotonic()
            for subscription in self.market_subscriptions(None, *BOOK_TYPES):
                if subscription.pending is not None:
                    await self.push_book(subscription, subscription.pending)
                elif now - subscription.last_push >= self.book_refresh_interval:
                    assert subscription.symbol is not None
                    await self.push_book(subscription, await _book(subscription.symbol))

    async def market_message(self, message: dict[str, Any]) -> None:
        symbol_id, topic, data = message["symbol"], message["topic"], message["data"]
        if topic == "trade":
            self.dirty.add(symbol_id)
            trade = trade_shape(
                trade_id=data["id"],
                ts_ms=data["time"],
                price=data["price"],
                quantity=data["qty"],
                buyer_is_maker=data["buyer_is_maker"],
            )
            for subscription in self.market_subscriptions(symbol_id, "fills"):
                await self.push(subscription, [trade], push_id=str(data["id"]))
        elif topic == "depth":
            now = time.monotonic()
            for subscription in self.market_subscriptions(symbol_id, *BOOK_TYPES):
                if now - subscription.last_push >= self.book_push_interval:
                    await self.push_book(subscription, data)
                else:
                    subscription.pending = data  # the book loop sends it when the interval is up
            if symbol_id in self.dirty:
                self.dirty.discard(symbol_id)
                await self.push_trade_summaries(symbol_id, data["seq_id"])

    async def push_trade_summaries(self, symbol_id: str, seq_id: int) -> None:
        """After a batch with trades: the current candle of each subscribed interval and the ticker."""
        for subscription in self.market_subscriptions(symbol_id, "candles"):
            assert subscription.symbol is not None
            bars = await _candles(subscription.symbol, subscription.interval, None, None, 1)
            if bars:
                await self.push(subscription, {**bars[-1], "seq_id": seq_id}, push_id=str(bars[-1]["id"]))
        tickers = self.market_subscriptions(symbol_id, "ticker")
        if tickers:
            assert tickers[0].symbol is not None
            ticker = await _ticker(tickers[0].symbol, seq_id)
            for subscription in tickers:
                await self.push(subscription, [ticker], push_id=str(ticker["id"]))


# --- the private service ------------------------------------------------------------------------
class PrivateSocket(PublicSocket):
    """The private service: ``login`` first, then ``assets`` / ``orders`` (biz ``exchange``); the
    public market channels are served here too."""

    uses_channel_layer = True  # the user's events come through the channel layer

    biz_names: ClassVar[tuple[str, ...]] = ("market", "exchange")

    assets_coalesce: ClassVar[float] = 0.05  # one balance read per symbol for a burst of its order events

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user: User | None = None
        self.assets_seen: dict[tuple[str, str], tuple[str, str]] = {}  # (product, currency) → (available, hold)
        self.assets_refreshing: set[str] = set()

    def client_ip(self) -> str:
        client = self.scope.get("client")
        return str(client[0]) if client else ""

    async def login(self, content: dict[str, Any]) -> None:
        params = content.get("params")
        if not isinstance(params, dict) or params.get("type") not in (None, "api"):
            raise self.invalid(content)
        timestamp = params.get("access_timestamp")
        try:
            user = await _login(
                key=str(params.get("access_key") or ""),
                ip=self.client_ip(),
                signature=str(params.get("access_sign") or ""),
                timestamp="" if timestamp in (None, "") else str(timestamp),
            )
        except BrokerError as exc:
            _, body = errors.error_body(exc)
            raise WsError(body["code"], body["message"], event="login") from None
        if self.user is not None and self.user.pk != user.pk:
            assert self.user.uid is not None
            await self.leave(user_group(self.user.uid))
            self.subscriptions = {k: s for k, s in self.subscriptions.items() if s.biz != "exchange"}
        self.user = user
        self.organization_id = user.organization_id
        assert user.uid is not None  # every end user has a uid
        await self.join(user_group(user.uid))
        await self.send_json({"ts": now_ms(), "code": 200, "status": "OK", "event": "login"})

    async def parse(self, content: dict[str, Any]) -> Subscription:
        if content.get("biz") == "exchange":
            if self.user is None:
                raise WsError(401, "未登录: login first", event=content.get("event"))
            if content.get("type") == "assets" and str(content.get("product", "")).lower() == ALL:
                raise self.invalid(content, "assets are subscribed per product")
        return await super().parse(content)

    async def subscribe(self, subscription: Subscription) -> None:
        if subscription.type == "assets":
            assert self.user is not None and subscription.symbol is not None
            for row in await _assets(self.user, subscription.symbol):  # the baseline: push changes only
                self.assets_seen[(subscription.product, row["currency"])] = (row["available"], row["hold"])
        await super().subscribe(subscription)

    async def request_data(self, subscription: Subscription, content: dict[str, Any]) -> Any:
        if subscription.biz != "exchange":
            return await super().request_data(subscription, content)
        assert self.user is not None
        if subscription.type == "orders":
            return await _open_orders(self.user, subscription.symbol)
        assert subscription.symbol is not None
        return await _assets(self.user, subscription.symbol)

    def exchange_subscriptions(self, kind: str) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if s.biz == "exchange" and s.type == kind]

    async def product_of(self, symbol_id: str) -> str:
        if symbol_id not in self.symbols:
            self.symbols[symbol_id] = await _symbol_by_id(symbol_id)
        symbol = self.symbols[symbol_id]
        return product_name(symbol) if symbol is not None else symbol_id

    async def event_message(self, message: dict[str, Any]) -> None:
        event, data = message.get("event"), message.get("data") or {}
        push_id = str(message.get("id", ""))
        if event == "order.update":
            subscriptions = [
                s
                for s in self.exchange_subscriptions("orders")
                if s.symbol is None or s.symbol.pk == data.get("symbol")
            ]
            if subscriptions:
                shaped = order_event_shape(data, await self.product_of(str(data.get("symbol"))))
                for subscription in subscriptions:
                    await self.push(subscription, [shaped], push_id=push_id)
        if event in ("order.update", "trade.match"):
            # Fills and released holds move balances without a ``balance.changed`` (matching batches
            # report fills as trade.match): read the product's balances once the burst is over.
            self.assets_refresh_soon(str(data.get("symbol")))
        elif event == "balance.changed":
            if data.get("account_type") != AccountType.SPOT or int(data.get("account_index") or 0) != 0:
                return
            row = {"currency": data.get("token"), "available": data.get("available"), "hold": data.get("hold")}
            for subscription in self.exchange_subscriptions("assets"):
                await self.push_assets(subscription, [row], push_id=push_id)

    async def push_assets(self, subscription: Subscription, rows: list[dict[str, Any]], *, push_id: str) -> None:
        """Push the rows of the subscription's two currencies that differ from what it last got."""
        assert subscription.symbol is not None
        fresh = []
        for row in rows:
            if row["currency"] not in (subscription.symbol.base_id, subscription.symbol.quote_id):
                continue
            key, value = (subscription.product, row["currency"]), (row["available"], row["hold"])
            if self.assets_seen.get(key) != value:
                self.assets_seen[key] = value
                fresh.append(row)
        if fresh:
            await self.push(subscription, fresh, push_id=push_id)

    def assets_refresh_soon(self, symbol_id: str) -> None:
        if symbol_id in self.assets_refreshing:
            return
        if any(s.symbol is not None and s.symbol.pk == symbol_id for s in self.exchange_subscriptions("assets")):
            self.assets_refreshing.add(symbol_id)
            self.spawn(self._assets_refresh(symbol_id))

    async def _assets_refresh(self, symbol_id: str) -> None:
        await asyncio.sleep(self.assets_coalesce)
        self.assets_refreshing.discard(symbol_id)
        assert self.user is not None
        for subscription in self.exchange_subscriptions("assets"):
            if subscription.symbol is not None and subscription.symbol.pk == symbol_id:
                rows = await _assets(self.user, subscription.symbol)
                await self.push_assets(subscription, rows, push_id=str(now_ms()))
