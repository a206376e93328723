"""Market websockets /openapi/quote/ws/v1 and /v2: every topic, errors, heartbeat, rate limit."""

from __future__ import annotations

import pytest

from apps.openapi.consumers import MarketSocket
from tests.openapi.wsutil import connect, db, frames_until, next_frame, run, send

pytestmark = pytest.mark.django_db(transaction=True)

V1 = "/openapi/quote/ws/v1"
V2 = "/openapi/quote/ws/v2"


def sub(topic: str, symbol: str = "BTCUSDT", **params) -> dict:
    return {"symbol": symbol, "topic": topic, "event": "sub", "params": {"binary": False, **params}}


def data_frames(frames: list, topic: str) -> list:
    return [f for f in frames if isinstance(f, dict) and f.get("topic") == topic and "data" in f]


@pytest.fixture
def market(traders, place, org):
    """A book with one trade already done: 0.25 @ 101."""
    alice, bob = traders
    place(alice, "sell", price="101", quantity="1")
    place(bob, "buy", price="99", quantity="1")
    place(bob, "buy", price="101", quantity="0.25")
    return alice, bob


def test_ping_is_answered_with_pong_on_both_versions(org):
    async def scenario():
        answers = []
        for path in (V1, V2):
            ws = await connect(path)
            await send(ws, {"ping": 1535975085052})
            answers.append(await next_frame(ws))
            await ws.disconnect()
        return answers

    assert run(scenario) == [{"pong": 1535975085052}, {"pong": 1535975085052}]


def test_trade_topic_sends_the_latest_trades_then_each_new_one(market, place):
    _, bob = market

    async def scenario():
        ws = await connect(V1)
        await send(ws, sub("trade"))
        snapshot = await next_frame(ws)
        await db(place)(bob, "buy", price="101", quantity="0.5")
        live = await frames_until(ws, lambda f: data_frames(f, "trade"))
        await ws.disconnect()
        return snapshot, data_frames(live, "trade")[0]

    snapshot, live = run(scenario)
    assert snapshot["symbol"] == "BTCUSDT" and snapshot["topic"] == "trade" and snapshot["f"] is True
    assert snapshot["params"] == {"binary": False}
    (first,) = snapshot["data"]
    assert set(first) == {"v", "t", "p", "q", "m"}
    assert (first["p"], first["q"], first["m"], isinstance(first["v"], str)) == ("101", "0.25", True, True)
    assert live["f"] is False
    assert [(t["p"], t["q"], t["m"]) for t in live["data"]] == [("101", "0.5", True)]


def test_realtimes_topic(market, place):
    alice, _ = market

    async def scenario():
        ws = await connect(V1)
        await send(ws, sub("realtimes"))
        snapshot = await next_frame(ws)
        await db(place)(alice, "sell", price="99", quantity="0.5")
        live = await frames_until(ws, lambda f: data_frames(f, "realtimes"))
        await ws.disconnect()
        return snapshot, data_frames(live, "realtimes")[0]

    snapshot, live = run(scenario)
    (ticker,) = snapshot["data"]
    assert set(ticker) == {"t", "s", "c", "h", "l", "o", "v", "qv"}
    assert isinstance(ticker["t"], str)
    assert (ticker["s"], ticker["c"], ticker["v"], ticker["qv"], snapshot["f"]) == (
        "BTCUSDT",
        "101",
        "0.25",
        "25.25",
        True,
    )
    (after,) = live["data"]
    assert (after["c"], after["l"], after["v"], live["f"]) == ("99", "99", "0.75", False)


def test_kline_topic(market, place):
    _, bob = market

    async def scenario():
        ws = await connect(V1)
        await send(ws, sub("kline_1m", limit="5"))
        snapshot = await next_frame(ws)
        await db(place)(bob, "buy", price="101", quantity="0.5")
        live = await frames_until(ws, lambda f: data_frames(f, "kline"))
        await ws.disconnect()
        return snapshot, data_frames(live, "kline")[0]

    snapshot, live = run(scenario)
    assert snapshot["topic"] == "kline" and snapshot["params"]["klineType"] == "1m" and snapshot["f"] is True
    (bar,) = snapshot["data"]
    assert set(bar) == {"t", "s", "c", "h", "l", "o", "v"} and (bar["c"], bar["v"]) == ("101", "0.25")
    assert live["data"][-1]["v"] == "0.75" and live["f"] is False


