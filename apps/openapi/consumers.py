"""The OpenAPI websockets (reference ``websocket-stream.md`` and ``user-data-stream.md``).

**Market data** at ``/openapi/quote/ws/v1`` and ``/openapi/quote/ws/v2``. A client sends
``{"symbol": "BTCUSDT,ETHBTC", "topic": "trade", "event": "sub", "params": {"binary": false}}``;
topics ``trade``, ``realtimes``, ``kline_<interval>``, ``depth``, ``diffDepth``; events ``sub``,
``cancel``, ``cancel_all``; ``{"ping": t}`` is answered ``{"pong": t}``, and a connection that sends
nothing for 5 minutes is closed. The first frame after a ``sub`` is a snapshot (``"f": true``): the
latest 60 trades, the current ticker, the latest ``params.limit`` klines (default 1), the book; later
frames (``"f": false``) carry what changed, pushed when the matching worker publishes a batch to the
group ``market.<SYMBOL>`` (``apps.market.services.market_publish``). ``binary: true`` sends that
subscription's frames gzip-compressed in binary frames.

v1 answers errors as the BHEX servers do, ``{"code": "-100010", "desc": "Invalid Symbols!"}``, sends no
acknowledgement and takes a comma-separated symbol list. v2 takes one symbol (``params.symbol`` or
``symbol``), acknowledges ``{…request, "code": "0", "msg": "Success"}``, answers errors with the
request echoed plus ``code``/``msg``, and carries ``data`` as one object per frame.

**User data stream** at ``/openapi/ws/<listenKey>``: frames are JSON arrays of
``outboundAccountInfo`` (the balances that changed, after any balance-changing event of the user) and
``executionReport`` (an order accepted on the book, canceled or rejected; every fill, with its last
executed quantity and price). The server sends ``{"ping": t}`` every 30 s, checking on the way that
the listen key still exists (and closing the stream when it does not); a ``DELETE`` of the key
closes its streams at once.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

from channels.db import database_sync_to_async

from apps.accounts.selectors import user_balances
from apps.apikeys.models import ApiKey
from apps.core.money import ZERO, fmt
from apps.core.ws import CLOSE_POLICY, JsonWebsocket, WsError, json_dumps
from apps.events.delivery import user_group
from apps.market import selectors as market
from apps.market.models import INTERVALS
from apps.market.services import market_group
from apps.openapi import shapes
from apps.openapi.listen_keys import listen_group, listen_key_get, stream_still_valid
from apps.tokens.models import Symbol
from apps.tokens.selectors import symbols_offered
from apps.trading import services as trading
from apps.trading.models import OrderStatus
from apps.trading.selectors import order_payload
from apps.users.models import User
from apps.users.selectors import organization_default, user_is_frozen


def now_ms() -> int:
    return int(time.time() * 1000)


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


# --- market data reads (run in a worker thread) ---------------------------------------------------
def _symbols(organization_id: int | None, names: list[str]) -> dict[str, Symbol]:
    if organization_id is None:
        default = organization_default()
        organization_id = default.pk if default is not None else 0
    found = symbols_offered(organization_id=organization_id).filter(pk__in=names)
    return {s.pk: s for s in found}


def _trade_row(trade: dict[str, Any]) -> dict[str, Any]:
    # "m": true = buy, false = sell (reference): the taker's side, i.e. true when the buyer took.
    return {
        "v": str(trade["id"]),
        "t": trade["time"],
        "p": trade["price"],
        "q": trade["qty"],
        "m": not trade["buyer_is_maker"],
    }


def _recent_trades(symbol: Symbol) -> list[dict[str, Any]]:
    return [
        _trade_row(
            {
                "id": t.pk,
                "time": shapes.ms(t.created_at),
                "price": fmt(t.price),
                "qty": fmt(t.quantity),
                "buyer_is_maker": t.buyer_is_maker,
            }
        )
        for t in market.trades_recent(symbol=symbol, limit=60)
    ]


def _realtime(symbol: Symbol) -> dict[str, Any]:
    ticker = market.ticker_24h(symbol=symbol)
    return {
        "t": str(ticker["time"]),
        "s": symbol.pk,
        "c": ticker["last"],
        "h": ticker["high"],
        "l": ticker["low"],
        "o": ticker["open"],
        "v": ticker["volume"],
        "qv": ticker["quote_volume"],
    }


def _klines(symbol: Symbol, interval: str, limit: int) -> list[dict[str, Any]]:
    return [
        {
            "t": k.open_time,
            "s": symbol.pk,
            "c": fmt(k.close),
            "h": fmt(k.high),
            "l": fmt(k.low),
            "o": fmt(k.open),
            "v": fmt(k.volume),
        }
        for k in market.klines(symbol=symbol, interval=interval, limit=limit)
    ]


def _depth_row(snapshot: dict[str, Any], *, diff: bool = False) -> dict[str, Any]:
    # The reference's depth rows carry the symbol ("s"); its diffDepth rows carry "e" instead.
    head: dict[str, Any] = {"e": 0} if diff else {"s": snapshot["symbol"]}
    return {**head, "t": snapshot["ts"], "v": str(snapshot["seq_id"]), "b": snapshot["bids"], "a": snapshot["asks"]}


def _book_changes(old: list[list[str]], new: list[list[str]]) -> list[list[str]]:
    """Levels whose quantity changed, with ``"0"`` for a level that left the book."""
    before = {Decimal(p): q for p, q in old}
    after = {Decimal(p): q for p, q in new}
    changes = [[p, q] for p, q in new if before.get(Decimal(p)) != q]
    changes += [[fmt(p), "0"] for p in before if p not in after]
    return changes


# Pushes that every connection subscribed to the same symbol computes alike are computed once per
# process and market version (the depth seq_id) and shared.
_shared: dict[tuple[Any, ...], Any] = {}


def _shared_value(key: tuple[Any, ...], compute: Any) -> Any:
    if key not in _shared:
        if len(_shared) > 2048:
            _shared.clear()
        _shared[key] = compute()
    return _shared[key]


def _share_key(
    socket: JsonWebsocket, sub: Subscription, data: list[dict[str, Any]], first: bool
) -> tuple[Any, ...] | None:
    """What makes a pushed frame the same for two consumers (``JsonWebsocket.send_json``): the
    socket's dialect, the subscription as the client sent it and the very row objects pushed
    (shared within a batch)."""
    if first or sub.topic == "diffDepth":  # a snapshot read for this client / a diff from its own book
        return None
    try:
        params = json_dumps(sub.params)
    except TypeError:
        return None
    request_id = json_dumps(sub.request_id)
    return (type(socket).__qualname__, sub.symbol.pk, sub.topic_name, params, request_id, tuple(map(id, data)))


class Subscription:
    def __init__(self, *, symbol: Symbol, topic: str, interval: str | None, request: dict[str, Any]) -> None:
        self.symbol = symbol
        self.topic = topic  # trade | realtimes | kline | depth | diffDepth
        self.interval = interval
        params = request.get("params") if isinstance(request.get("params"), dict) else {}
        self.params: dict[str, Any] = dict(params or {})
        self.binary = _flag(self.params.get("binary"))
        self.request_id = request.get("id")
        self.book: dict[str, Any] | None = None  # diffDepth: the book last sent

    @property
    def key(self) -> tuple[str, str]:
        return self.symbol.pk, self.topic_name

    @property
    def topic_name(self) -> str:
        return f"kline_{self.interval}" if self.topic == "kline" else self.topic


class MarketSocket(JsonWebsocket):
    """``/openapi/quote/ws/v1``; ``MarketSocketV2`` below changes only the frame shapes."""

    uses_channel_layer = False  # market data only: broadcast groups

    version = 1
    idle_timeout = 300.0  # reference: a client that sends nothing for 5 minutes is disconnected
    error_codes = {
        "invalid_json": ("-10001", "Invalid JSON!"),
        "invalid_request": ("-10000", "Invalid request!"),
        "rate_limited": ("-10000", "Invalid request! At most 50 messages per second"),
        "timeout": ("-10000", "No message for 5 minutes: closing"),
        "internal": ("-10000", "Invalid request!"),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subscriptions: dict[tuple[str, str], Subscription] = {}
        self.pending_trades: dict[str, list[dict[str, Any]]] = {}
        self.traded: set[str] = set()

    # --- frames ---------------------------------------------------------------------------------
    def error_frame(self, error: WsError) -> dict[str, Any]:
        return {"code": error.code, "desc": error.message}

    async def send_data(self, sub: Subscription, data: list[dict[str, Any]], *, first: bool) -> None:
        if not data and not first:
            return
        params = dict(sub.params)
        topic = sub.topic
        if sub.topic == "kline":
            params["klineType"] = sub.interval
        frame: dict[str, Any] = {"symbol": sub.symbol.pk, "topic": topic, "params": params, "data": data, "f": first}
        if sub.request_id is not None:
            frame["id"] = sub.request_id
        await self.send_json(frame, compress=sub.binary, share_key=_share_key(self, sub, data, first))

    async def acknowledge(self, request: dict[str, Any], symbol: str | None) -> None:
        """v1 sends no acknowledgement: the first data frame answers a ``sub``."""

    # --- client frames --------------------------------------------------------------------------
    async def handle(self, content: dict[str, Any]) -> None:
        if "ping" in content:
            await self.send_json({"pong": content["ping"]})
            return
        if "pong" in content:
            return
        event = content.get("event")
        if not event:
            raise WsError("-10003", "Event required!")
        if event not in ("sub", "cancel", "cancel_all"):
            raise WsError("-10002", "Invalid event")
        if event == "cancel_all":
            await self.leave_all()
            self.subscriptions.clear()
            await self.acknowledge(content, None)
            return
        topic, interval = self.parse_topic(content.get("topic"))
        params = content.get("params")
        if params is not None and not isinstance(params, dict):
            raise WsError("-10000", "Invalid request!")
        names = self.parse_symbols(content)
        symbols = await database_sync_to_async(_symbols)(self.organization_id(), names)
        for name in names:
            symbol = symbols.get(name)
            if symbol is None:
                await self.send_error(self.invalid_symbols(content))
                continue
            sub = Subscription(symbol=symbol, topic=topic, interval=interval, request=content)
            if event == "sub":
                await self.subscribe(sub, content)
            else:
                await self.cancel(sub, content)

    def organization_id(self) -> int | None:
        raw = (self.scope.get("query_string") or b"").decode("ascii", "replace")
        for part in raw.split("&"):
            name, _, value = part.partition("=")
            if name == "org_id" and value.isdigit():
                return int(value)
        return None

    @staticmethod
    def parse_topic(value: Any) -> tuple[str, str | None]:
        if not value or not isinstance(value, str):
            raise WsError("-10005", "Topic required!")
        if value in ("trade", "realtimes", "depth", "diffDepth"):
            return value, None
        if value == "kline" or value == "kline_":
            raise WsError("-10008", "Period required!")
        if value.startswith("kline_"):
            interval = value[len("kline_") :]
            if interval not in INTERVALS:
                raise WsError("-10009", "Invalid period!")
            return "kline", interval
        raise WsError("-10004", "Invalid topic!")

    def parse_symbols(self, content: dict[str, Any]) -> list[str]:
        raw = content.get("symbol")
        if not isinstance(raw, str) or not raw.strip():
            raise WsError("-100010", "Invalid Symbols!")
        names = [name.strip().upper() for name in raw.split(",") if name.strip()]
        return list(dict.fromkeys(names))

    def invalid_symbols(self, content: dict[str, Any]) -> WsError:
        return WsError("-100010", "Invalid Symbols!")

    async def subscribe(self, sub: Subscription, request: dict[str, Any]) -> None:
        await self.join_broadcast(market_group(sub.symbol.pk))
        self.subscriptions[sub.key] = sub
        await self.acknowledge(request, sub.symbol.pk)
        await self.send_data(sub, await database_sync_to_async(self.snapshot)(sub), first=True)

    async def cancel(self, sub: Subscription, request: dict[str, Any]) -> None:
        self.subscriptions.pop(sub.key, None)
        if not any(s.symbol.pk == sub.symbol.pk for s in self.subscriptions.values()):
            await self.leave_broadcast(market_group(sub.symbol.pk))
        await self.acknowledge(request, sub.symbol.pk)

    def snapshot(self, sub: Subscription) -> list[dict[str, Any]]:
        symbol = sub.symbol
        if sub.topic == "trade":
            return _recent_trades(symbol)
        if sub.topic == "realtimes":
            return [_realtime(symbol)]
        if sub.topic == "kline":
            assert sub.interval is not None
            try:
                limit = min(max(int(sub.params.get("limit") or 1), 1), 1000)
            except (TypeError, ValueError):
                limit = 1
            return _klines(symbol, sub.interval, limit)
        snapshot = market.depth_snapshot(symbol=symbol)
        if sub.topic == "diffDepth":
            sub.book = snapshot
            return [_depth_row(snapshot, diff=True)]
        return [_depth_row(snapshot)]

    # --- pushes from the matching worker --------------------------------------------------------
    def subscribed(self, symbol: str, topic: str) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if s.symbol.pk == symbol and s.topic == topic]

    async def market_message(self, message: dict[str, Any]) -> None:
        symbol, topic, data = message.get("symbol"), message.get("topic"), message.get("data")
        if not isinstance(symbol, str):
            return
        if topic == "trade" and isinstance(data, dict):
            self.traded.add(symbol)
            if self.subscribed(symbol, "trade"):
                pending = self.pending_trades.setdefault(symbol, [])
                # one row per trade for every consumer of the process (their frames are shared too)
                row = message.get("_row")
                if row is None:
                    row = message["_row"] = _trade_row(data)
                pending.append(row)
                # A batch ends with its depth, which flushes; a lone trade message gets a timer.
                if len(pending) == 1 and not self.in_batch:
                    self.spawn(self._flush_trades_later(symbol))
        elif topic == "depth" and isinstance(data, dict):
            # The depth snapshot closes each published batch: flush its trades, then the book,
            # then what the batch's trades changed (ticker, klines).
            await self.flush_trades(symbol)
            await self.push_depth(symbol, data)
            if symbol in self.traded:
                self.traded.discard(symbol)
                await self.push_statistics(symbol, data)

    async def _flush_trades_later(self, symbol: str) -> None:
        await asyncio.sleep(0.5)  # a batch's depth normally flushes them long before this
        await self.flush_trades(symbol)

    async def flush_trades(self, symbol: str) -> None:
        trades = self.pending_trades.pop(symbol, [])
        if trades:
            for sub in self.subscribed(symbol, "trade"):
                await self.send_data(sub, trades, first=False)

    async def push_depth(self, symbol: str, snapshot: dict[str, Any]) -> None:
        depth = self.subscribed(symbol, "depth")
        if depth:
            row = snapshot.get("_row")
            if row is None:
                row = snapshot["_row"] = _depth_row(snapshot)
            for sub in depth:
                await self.send_data(sub, [row], first=False)
        for sub in self.subscribed(symbol, "diffDepth"):
            old = sub.book or {"bids": [], "asks": []}
            sub.book = snapshot
            diff = {**snapshot, "bids": _book_changes(old["bids"], snapshot["bids"])}
            diff["asks"] = _book_changes(old["asks"], snapshot["asks"])
            if diff["bids"] or diff["asks"]:
                await self.send_data(sub, [_depth_row(diff, diff=True)], first=False)

    async def push_statistics(self, symbol: str, snapshot: dict[str, Any]) -> None:
        version = snapshot.get("seq_id")
        for sub in self.subscribed(symbol, "realtimes"):
            row = await database_sync_to_async(_shared_value)(
                ("realtimes", symbol, version), lambda s=sub.symbol: _realtime(s)
            )
            await self.send_data(sub, [row], first=False)
        for sub in self.subscribed(symbol, "kline"):
            rows = await database_sync_to_async(_shared_value)(
                ("kline", symbol, sub.interval, version), lambda s=sub.symbol, i=sub.interval: _klines(s, i, 1)
            )
            await self.send_data(sub, rows, first=False)


class MarketSocketV2(MarketSocket):
    """``/openapi/quote/ws/v2``: one symbol per request, acknowledgements, ``data`` as an object."""

    version = 2

    def error_frame(self, error: WsError) -> dict[str, Any]:
        return {**error.extra, "code": error.code, "msg": error.message}

    def parse_symbols(self, content: dict[str, Any]) -> list[str]:
        params = content.get("params") if isinstance(content.get("params"), dict) else {}
        raw = (params or {}).get("symbol") or content.get("symbol")
        if not isinstance(raw, str) or not raw.strip() or "," in raw:
            raise self.invalid_symbols(content)
        return [raw.strip().upper()]

    def invalid_symbols(self, content: dict[str, Any]) -> WsError:
        echo = {k: content[k] for k in ("symbol", "topic", "event", "params", "id") if k in content}
        return WsError("-100011", "Parameter error!", **echo)

    async def acknowledge(self, request: dict[str, Any], symbol: str | None) -> None:
        echo = {k: request[k] for k in ("topic", "event", "params", "id") if k in request}
        if symbol is not None:
            echo["params"] = {**(echo.get("params") or {}), "symbol": symbol}
        await self.send_json({**echo, "code": "0", "msg": "Success"})

    async def send_data(self, sub: Subscription, data: list[dict[str, Any]], *, first: bool) -> None:
        params = {**sub.params, "symbol": sub.symbol.pk}
        if sub.topic == "kline":
            params["klineType"] = sub.interval
        rows = data if sub.topic == "trade" else data[-1:]
        for row in rows:
            frame: dict[str, Any] = {"topic": sub.topic, "params": params, "data": row, "f": first}
            if sub.request_id is not None:
                frame["id"] = sub.request_id
            await self.send_json(frame, compress=sub.binary, share_key=_share_key(self, sub, [row], first))


# --- user data stream ------------------------------------------------------------------------------
BALANCE_EVENTS = {
    "order.update",
    "trade.match",
    "deposit.credited",
    "withdrawal.requested",
    "withdrawal.updated",
    "balance.changed",
    "airdrop",
    "lock",
    "unlock",
    "convert",
    "mapping",
}
REPORTED_ORDER_STATUSES = {OrderStatus.NEW, OrderStatus.CANCELED, OrderStatus.REJECTED}


def execution_report(payload: dict[str, Any], fill: dict[str, Any] | None = None) -> dict[str, Any]:
    order = shapes.order(payload)
    return {
        "e": "executionReport",
        "E": now_ms(),
        "s": order["symbol"],
        "c": order["clientOrderId"],
        "S": order["side"],
        "o": order["type"],
        "f": order["timeInForce"],
        "q": order["origQty"],
        "p": order["price"],
        "X": order["status"],
        "i": order["orderId"],
        "l": fill["quantity"] if fill else "0",
        "z": order["executedQty"],
        "L": fill["price"] if fill else "0",
        "n": fill["fee"] if fill else "0",
        "N": fill["fee_token"] if fill else None,
        "u": True,
        "w": order["isWorking"],
        "m": bool(fill["is_maker"]) if fill else False,
        "O": order["time"],
        "Z": order["cummulativeQuoteQty"],
    }


class UserStreamSocket(JsonWebsocket):
    ping_interval = 30.0
    max_lifetime = 24 * 3600.0  # reference: a connection is valid for 24 hours
    error_codes = {
        "invalid_json": (-1000, "Invalid JSON."),
        "invalid_request": (-1000, 'Invalid request: this stream only answers {"ping": …}.'),
        "rate_limited": (-1003, "Too many messages: at most 50 per second."),
        "timeout": (-1000, "Timeout."),
        "internal": (-1001, "Internal error; unable to process your request. Please try again."),
    }

    listen_key: str
    entry: dict[str, Any]
    user: User
    api_key: ApiKey

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.balances: dict[str, tuple[str, str]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.refresh_scheduled = False

    async def open(self) -> None:
        self.listen_key = str(self.scope["url_route"]["kwargs"].get("listen_key", ""))
        entry = await database_sync_to_async(listen_key_get)(self.listen_key)
        if entry is None or not await database_sync_to_async(stream_still_valid)(entry, self.listen_key):
            raise WsError(-1125, "This listenKey does not exist.", close=True)
        self.entry = entry
        self.user, self.api_key = await database_sync_to_async(self._load)(entry)
        self.balances = await database_sync_to_async(self._balances)()
        await self.join(listen_group(self.listen_key))
        if self.user.uid is not None:
            await self.join(user_group(self.user.uid))

    @staticmethod
    def _load(entry: dict[str, Any]) -> tuple[User, ApiKey]:
        api_key = ApiKey.objects.select_related("user").get(pk=entry["api_key_id"])
        assert api_key.user is not None
        return api_key.user, api_key

    def _balances(self) -> dict[str, tuple[str, str]]:
        return {b.token_id: (fmt(b.available), fmt(b.hold)) for b in user_balances(user=self.user)}

    async def handle(self, content: dict[str, Any]) -> None:
        if "ping" in content:
            await self.send_json({"pong": content["ping"]})
            return
        if "pong" in content:
            return
        raise self.standard_error("invalid_request")

    async def send_ping(self) -> None:
        if not await database_sync_to_async(stream_still_valid)(self.entry, self.listen_key):
            await self.listen_closed({})
            return
        await super().send_ping()

    async def listen_closed(self, message: dict[str, Any]) -> None:
        await self.send_error(WsError(-1125, "This listenKey does not exist."))
        await self.close(CLOSE_POLICY)

    # --- events of the user (apps.events.delivery → group user.<uid>) ----------------------------
    async def event_message(self, message: dict[str, Any]) -> None:
        kind, data = message.get("event"), message.get("data")
        if not isinstance(data, dict):
            return
        if kind == "order.update" and data.get("order_id"):
            self.orders[int(data["order_id"])] = data
            if len(self.orders) > 1000:
                self.orders.pop(next(iter(self.orders)))
            if data.get("status") in REPORTED_ORDER_STATUSES:
                await self.send_json([execution_report(data)])
        elif kind == "trade.match" and data.get("order_id"):
            payload = self.orders.get(int(data["order_id"]))
            if payload is None:
                payload = await database_sync_to_async(self._order)(int(data["order_id"]))
            if payload is not None:
                await self.send_json([execution_report(payload, data)])
        if kind in BALANCE_EVENTS and not self.refresh_scheduled:
            self.refresh_scheduled = True
            self.spawn(self._refresh_balances())

    def _order(self, order_id: int) -> dict[str, Any] | None:
        try:
            return order_payload(trading.order_get(user=self.user, order_id=order_id))
        except Exception:
            return None

    async def _refresh_balances(self) -> None:
        await asyncio.sleep(0.05)  # one account update for a burst of events (a matching batch)
        self.refresh_scheduled = False
        current = await database_sync_to_async(self._balances)()
        changed = [
            {"a": token, "f": free, "l": locked}
            for token, (free, locked) in sorted(current.items())
            if self.balances.get(token) != (free, locked)
        ]
        changed += [{"a": token, "f": fmt(ZERO), "l": fmt(ZERO)} for token in sorted(set(self.balances) - set(current))]
        self.balances = current
        if not changed:
            return
        can_trade, can_withdraw = await database_sync_to_async(self._permissions)()
        await self.send_json(
            [{"e": "outboundAccountInfo", "E": now_ms(), "T": can_trade, "W": can_withdraw, "D": True, "B": changed}]
        )

    def _permissions(self) -> tuple[bool, bool]:
        return (
            self.api_key.has_permission("trade") and not user_is_frozen(user=self.user, kind="trade"),
            self.api_key.has_permission("withdraw") and not user_is_frozen(user=self.user, kind="withdraw"),
        )
