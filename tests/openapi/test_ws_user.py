"""User data stream /openapi/ws/<listenKey>: executionReport, outboundAccountInfo, heartbeat, refusals."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer

from apps.accounts import funding
from apps.apikeys.models import ApiKey
from apps.apikeys.services import api_key_update
from apps.openapi.consumers import UserStreamSocket
from apps.openapi.listen_keys import listen_key_create
from apps.trading.services import order_cancel
from tests.openapi.wsutil import connect, db, frames_until, next_frame, run, send

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stream(bhex) -> str:
    response = bhex.post("/openapi/v1/userDataStream")
    assert response.status_code == 200
    return response.json()["listenKey"]


def events(frames: list, kind: str) -> list:
    return [item for frame in frames if isinstance(frame, list) for item in frame if item.get("e") == kind]


def has(kind: str, count: int = 1, **match):
    def done(frames: list) -> bool:
        found = [e for e in events(frames, kind) if all(e.get(k) == v for k, v in match.items())]
        return len(found) >= count

    return done


def test_unknown_listen_key_is_refused(org):
    async def scenario():
        ws = await connect("/openapi/ws/" + "x" * 64)
        frames = await frames_until(ws, lambda f: bool(f) and "closed" in f[-1])
        await ws.disconnect()
        return frames

    error, closed = run(scenario)
    assert error == {"code": -1125, "msg": "This listenKey does not exist."}
    assert closed == {"closed": 4008}


def test_listen_key_of_a_disabled_api_key_is_refused(bhex, stream):
    api_key_update(api_key=ApiKey.objects.get(key=bhex.key), enabled=False)

    async def scenario():
        ws = await connect(f"/openapi/ws/{stream}")
        frame = await next_frame(ws)
        await ws.disconnect()
        return frame

    assert run(scenario)["code"] == -1125


def test_order_lifecycle_reports_and_balance_updates(bhex, stream, trader, make_user, fund, place):
    seller = make_user()
    fund(seller, "BTC", "1")

    async def scenario():
        ws = await connect(f"/openapi/ws/{stream}")
        order = await db(place)(trader, "buy", price="100", quantity="0.5", client_order_id="ws-1")
        placed = await frames_until(ws, lambda f: has("executionReport", X="NEW")(f) and has("outboundAccountInfo")(f))
        await db(place)(seller, "sell", price="100", quantity="0.2")
        filled = await frames_until(
            ws, lambda f: has("executionReport", X="PARTIALLY_FILLED")(f) and has("outboundAccountInfo")(f)
        )
        await db(order_cancel)(user=trader, order_id=order.pk)
        canceled = await frames_until(ws, has("executionReport", X="CANCELED"))
        await ws.disconnect()
        return order, placed, filled, canceled

    order, placed, filled, canceled = run(scenario)
    assert all(isinstance(frame, list) for frame in placed + filled + canceled)
    (new,) = events(placed, "executionReport")
    assert set(new) == {
        "e", "E", "s", "c", "S", "o", "f", "q", "p", "X", "i", "l", "z", "L", "n", "N", "u", "w", "m", "O", "Z"
    }  # fmt: skip
    assert new | {"E": 0, "O": 0} == {
        "e": "executionReport",
        "E": 0,
        "s": "BTCUSDT",
        "c": "ws-1",
        "S": "BUY",
        "o": "LIMIT",
        "f": "GTC",
        "q": "0.5",
        "p": "100",
        "X": "NEW",
        "i": order.pk,
        "l": "0",
        "z": "0",
        "L": "0",
        "n": "0",
        "N": None,
        "u": True,
        "w": True,
        "m": False,
        "O": 0,
        "Z": "0",
    }
    account = events(placed, "outboundAccountInfo")[-1]
    assert set(account) == {"e", "E", "T", "W", "D", "B"}
    assert (account["T"], account["W"], account["D"]) == (True, True, True)
    assert {"a": "USDT", "f": "99950", "l": "50"} in account["B"]

    (fill,) = events(filled, "executionReport")
    assert (fill["X"], fill["l"], fill["L"], fill["z"], fill["Z"]) == ("PARTIALLY_FILLED", "0.2", "100", "0.2", "20")
    assert (fill["n"], fill["N"], fill["m"], fill["w"]) == ("0.0002", "BTC", True, True)
    balances = {b["a"]: b for e in events(filled, "outboundAccountInfo") for b in e["B"]}
    assert balances["BTC"] == {"a": "BTC", "f": "10.1998", "l": "0"}
    assert balances["USDT"]["l"] == "30"

    done = events(canceled, "executionReport")[-1]
    assert (done["X"], done["z"], done["w"]) == ("CANCELED", "0.2", False)


def test_deposit_sends_an_account_update(bhex, stream, trader):
    async def scenario():
        ws = await connect(f"/openapi/ws/{stream}")
        await db(funding.deposit_simulate)(user=trader, token_id="BTC", amount="0.5", confirmations=2, txid="t-9")
        frames = await frames_until(ws, has("outboundAccountInfo"))
        await ws.disconnect()
        return frames

    (update,) = events(run(scenario), "outboundAccountInfo")
    assert update["B"] == [{"a": "BTC", "f": "10.5", "l": "0"}]


def test_server_pings_every_interval_and_answers_client_pings(bhex, stream, monkeypatch):
    monkeypatch.setattr(UserStreamSocket, "ping_interval", 0.1)

    async def scenario():
        ws = await connect(f"/openapi/ws/{stream}")
        ping = await next_frame(ws, timeout=2)
        await send(ws, {"pong": ping["ping"]})
        await send(ws, {"ping": 42})
        await frames_until(ws, lambda f: {"pong": 42} in f)
        await send(ws, {"subscribe": "everything"})
        error = await frames_until(ws, lambda f: any("code" in x for x in f if isinstance(x, dict)))
        await ws.disconnect()
        return ping, error

    ping, error = run(scenario)
    assert set(ping) == {"ping"} and isinstance(ping["ping"], int)
    assert next(x for x in error if "code" in x)["code"] == -1000


def test_deleting_the_listen_key_closes_its_streams(bhex, stream):
    async def scenario():
        ws = await connect(f"/openapi/ws/{stream}")
        assert await ws.receive_nothing(timeout=0.2)
        response = await db(bhex.delete)("/openapi/v1/userDataStream", {"listenKey": stream})
        assert response.status_code == 200
        frames = await frames_until(ws, lambda f: bool(f) and "closed" in f[-1])
        await ws.disconnect()
        return frames

    error, closed = run(scenario)
    assert error["code"] == -1125 and closed == {"closed": 4008}


def test_expired_listen_key_closes_the_stream_at_the_next_ping(bhex, stream, monkeypatch):
    from django.core.cache import cache

    monkeypatch.setattr(UserStreamSocket, "ping_interval", 0.1)

    async def scenario():
        ws = await connect(f"/openapi/ws/{stream}")
        await next_frame(ws, timeout=2)  # a ping: the key is valid
        await db(cache.delete)(f"openapi:listenkey:{stream}")  # as if its 60 minutes ran out
        frames = await frames_until(ws, lambda f: bool(f) and "closed" in f[-1])
        await ws.disconnect()
        return frames

    frames = run(scenario)
    assert frames[-2]["code"] == -1125 and frames[-1] == {"closed": 4008}


def test_user_stream_message_rate_limit(bhex, stream):
    async def scenario():
        ws = await connect(f"/openapi/ws/{stream}")
        for i in range(55):
            await send(ws, {"ping": i})
        frames = await frames_until(ws, lambda f: bool(f) and "closed" in f[-1])
        await ws.disconnect()
        return frames

    frames = run(scenario)
    assert len([f for f in frames if "pong" in f]) == 50
    assert frames[-2]["code"] == -1003 and frames[-1] == {"closed": 4029}


def test_user_stream_over_channels_redis(redis_service, postgres, bhex, trader, place):
    """The services mode: delivery through channels-redis, received within one event loop."""
    assert type(get_channel_layer()).__name__ == "RedisChannelLayer"
    listen_key = listen_key_create(api_key=ApiKey.objects.get(key=bhex.key))

    async def scenario():
        ws = await connect(f"/openapi/ws/{listen_key}")
        await db(place)(trader, "sell", price="200", quantity="1", client_order_id="redis-1")
        frames = await frames_until(
            ws, lambda f: has("executionReport", c="redis-1")(f) and has("outboundAccountInfo")(f)
        )
        await ws.disconnect()
        return frames

    frames = run(scenario)
    assert events(frames, "executionReport")[0]["X"] == "NEW"
    assert {"a": "BTC", "f": "9", "l": "1"} in events(frames, "outboundAccountInfo")[-1]["B"]
