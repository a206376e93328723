"""BGE websocket protocol (seed 004 "WEBSOCKET"): public /ws/v2/public and private /ws/v2/private.

Consumers read the database, so these are transactional tests; market data and user events reach
the sockets through the channel layer exactly as in production (matching → ``market.<SYMBOL>``,
outbox delivery → ``user.<uid>``). The last test runs the same flow on PostgreSQL + channels-redis.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from apps.bgeapi.consumers import PrivateSocket, PublicSocket
from apps.core.signing import bge_sign
from apps.core.ws import CLOSE_IDLE, CLOSE_RATE_LIMITED
from apps.trading.services import order_place
from broker.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)

APP = URLRouter(websocket_urlpatterns)
ANSWER_KEYS = {"biz", "type", "product", "ts", "code", "status", "event"}


def run(scenario: Callable[[], Any]) -> Any:
    return async_to_sync(scenario)()


@pytest.fixture(autouse=True)
def _quick_books(monkeypatch):
    monkeypatch.setattr(PublicSocket, "book_push_interval", 0.01)


async def connect(path: str = "/ws/v2/public") -> WebsocketCommunicator:
    ws = WebsocketCommunicator(APP, path)
    connected, _ = await ws.connect()
    assert connected
    return ws


async def frame(ws: WebsocketCommunicator, timeout: float = 3) -> dict[str, Any]:
    """The next frame as JSON (gunzipped when binary); a close as ``{"closed": code}``."""
    output = await ws.receive_output(timeout)
    if output["type"] == "websocket.close":
        return {"closed": output.get("code")}
    if output.get("bytes") is not None:
        return {"zipped": True, **json.loads(gzip.decompress(output["bytes"]))}
    return json.loads(output["text"])


async def until(ws: WebsocketCommunicator, match: Callable[[dict[str, Any]], bool], timeout: float = 3) -> dict:
    """Read frames until one matches (other pushes may come first)."""
    deadline = time.monotonic() + timeout
    while True:
        got = await frame(ws, max(0.01, deadline - time.monotonic()))
        if match(got):
            return got


async def send(ws: WebsocketCommunicator, **content: Any) -> None:
    await ws.send_to(text_data=json.dumps(content))


def market(event: str, type: str, **extra: Any) -> dict[str, Any]:
    return {"event": event, "biz": "market", "type": type, "product": "BTC_USDT", "zip": False, **extra}


place = database_sync_to_async(order_place)


async def trade(alice, bob, price: str = "100") -> None:
    await place(user=alice, symbol_id="BTCUSDT", side="sell", type="limit", price=price, quantity="1")
    await place(user=bob, symbol_id="BTCUSDT", side="buy", type="limit", price=price, quantity="1")


# --- public channels ------------------------------------------------------------------------------
def test_public_subscriptions_answer_and_push_every_channel(traders, org):
    alice, bob = traders

    async def scenario() -> dict[str, Any]:
        ws = await connect()
        answers = {}
        for kind, extra in (
            ("candles", {"interval": "15min"}),
            ("fills", {}),
            ("orderbook", {"interval": "0"}),
            ("ticker", {}),
            ("percent10", {}),
        ):
            await send(ws, **market("sub", kind, **extra))
            answers[kind] = await until(ws, lambda f: f.get("event") == "sub")
        await place(user=bob, symbol_id="BTCUSDT", side="buy", type="limit", price="90", quantity="1")
        await trade(alice, bob)
        pushes: dict[str, dict[str, Any]] = {}
        books: list[dict[str, Any]] = []
        while True:
            got = await frame(ws)
            if "data" not in got:
                continue
            if got["type"] in ("candles", "fills", "ticker"):
                pushes[got["type"]] = got
            else:
                books.append(got)
            if len(pushes) == 3:
                seq_id = pushes["ticker"]["data"][0]["seq_id"]
                latest = {b["type"]: b for b in books if b["data"]["seq_id"] == seq_id}
                if len(latest) == 2:
                    pushes.update(latest)
                    break
        await ws.disconnect()
        return {"answers": answers, "pushes": pushes}

    result = run(scenario)
    answers, pushes = result["answers"], result["pushes"]
    for kind, answer in answers.items():
        assert ANSWER_KEYS <= set(answer) and (answer["code"], answer["status"]) == (200, "OK")
        assert (answer["biz"], answer["type"], answer["product"]) == ("market", kind, "BTC_USDT")
    assert answers["candles"]["interval"] == "15min" and answers["orderbook"]["interval"] == 0

    fills = pushes["fills"]
    assert (fills["biz"], fills["product"]) == ("market", "BTC_USDT")
    assert [(t["price"], t["vol"], t["direction"]) for t in fills["data"]] == [("100", "1", "buy")]
    assert set(fills["data"][0]) == {"vol", "ts", "price", "direction", "id"}
    candle = pushes["candles"]
    assert candle["interval"] == "15min" and candle["id"] == str(candle["data"]["id"])
    assert (candle["data"]["close"], candle["data"]["vol"], candle["data"]["count"]) == ("100", "1", 1)
    assert candle["data"]["seq_id"] > 0
    [ticker] = pushes["ticker"]["data"]
    assert (ticker["close"], ticker["count"]) == ("100", 1) and ticker["seq_id"] == candle["data"]["seq_id"]
    book = pushes["orderbook"]
    assert book["data"]["bids"] == [["90", "1"]] and book["data"]["asks"] == [] and book["interval"] == "0"
    depth = pushes["percent10"]
    assert depth["seq_id"] == depth["data"]["seq_id"] == ticker["seq_id"]
    assert depth["data"]["bids"] == [["90", "1"]]


def test_public_requests_for_every_channel(traders, org):
    alice, bob = traders

    async def scenario() -> dict[str, Any]:
        await trade(alice, bob, "100")
        await trade(alice, bob, "101")
        await place(user=bob, symbol_id="BTCUSDT", side="buy", type="limit", price="95", quantity="2")
        ws = await connect()
        now = int(time.time())
        got = {}
        for kind, extra in (
            ("candles", {"interval": "1min", "from": now - 600, "to": now + 60}),
            ("fills", {}),
            ("orderbook", {"interval": 0}),
            ("ticker", {}),
            ("percent10", {}),
        ):
            await send(ws, **market("req", kind, **extra))
            got[kind] = await frame(ws)
        await ws.disconnect()
        return got

    got = run(scenario)
    assert all(g["event"] == "req" and g["code"] == 200 for g in got.values())
    [bar] = got["candles"]["data"]
    assert (bar["open"], bar["close"], bar["count"]) == ("100", "101", 2)
    assert [t["price"] for t in got["fills"]["data"]] == ["101", "100"]
    assert got["orderbook"]["data"]["bids"] == [["95", "2"]]
    assert got["percent10"]["data"]["bids"] == [["95", "2"]]
    assert (got["ticker"]["data"]["close"], got["ticker"]["data"]["open"]) == ("101", "100")


def test_unsub_stops_the_pushes(traders, org):
    alice, bob = traders

    async def scenario() -> tuple[dict, bool]:
        ws = await connect()
        await send(ws, **market("sub", "fills"))
        await frame(ws)
        await send(ws, **market("unsub", "fills"))
        answer = await frame(ws)
        await trade(alice, bob)
        silent = await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()
        return answer, silent

    answer, silent = run(scenario)
    assert (answer["event"], answer["code"], answer["type"]) == ("unsub", 200, "fills")
    assert silent


def test_bad_requests_get_error_frames_and_the_socket_stays_open(btcusdt, org):
    async def scenario() -> list[dict[str, Any]]:
        ws = await connect()
        out = []
        # the seed's own "错误请求示例 1": parameters wrapped in "para"
        await send(ws, event="sub", para={"biz": "market", "type": "percent10", "product": "ETH_USDT"}, zip=True)
        out.append(await frame(ws))
        for content in (
            market("sub", "klines"),
            market("sub", "ticker", product="DOGE_USDT"),
            market("sub", "candles", interval="7min"),
            market("sub", "orderbook", interval="12"),
            {"event": "sub", "biz": "exchange", "type": "orders", "product": "all"},
            {"event": "dance"},
            {"event": "login", "params": {}},
        ):
            await send(ws, **content)
            out.append(await frame(ws))
        await ws.send_to(text_data="not json")
        out.append(await frame(ws))
        await send(ws, **market("req", "ticker"))
        out.append(await frame(ws))  # still served
        await ws.disconnect()
        return out

    wrapped, bad_type, unknown, interval, level, private, dance, login, not_json, served = run(scenario)
    assert wrapped["event"] == "sub" and wrapped["code"] == 400 and wrapped["msg"].startswith("Invalid request: {")
    assert (bad_type["code"], unknown["code"], interval["code"], level["code"]) == (400, 1050, 1001, 1051)
    assert (private["code"], dance["code"], login["code"], not_json["code"]) == (400, 400, 400, 400)
    assert all(set(f) == {"event", "code", "msg"} for f in (wrapped, bad_type, unknown, private, not_json))
    assert served["code"] == 200


def test_gzip_when_zip_is_true(traders, org):
    alice, bob = traders

    async def scenario() -> tuple[dict, dict, dict]:
        ws = await connect()
        await send(ws, **market("sub", "fills", zip=True))
        answer = await frame(ws)
        await trade(alice, bob)
        push = await frame(ws)
        await send(ws, **market("sub", "candles", interval="9min", zip=True))
        error = await frame(ws)
        await ws.disconnect()
        return answer, push, error

    answer, push, error = run(scenario)
    assert answer["zipped"] and answer["event"] == "sub" and answer["code"] == 200
    assert push["zipped"] and push["type"] == "fills" and push["data"][0]["price"] == "100"
    assert "zipped" not in error and error["code"] == 1001  # errors stay readable text


# --- heartbeat and message rate --------------------------------------------------------------------
def test_server_pings_and_closes_without_a_pong(monkeypatch, org):
    monkeypatch.setattr(PublicSocket, "ping_interval", 0.05)
    monkeypatch.setattr(PublicSocket, "idle_timeout", 0.4)

    async def scenario() -> tuple[list[dict], list[dict]]:
        silent = await connect()
        frames = []
        while "closed" not in (frames[-1] if frames else {}):
            frames.append(await frame(silent))
        # a client that keeps sending requests but never answers a ping is closed too; one that
        # answers each ping stays
        busy, polite = await connect(), await connect()
        polite_frames: list[dict] = []
        busy_frames: list[dict] = []
        deadline = time.monotonic() + 0.8
        while time.monotonic() < deadline:
            await send(busy, **market("unsub", "ticker", product="all"))
            while not await polite.receive_nothing(timeout=0.01):
                got = await frame(polite)
                polite_frames.append(got)
                if "ping" in got:
                    await polite.send_to(text_data=json.dumps({"pong": got["ping"]}))
            while not busy_frames or "closed" not in busy_frames[-1]:
                if await busy.receive_nothing(timeout=0.01):
                    break
                busy_frames.append(await frame(busy))
            await asyncio.sleep(0.02)
        for ws in (silent, busy, polite):
            await ws.disconnect()
        return frames, [*polite_frames, {"busy": busy_frames}]

    frames, polite = run(scenario)
    assert isinstance(frames[0]["ping"], int)
    assert frames[-2]["code"] == 400 and "pong" in frames[-2]["msg"]
    assert frames[-1] == {"closed": CLOSE_IDLE}
    busy = polite.pop()["busy"]
    assert busy[-1] == {"closed": CLOSE_IDLE}
    assert not any("closed" in f for f in polite) and sum("ping" in f for f in polite) >= 8


def test_more_than_50_messages_a_second_close_the_connection(org):
    async def scenario() -> tuple[int, dict, dict]:
        ws = await connect()
        for n in range(51):
            await send(ws, ping=n)
        answered = 0
        while True:
            got = await frame(ws)
            if "pong" not in got:
                break
            answered += 1
        closed = await frame(ws)
        return answered, got, closed

    answered, error, closed = run(scenario)
    assert answered == 50
    assert error["code"] == 400 and "50" in error["msg"]
    assert closed == {"closed": CLOSE_RATE_LIMITED}


# --- private channels --------------------------------------------------------------------------------
def login_frame(client, timestamp: str | None = None, **overrides: Any) -> dict[str, Any]:
    ts = timestamp or str(int(time.time() * 1000))
    params = {
        "type": "api",
        "access_key": client.api_key.key,
        "access_sign": bge_sign(client.secret, timestamp=ts),  # websocket: the timestamp alone
        "access_timestamp": int(ts),
        **overrides,
    }
    return {"event": "login", "params": params}


def test_login_failures_and_private_channels_before_login(alice_bge):
    async def scenario() -> list[dict]:
        ws = await connect("/ws/v2/private")
        out = []
        await send(ws, event="sub", biz="exchange", type="orders", product="all", zip=False)
        out.append(await frame(ws))
        stale = str(int(time.time() * 1000) - 60_000)
        for content in (
            login_frame(alice_bge, access_key=""),  # the seed's 错误请求示例 2
            login_frame(alice_bge, access_sign="c2lnbg=="),
            login_frame(alice_bge, timestamp=stale),
            login_frame(alice_bge, access_key="k" * 64),
        ):
            await send(ws, **content)
            out.append(await frame(ws))
        await send(ws, event="req", biz="exchange", type="assets", product="BTC_USDT")
        out.append(await frame(ws))
        await ws.disconnect()
        return out

    before, no_key, bad_sign, stale, unknown, still_out = run(scenario)
    assert before["code"] == 401 and before["event"] == "sub"
    assert no_key == {"event": "login", "code": 40001, "msg": "ACCESS_KEY不能为空"}
    assert (bad_sign["code"], stale["code"], unknown["code"]) == (40010, 40008, 40006)
    assert still_out["code"] == 401


def seen(push: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(type, product, status) of an order push; (type, currency, available) of each asset row."""
    if push["type"] == "orders":
        return {("orders", push["product"], row["status"]) for row in push["data"]}
    return {("assets", row["currency"], row["available"]) for row in push["data"]}