def test_depth_topic(market, place):
    _, bob = market

    async def scenario():
        ws = await connect(V1)
        await send(ws, sub("depth"))
        snapshot = await next_frame(ws)
        await db(place)(bob, "buy", price="100", quantity="2")
        live = await frames_until(ws, lambda f: data_frames(f, "depth"))
        await ws.disconnect()
        return snapshot, data_frames(live, "depth")[0]

    snapshot, live = run(scenario)
    (book,) = snapshot["data"]
    assert set(book) == {"s", "t", "v", "b", "a"} and snapshot["f"] is True
    assert (book["b"], book["a"]) == ([["99", "1"]], [["101", "0.75"]])
    assert live["data"][0]["b"] == [["100", "2"], ["99", "1"]] and live["f"] is False
    assert int(live["data"][0]["v"]) > int(book["v"])


def test_diff_depth_topic_sends_changes_with_zero_for_removed_levels(market, place):
    _, bob = market

    async def scenario():
        ws = await connect(V1)
        await send(ws, sub("diffDepth"))
        snapshot = await next_frame(ws)
        await db(place)(bob, "buy", price="100", quantity="2")
        first = await frames_until(ws, lambda f: data_frames(f, "diffDepth"))
        await db(place)(bob, "buy", price="101", quantity="0.75")  # takes the whole 101 ask
        second = await frames_until(ws, lambda f: data_frames(f, "diffDepth"))
        await ws.disconnect()
        return snapshot, data_frames(first, "diffDepth")[0], data_frames(second, "diffDepth")[0]

    snapshot, added, removed = run(scenario)
    assert snapshot["f"] is True and snapshot["data"][0]["b"] == [["99", "1"]]
    assert set(added["data"][0]) == {"e", "t", "v", "b", "a"}
    assert (added["data"][0]["b"], added["data"][0]["a"]) == ([["100", "2"]], [])
    assert (removed["data"][0]["b"], removed["data"][0]["a"]) == ([], [["101", "0"]])


def test_several_symbols_and_an_unknown_one(market, ethbtc):
    async def scenario():
        ws = await connect(V1)
        await send(ws, {"symbol": "BTCUSDT,NOPE,ETHBTC", "topic": "depth", "event": "sub"})
        frames = await frames_until(ws, lambda f: len(f) == 3)
        await ws.disconnect()
        return frames

    btc, error, eth = run(scenario)
    assert btc["symbol"] == "BTCUSDT" and eth["symbol"] == "ETHBTC" and eth["data"][0]["b"] == []
    assert error == {"code": "-100010", "desc": "Invalid Symbols!"}


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ("not json", {"code": "-10001", "desc": "Invalid JSON!"}),
        ({"symbol": "BTCUSDT", "topic": "trade"}, {"code": "-10003", "desc": "Event required!"}),
        ({"symbol": "BTCUSDT", "topic": "trade", "event": "join"}, {"code": "-10002", "desc": "Invalid event"}),
        ({"symbol": "BTCUSDT", "event": "sub"}, {"code": "-10005", "desc": "Topic required!"}),
        ({"symbol": "BTCUSDT", "topic": "index", "event": "sub"}, {"code": "-10004", "desc": "Invalid topic!"}),
        ({"symbol": "BTCUSDT", "topic": "kline", "event": "sub"}, {"code": "-10008", "desc": "Period required!"}),
        ({"symbol": "BTCUSDT", "topic": "kline_7m", "event": "sub"}, {"code": "-10009", "desc": "Invalid period!"}),
        ({"topic": "trade", "event": "sub"}, {"code": "-100010", "desc": "Invalid Symbols!"}),
        ({"symbol": "NOPE", "topic": "trade", "event": "sub"}, {"code": "-100010", "desc": "Invalid Symbols!"}),
        (
            {"symbol": "BTCUSDT", "topic": "trade", "event": "sub", "params": 5},
            {"code": "-10000", "desc": "Invalid request!"},
        ),
    ],
)
def test_bad_subscriptions_get_an_error_frame_and_the_socket_stays_open(btcusdt, org, request_, expected):
    async def scenario():
        ws = await connect(V1)
        await send(ws, request_)
        error = await next_frame(ws)
        await send(ws, {"ping": 7})
        pong = await next_frame(ws)
        await ws.disconnect()
        return error, pong

    assert run(scenario) == (expected, {"pong": 7})


