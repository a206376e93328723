"""Fan-out: one message per group per batch (apps.core.ws "Batches"); market data through broadcast
groups (apps.core.broadcast: Redis pub/sub with workers, the in-memory channel layer without).

Each test runs in one event loop (channels-redis keeps receive buffers per loop); the publishing
code runs through ``database_sync_to_async`` in that loop, as in tests/openapi/wsutil.py.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from apps.core.ws import JsonWebsocket
from apps.events.delivery import deliver, user_group
from apps.events.models import OutboxEvent
from apps.events.services import event_emit
from apps.market.services import market_group, market_publish

pytestmark = pytest.mark.django_db(transaction=True)


async def _listen(group: str) -> str:
    channel = await get_channel_layer().new_channel()
    await get_channel_layer().group_add(group, channel)
    return channel


async def _drain(channel: str) -> list[dict[str, Any]]:
    messages = []
    while True:
        try:
            messages.append(await asyncio.wait_for(get_channel_layer().receive(channel), timeout=0.3))
        except TimeoutError:
            return messages


def test_a_matching_batch_is_published_once_as_one_message_in_order(monkeypatch):
    from apps.market import services

    published: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(services, "broadcast_publish", lambda name, message: published.append((name, message)))
    trades = [("trade", {"id": 1}), ("trade", {"id": 2}), ("depth", {"seq_id": 9})]
    market_publish(symbol_id="BTCUSDT", messages=trades)
    [(name, message)] = published
    assert name == market_group("BTCUSDT")
    assert message["type"] == "batch.message"
    assert [(m["type"], m["topic"], m["data"]) for m in message["messages"]] == [
        ("market.message", "trade", {"id": 1}),
        ("market.message", "trade", {"id": 2}),
        ("market.message", "depth", {"seq_id": 9}),
    ]


class MarketRecorder(JsonWebsocket):
    async def open(self) -> None:
        await self.join_broadcast(market_group("BTCUSDT"))

    async def handle(self, content: dict[str, Any]) -> None:
        if content.get("leave"):
            await self.leave_broadcast(market_group("BTCUSDT"))
            await self.send_json({"left": True})

    async def market_message(self, message: dict[str, Any]) -> None:
        await self.send_json({"topic": message["topic"], "data": message["data"]})


def test_every_subscriber_of_a_process_gets_the_batch_and_a_leaver_stops_getting_it():
    trades = [("trade", {"id": 1}), ("depth", {"seq_id": 9})]

    async def scenario() -> tuple[list[Any], list[Any], bool]:
        sockets = [WebsocketCommunicator(MarketRecorder.as_asgi(), "/ws") for _ in range(3)]
        for ws in sockets:
            assert (await ws.connect())[0]
        await database_sync_to_async(market_publish)(symbol_id="BTCUSDT", messages=trades)
        received = [[await ws.receive_json_from(timeout=3) for _ in trades] for ws in sockets]
        await sockets[0].send_json_to({"leave": True})
        assert await sockets[0].receive_json_from() == {"left": True}
        await database_sync_to_async(market_publish)(symbol_id="BTCUSDT", messages=trades[:1])
        after = [await ws.receive_json_from(timeout=3) for ws in sockets[1:]]
        quiet = await sockets[0].receive_nothing(timeout=0.3)
        for ws in sockets:
            await ws.disconnect()
        return received, after, quiet

    received, after, quiet = async_to_sync(scenario)()
    expected = [{"topic": "trade", "data": {"id": 1}}, {"topic": "depth", "data": {"seq_id": 9}}]
    assert received == [expected, expected, expected]
    assert after == [expected[0], expected[0]]
    assert quiet


def test_one_delivery_sends_each_user_one_message_with_their_events_in_order(org, make_user):
    alice, bob = make_user(), make_user()
    ids = [
        event_emit(type="order.update", organization_id=org.pk, user=user, payload={"n": n}).pk
        for n, user in enumerate([alice, bob, alice, alice])
    ]
    # Deliver again as if for the first time (event_emit's own delivery ran at its commit).
    OutboxEvent.objects.filter(pk__in=ids).update(delivered_at=None, org_seq=None)

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        alice_channel = await _listen(user_group(alice.uid))
        bob_channel = await _listen(user_group(bob.uid))
        delivered = await database_sync_to_async(deliver)(ids)
        return await _drain(alice_channel), await _drain(bob_channel), delivered

    alice_messages, bob_messages, delivered = async_to_sync(scenario)()
    assert delivered == 4
    [alice_message] = alice_messages
    [bob_message] = bob_messages
    assert alice_message["type"] == "batch.message"
    assert [m["data"]["n"] for m in alice_message["messages"]] == [0, 2, 3]
    assert bob_message["type"] == "event.message" and bob_message["data"] == {"n": 1}


class MarketOnlyRecorder(MarketRecorder):
    uses_channel_layer = False

    async def handle(self, content: dict[str, Any]) -> None:
        if content.get("drop"):
            from apps.core.broadcast import hub

            await hub().pubsub.connection.disconnect()  # as when Redis drops the subscription
            await self.send_json({"dropped": True})
        elif content.get("layer"):
            await self.send_json({"channel_layer": self.channel_layer is not None})


def test_with_redis_a_market_only_socket_has_no_channel_and_survives_a_dropped_subscription(redis_service):
    trades = [("trade", {"id": 1})]

    async def scenario() -> tuple[Any, Any]:
        ws = WebsocketCommunicator(MarketOnlyRecorder.as_asgi(), "/ws")
        assert (await ws.connect())[0]
        await ws.send_json_to({"layer": True})
        layer = await ws.receive_json_from()
        await ws.send_json_to({"drop": True})
        assert await ws.receive_json_from() == {"dropped": True}
        # The hub resubscribes within about half a second; publish until a push gets through.
        pushed = None
        for _ in range(20):
            await database_sync_to_async(market_publish)(symbol_id="BTCUSDT", messages=trades)
            if not await ws.receive_nothing(timeout=0.5):  # (a receive timeout would end the app)
                pushed = await ws.receive_json_from()
                break
        await ws.disconnect()
        return layer, pushed

    layer, pushed = async_to_sync(scenario)()
    assert layer == {"channel_layer": False}
    assert pushed == {"topic": "trade", "data": {"id": 1}}


# --- the hub's hand-out (apps.core.broadcast) ---------------------------------------------------


def _depth(seq: int) -> dict[str, Any]:
    return {"type": "market.message", "topic": "depth", "symbol": "BTCUSDT", "data": {"seq": seq}, "snapshot": True}


def _trade(n: int, symbol: str = "BTCUSDT") -> dict[str, Any]:
    return {"type": "market.message", "topic": "trade", "symbol": symbol, "data": {"id": n}}


def test_batches_that_arrive_together_merge_in_order_and_a_later_book_replaces_an_earlier_one():
    from apps.core.broadcast import merge_batches

    first = {"type": "batch.message", "messages": [_trade(1), _depth(1)]}
    second = {"type": "batch.message", "messages": [_trade(2), _trade(1, "ETHBTC"), _depth(2)]}
    lone = _trade(3)  # a message published on its own, not as a batch
    merged = merge_batches([first, second, lone])
    assert merged["type"] == "batch.message"
    # every trade kept, in order; only the last depth snapshot of BTCUSDT survives
    assert merged["messages"] == [_trade(1), _trade(2), _trade(1, "ETHBTC"), _depth(2), _trade(3)]
    assert merge_batches([first]) is first  # nothing to merge: handed out as it came


class HandOutRecorder(JsonWebsocket):
    """Records itself so the test can push to it as the hub does; a ``slow`` request keeps it busy."""

    uses_channel_layer = False
    instances: list[HandOutRecorder] = []
    release: asyncio.Event

    async def open(self) -> None:
        HandOutRecorder.instances.append(self)

    async def handle(self, content: dict[str, Any]) -> None:
        if content.get("slow"):
            await HandOutRecorder.release.wait()
        await self.send_json({"handled": content})

    async def market_message(self, message: dict[str, Any]) -> None:
        await self.send_json({"pushed": message["data"]})


def test_a_push_is_sent_at_once_to_an_idle_socket_and_waits_its_turn_behind_a_busy_one():
    async def scenario() -> tuple[Any, ...]:
        HandOutRecorder.instances = []
        HandOutRecorder.release = asyncio.Event()
        ws = WebsocketCommunicator(HandOutRecorder.as_asgi(), "/ws")
        assert (await ws.connect())[0]
        [socket] = HandOutRecorder.instances
        # idle: sent within the hub's own call, nothing queued
        await socket.broadcast_push({"type": "batch.message", "messages": [_trade(1)]})
        idle = (socket.broadcast_backlog, await ws.receive_json_from(timeout=1))
        # busy with a request: the push is queued and goes out after the request's answer
        await ws.send_json_to({"slow": True})
        while not socket.turn.locked():
            await asyncio.sleep(0.01)
        await socket.broadcast_push({"type": "batch.message", "messages": [_trade(2)]})
        await socket.broadcast_push({"type": "batch.message", "messages": [_trade(3)]})
        busy = socket.broadcast_backlog
        nothing_yet = await ws.receive_nothing(timeout=0.2)
        HandOutRecorder.release.set()
        after = [await ws.receive_json_from(timeout=1) for _ in range(3)]
        # while the backlog drains, a further push joins the queue rather than overtaking it
        left = socket.broadcast_backlog
        await ws.disconnect()
        return idle, busy, nothing_yet, after, left

    idle, busy, nothing_yet, after, left = async_to_sync(scenario)()
    assert idle == (0, {"pushed": {"id": 1}})
    assert busy == 2 and nothing_yet
    assert after == [{"handled": {"slow": True}}, {"pushed": {"id": 2}}, {"pushed": {"id": 3}}]
    assert left == 0


@pytest.fixture
def market(traders, place):
    """A book with one trade already done: 0.25 @ 101 (as in tests/openapi/test_ws_market.py)."""
    alice, bob = traders
    place(alice, "sell", price="101", quantity="1")
    place(bob, "buy", price="101", quantity="0.25")
    return alice, bob


def test_sockets_of_a_process_share_the_encoded_frame_of_a_push_but_not_across_dialects(market, place, redis_service):
    from tests.openapi.wsutil import connect, db, next_frame, send

    _, bob = market
    request = {"symbol": "BTCUSDT", "topic": "trade", "event": "sub", "params": {"binary": False}}

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        v1 = [await connect("/openapi/quote/ws/v1") for _ in range(2)]
        v2 = await connect("/openapi/quote/ws/v2")
        for ws in [*v1, v2]:
            await send(ws, request)
            await next_frame(ws)  # the snapshot (v2: its acknowledgement first, then the snapshot)
        await next_frame(v2)
        await db(place)(bob, "buy", price="101", quantity="0.5")
        outputs = [await ws.receive_output(timeout=5) for ws in v1]
        v2_output = await v2.receive_output(timeout=5)
        for ws in [*v1, v2]:
            await ws.disconnect()
        return outputs, v2_output

    (a, b), v2_output = async_to_sync(scenario)()
    assert a["text"] == b["text"] and a["text"] is b["text"]  # encoded once, sent to both
    pushed = json.loads(a["text"])
    assert pushed["topic"] == "trade" and pushed["f"] is False and pushed["data"][0]["q"] == "0.5"
    v2_frame = json.loads(v2_output["text"])
    assert v2_output["text"] != a["text"] and isinstance(v2_frame["data"], dict)  # v2: one object per frame