def test_private_assets_and_orders_after_login(alice_bge, bob_bge, traders):
    alice, bob = traders

    async def scenario() -> dict[str, Any]:
        ws = await connect("/ws/v2/private")
        await send(ws, **login_frame(alice_bge))
        logged_in = await frame(ws)
        answers = []
        for product, kind in (("BTC_USDT", "orders"), ("all", "orders"), ("BTC_USDT", "assets")):
            await send(ws, event="sub", biz="exchange", type=kind, product=product, zip=False)
            answers.append(await frame(ws))
        await place(user=alice, symbol_id="BTCUSDT", side="sell", type="limit", price="100", quantity="2")
        await place(user=bob, symbol_id="BTCUSDT", side="buy", type="limit", price="100", quantity="0.5")
        pushes: list[dict] = []
        wanted = {("orders", "all", "2"), ("orders", "BTC_USDT", "2"), ("assets", "USDT", "100049.95")}
        while not wanted <= set().union(*(seen(p) for p in pushes)):
            pushes.append(await frame(ws))
        await send(ws, event="req", biz="exchange", type="orders", product="BTC_USDT")
        open_orders = await until(ws, lambda f: f.get("event") == "req")
        await send(ws, event="req", biz="exchange", type="assets", product="BTC_USDT")
        assets = await until(ws, lambda f: f.get("event") == "req")
        await send(ws, event="sub", biz="exchange", type="assets", product="all")
        assets_all = await until(ws, lambda f: "code" in f and f.get("event") == "sub")
        await ws.disconnect()
        return {
            "login": logged_in,
            "answers": answers,
            "pushes": pushes,
            "open": open_orders,
            "assets": assets,
            "assets_all": assets_all,
        }

    got = run(scenario)
    assert set(got["login"]) == {"ts", "code", "status", "event"} and got["login"]["code"] == 200
    assert [(a["type"], a["product"], a["code"], a["biz"]) for a in got["answers"]] == [
        ("orders", "BTC_USDT", 200, "exchange"),
        ("orders", "all", 200, "exchange"),
        ("assets", "BTC_USDT", 200, "exchange"),
    ]
    order_push = next(p for p in got["pushes"] if p["type"] == "orders" and p["data"][0]["status"] == "2")
    assert set(order_push["data"][0]) == {
        "order_id",
        "product",
        "side",
        "price",
        "size",
        "filled_amount",
        "funds",
        "filled_size",
        "type",
        "status",
        "client_oid",
    }
    assert (order_push["data"][0]["filled_amount"], order_push["data"][0]["filled_size"]) == ("0.5", "50")
    assert all(p["data"][0]["product"] == "BTC_USDT" for p in got["pushes"] if p["type"] == "orders")
    [open_order] = got["open"]["data"]
    assert (open_order["status"], open_order["size"], open_order["product"]) == ("2", "2", "BTC_USDT")
    assert {a["currency"]: a["available"] for a in got["assets"]["data"]} == {"USDT": "100049.95", "BTC": "8"}
    assert {a["currency"]: a["hold"] for a in got["assets"]["data"]} == {"USDT": "0", "BTC": "1.5"}
    assets_pushed = [row for p in got["pushes"] if p["type"] == "assets" for row in p["data"]]
    assert assets_pushed == [  # the hold at placement, then each change once
        {"currency": "BTC", "available": "8", "hold": "2"},
        {"currency": "USDT", "available": "100049.95", "hold": "0"},
        {"currency": "BTC", "available": "8", "hold": "1.5"},
    ]
    assert got["assets_all"]["code"] == 400  # assets are per product