def test_cancel_stops_the_pushes(market, place):
    _, bob = market

    async def scenario():
        ws = await connect(V1)
        await send(ws, sub("depth"))
        await next_frame(ws)
        await send(ws, {"symbol": "BTCUSDT", "topic": "depth", "event": "cancel"})
        await db(place)(bob, "buy", price="100", quantity="1")
        silent = await ws.receive_nothing(timeout=0.5)
        await ws.disconnect()
        return silent

    assert run(scenario) is True


def test_binary_subscription_gets_gzip_frames(market):
    async def scenario():
        ws = await connect(V1)
        await send(ws, sub("depth", binary="true"))
        frame = await next_frame(ws)
        await ws.disconnect()
        return frame

    frame = run(scenario)
    assert frame["gzip"]["topic"] == "depth" and frame["gzip"]["data"][0]["a"] == [["101", "0.75"]]


def test_v2_acknowledges_and_sends_one_object_per_frame(market):

    async def scenario():
        ws = await connect(V2)
        await send(ws, {"topic": "depth", "event": "sub", "params": {"symbol": "BTCUSDT"}})
        ack = await next_frame(ws)
        snapshot = await next_frame(ws)
        await send(ws, {"topic": "depth", "event": "sub", "params": {"symbol": "NOPE"}})
        error = await next_frame(ws)
        await send(ws, {"topic": "depth", "event": "sub", "params": {"symbol": "BTCUSDT,ETHBTC"}})
        comma = await next_frame(ws)
        await send(ws, {"topic": "trade", "event": "sub", "symbol": "BTCUSDT"})
        trade_ack = await next_frame(ws)
        trades = await next_frame(ws)
        await ws.disconnect()
        return ack, snapshot, error, comma, trade_ack, trades

    ack, snapshot, error, comma, trade_ack, trades = run(scenario)
    assert ack == {"topic": "depth", "event": "sub", "params": {"symbol": "BTCUSDT"}, "code": "0", "msg": "Success"}
    assert snapshot["topic"] == "depth" and snapshot["params"] == {"symbol": "BTCUSDT"}
    assert snapshot["data"]["a"] == [["101", "0.75"]] and snapshot["f"] is True
    assert error == {
        "topic": "depth",
        "event": "sub",
        "params": {"symbol": "NOPE"},
        "code": "-100011",
        "msg": "Parameter error!",
    }
    assert comma["code"] == "-100011"
    assert trade_ack["code"] == "0" and trades["data"]["p"] == "101"


def test_more_than_50_messages_a_second_are_refused_then_closed(btcusdt, org):
    async def scenario():
        ws = await connect(V1)
        for i in range(60):
            await send(ws, {"ping": i})
        frames = await frames_until(ws, lambda f: bool(f) and "closed" in f[-1])
        await ws.disconnect()
        return frames

    frames = run(scenario)
    assert [f["pong"] for f in frames[:50]] == list(range(50))
    assert frames[50]["code"] == "-10000" and "50" in frames[50]["desc"]
    assert frames[-1] == {"closed": 4029}


def test_silent_connection_is_closed(btcusdt, org, monkeypatch):
    monkeypatch.setattr(MarketSocket, "idle_timeout", 0.3)

    async def scenario():
        ws = await connect(V1)
        frames = await frames_until(ws, lambda f: bool(f) and "closed" in f[-1], timeout=3)
        await ws.disconnect()
        return frames

    error, closed = run(scenario)
    assert error["code"] == "-10000" and closed == {"closed": 4000}
