"""The organization event feed: the websocket (``/api/v2/org/ws``) and the REST long-poll (``events``).

The websocket scenario runs inside one event loop (channels-redis keeps its connections per loop);
domain calls go through ``database_sync_to_async`` in that loop and their after-commit delivery
publishes through the real channel layer.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connection

from apps.accounts.funding import deposit_simulate
from apps.core.signing import bhex_sign
from apps.events.models import OutboxEvent
from apps.trading.services import order_place
from apps.users.services import user_create
from broker.routing import websocket_urlpatterns

application = URLRouter(websocket_urlpatterns)
WANTED = ["org.userRegister", "org.userDepositNotice", "org.tradeMatch"]


# --- websocket helpers ------------------------------------------------------------------------------
async def connect(ip: str = "127.0.0.1") -> WebsocketCommunicator:
    ws = WebsocketCommunicator(application, "/api/v2/org/ws")
    ws.scope["client"] = (ip, 50000)  # read when the connection starts, below
    connected, _ = await ws.connect(timeout=5)
    assert connected
    return ws


def login_frame(api_key: Any, secret: str, *, stamp: int | None = None) -> dict[str, Any]:
    timestamp = str(stamp or int(time.time() * 1000))
    return {
        "op": "login",
        "args": {
            "api_key": api_key.key,
            "timestamp": timestamp,
            "signature": bhex_sign(secret, f"timestamp={timestamp}".encode()),
        },
    }


async def frame(ws: WebsocketCommunicator, timeout: float = 10) -> dict[str, Any]:
    while True:
        output = await ws.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return {"closed": output.get("code")}
        body = json.loads(output["text"])
        if "ping" not in body:  # the server's heartbeat
            return body


async def events(ws: WebsocketCommunicator, count: int) -> list[dict[str, Any]]:
    received = []
    while len(received) < count:
        body = await frame(ws)
        assert body.get("op") == "event", body
        received.append(body)
    return received


async def quiet(ws: WebsocketCommunicator, seconds: float = 1.0) -> None:
    """Nothing arrives within ``seconds`` (no duplicate, nothing extra); the socket stays open."""
    if not await ws.receive_nothing(timeout=seconds):
        raise AssertionError(f"unexpected frame {await ws.receive_output()!r}")


async def open_feed(org_key: Any, **subscribe: Any) -> WebsocketCommunicator:
    ws = await connect()
    await ws.send_json_to(login_frame(*org_key))
    assert (await frame(ws))["success"] is True
    await ws.send_json_to({"op": "subscribe", "args": {"types": WANTED, **subscribe}})
    ack = await frame(ws)
    assert ack["op"] == "subscribe" and ack["success"] is True, ack
    return ws


# --- the scenario of issue #7's "done means" ----------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_live_feed_then_resume_after_a_disconnect_with_exactly_the_missed_events(
    postgres, redis_service, org, org_key, traders, tokens
):
    alice, bob = traders
    counter = {"n": 0}

    def register() -> int:
        counter["n"] += 1
        return user_create(organization=org, email=f"feed{counter['n']}@example.com", password=None).uid

    def deposit() -> str:
        return str(deposit_simulate(user=alice, token_id="BTC", amount="0.25").pk)

    def trade() -> None:
        order_place(user=alice, symbol_id="BTCUSDT", side="sell", type="limit", price="100", quantity="1")
        order_place(user=bob, symbol_id="BTCUSDT", side="buy", type="limit", price="100", quantity="1")

    async def scenario() -> None:
        # 1. live: each event arrives as it happens
        ws = await open_feed(org_key)
        uid = await database_sync_to_async(register)()
        [registered] = await events(ws, 1)
        assert (registered["event_type"], registered["event"]["uid"]) == ("org.userRegister", str(uid))
        deposit_id = await database_sync_to_async(deposit)()
        [deposited] = await events(ws, 1)
        assert deposited["event_type"] == "org.userDepositNotice" and deposited["event"]["deposit_id"] == int(
            deposit_id
        )
        await database_sync_to_async(trade)()
        matched = await events(ws, 2)  # one per side: both users are of this organization
        assert {m["event_type"] for m in matched} == {"org.tradeMatch"}
        assert {m["event"]["side"] for m in matched} == {"buy", "sell"}
        assert all("match_order_id" not in m["event"] for m in matched)  # the counterparty is never named
        seen = [registered, deposited, *matched]
        ids = [e["event_id"] for e in seen]
        assert ids == sorted(ids)
        last_id = ids[-1]
        await ws.disconnect()

        # 2. disconnected: events happen and nobody listens
        await database_sync_to_async(register)()
        await database_sync_to_async(deposit)()
        await database_sync_to_async(trade)()
        await database_sync_to_async(register)()

        # 3. resume from the last id: exactly the missed ones, in order, then live again
        ws = await open_feed(org_key, from_id=last_id)
        missed = await events(ws, 5)
        assert [e["event_type"] for e in missed] == [
            "org.userRegister",
            "org.userDepositNotice",
            "org.tradeMatch",
            "org.tradeMatch",
            "org.userRegister",
        ]
        ids = [e["event_id"] for e in missed]
        assert ids == sorted(ids) and ids[0] > last_id and len(set(ids)) == 5
        await quiet(ws)
        uid = await database_sync_to_async(register)()
        [live] = await events(ws, 1)
        assert live["event"]["uid"] == str(uid) and live["event_id"] > ids[-1]
        await quiet(ws)
        await ws.disconnect()

        # the replay is what the outbox holds: every wanted event after last_id, none twice
        def stored() -> list[int]:
            rows = OutboxEvent.objects.filter(organization=org, org_seq__gt=last_id).order_by("org_seq")
            return [e.org_seq for e in rows if e.type in ("user.register", "deposit.credited", "trade.match")]

        assert await database_sync_to_async(stored)() == [*ids, live["event_id"]]

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_a_lost_live_message_is_fetched_from_the_table(postgres, redis_service, org, org_key, monkeypatch):
    """A live message that never arrives (a worker died after commit) still reaches the client."""
    from apps.events import delivery

    sent: list[Any] = []

    def drop_first(sends: list[Any], deliveries: list[int]) -> None:
        if not sent:
            sent.append(sends)  # lost on the way
            return
        original(sends, deliveries)

    original = delivery._fan_out
    monkeypatch.setattr(delivery, "_fan_out", drop_first)

    async def scenario() -> None:
        ws = await open_feed(org_key)
        await database_sync_to_async(user_create)(organization=org, email="a@example.com", password=None)
        await database_sync_to_async(user_create)(organization=org, email="b@example.com", password=None)
        received = await events(ws, 2)  # the second's number reveals the gap; the first is read back
        assert [e["event"]["email"] for e in received] == ["a@example.com", "b@example.com"]
        await quiet(ws)
        await ws.disconnect()

    async_to_sync(scenario)()


# --- refusals ---------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_websocket_login_refusals(org_key):
    api_key, secret = org_key

    async def scenario() -> None:
        ws = await connect()
        await ws.send_json_to({"op": "subscribe", "args": {}})
        assert (await frame(ws))["code"] == 1001  # log in first
        await ws.send_json_to(login_frame(api_key, "wrong secret"))
        assert await frame(ws) == {"op": "error", "code": 1009, "msg": "Signature for this request is not valid"}
        assert "closed" in await frame(ws)

        ws = await connect(ip="192.0.2.50")
        await ws.send_json_to(login_frame(api_key, secret))
        assert (await frame(ws))["code"] == 1005  # not on the key's IP whitelist
        assert "closed" in await frame(ws)

        ws = await connect()
        await ws.send_json_to(login_frame(api_key, secret))
        assert (await frame(ws))["success"] is True
        await ws.send_json_to({"op": "subscribe", "args": {"types": ["org.nope"]}})
        assert (await frame(ws))["code"] == 1101
        await ws.send_json_to({"op": "ping"})
        assert (await frame(ws))["op"] == "pong"
        await ws.send_to(text_data="not json")
        assert (await frame(ws))["code"] == 1101
        await ws.disconnect()

    async_to_sync(scenario)()


# --- REST long-poll -------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_rest_feed_pages_from_an_event_id(api, org):
    from apps.events.delivery import deliver

    for n in range(3):
        user_create(organization=org, email=f"u{n}@example.com", password=None)
    deliver(list(OutboxEvent.objects.values_list("pk", flat=True)))
    page = api.get("events", {"types": "org.userRegister", "limit": 2}).body
    assert [e["event"]["email"] for e in page["events"]] == ["u0@example.com", "u1@example.com"]
    rest = api.get("events", {"from_id": page["last_id"], "types": "org.userRegister"}).body
    assert [e["event"]["email"] for e in rest["events"]] == ["u2@example.com"]
    done = api.get("events", {"from_id": rest["last_id"]}).body
    assert done == {"events": [], "last_id": rest["last_id"]}
    bad = api.get("events", {"types": "org.nope"})
    assert (bad.status, bad.code) == (400, 1101)


@pytest.mark.django_db
def test_rest_feed_waits_then_answers_empty(api):
    started = time.monotonic()
    answer = api.get("events", {"wait": 1})
    assert answer.status == 200 and answer.body == {"events": [], "last_id": 0}
    assert time.monotonic() - started >= 1


@pytest.mark.django_db(transaction=True)
def test_rest_long_poll_returns_an_event_as_it_happens(api, org):
    def later() -> None:
        time.sleep(0.7)
        user_create(organization=org, email="late@example.com", password=None)  # delivered on commit
        connection.close()

    thread = threading.Thread(target=later)
    started = time.monotonic()
    thread.start()
    answer = api.get("events", {"wait": 10, "types": "org.userRegister"})
    thread.join()
    assert [e["event"]["email"] for e in answer.body["events"]] == ["late@example.com"]
    assert time.monotonic() - started < 8


@pytest.mark.django_db
def test_rest_feed_is_authenticated(client, org_key):
    from tests.orgapi.conftest import OrgClient

    answer = OrgClient(client, org_key[0], "wrong").get("events")
    assert (answer.status, answer.code) == (400, 1009)