def test_delivery_through_redis_and_postgres(postgres, redis_service, alice_bge, traders):
    """channels-redis carries market data and user events; published and received in one event loop."""
    alice, bob = traders
    assert "Redis" in type(get_channel_layer()).__name__

    async def scenario() -> tuple[dict, dict]:
        public = await connect()
        private = await connect("/ws/v2/private")
        await send(public, **market("sub", "fills"))
        await frame(public)
        await send(private, **login_frame(alice_bge))
        assert (await frame(private))["code"] == 200
        await send(private, event="sub", biz="exchange", type="orders", product="all")
        await frame(private)
        await trade(alice, bob)
        fill = await until(public, lambda f: f.get("type") == "fills", timeout=5)
        order = await until(private, lambda f: f.get("type") == "orders" and f["data"][0]["status"] == "3", timeout=5)
        await public.disconnect()
        await private.disconnect()
        return fill, order

    fill, order = run(scenario)
    assert fill["data"][0]["price"] == "100"
    assert order["data"][0]["side"] == "sell" and order["product"] == "all"


def test_private_socket_also_serves_market_channels(btcusdt, org):
    async def scenario() -> dict:
        ws = await connect("/ws/v2/private")
        await send(ws, **market("req", "orderbook", interval="0"))
        got = await frame(ws)
        await ws.disconnect()
        return got

    assert run(scenario)["data"] == {"bids": [], "asks": [], "seq_id": 0}
    assert PrivateSocket.idle_timeout == 30.0  # the seed's 30 s without a pong
