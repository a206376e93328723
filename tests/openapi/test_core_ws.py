"""apps/core/ws.py: the websocket base every surface builds on (rate limit, errors, heartbeat, gzip)."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from apps.core.ws import CLOSE_IDLE, CLOSE_RATE_LIMITED, JsonWebsocket, WsError

# Channels closes stale DB connections around each dispatched message.
pytestmark = pytest.mark.django_db


class EchoSocket(JsonWebsocket):
    error_codes = {**JsonWebsocket.error_codes, "invalid_json": (-1, "bad json")}

    async def handle(self, content: dict[str, Any]) -> None:
        if "ping" in content:
            await self.send_json({"pong": content["ping"]})
        elif content.get("zip"):
            await self.send_json({"zipped": True}, compress=True)
        elif content.get("boom"):
            raise RuntimeError("unexpected")
        elif content.get("refuse"):
            raise WsError(-7, "refused", close=content["refuse"] == "close", symbol="X")
        else:
            await self.send_json({"echo": content})


class PingingSocket(EchoSocket):
    ping_interval = 0.05
    idle_timeout = 0.3


def run(scenario: Any) -> Any:
    return async_to_sync(scenario)()


def test_echo_and_error_frames():
    async def scenario() -> list[Any]:
        ws = WebsocketCommunicator(EchoSocket.as_asgi(), "/ws")
        connected, _ = await ws.connect()
        assert connected
        out = []
        await ws.send_to(text_data='{"ping": 5}')
        out.append(await ws.receive_json_from())
        await ws.send_to(text_data="not json")
        out.append(await ws.receive_json_from())
        await ws.send_to(text_data="[1, 2]")
        out.append(await ws.receive_json_from())
        await ws.send_to(text_data='{"refuse": "keep"}')
        out.append(await ws.receive_json_from())
        await ws.send_to(text_data='{"a": 1.10}')
        out.append(await ws.receive_from())
        await ws.send_to(text_data='{"refuse": "close"}')
        out.append(await ws.receive_json_from())
        out.append(await ws.receive_output())
        await ws.disconnect()
        return out

    pong, bad_json, not_object, refused, echo, refused_close, closed = run(scenario)
    assert pong == {"pong": 5}
    assert bad_json == {"code": -1, "msg": "bad json"}
    assert not_object["code"] == "INVALID_REQUEST"
    assert refused == {"symbol": "X", "code": -7, "msg": "refused"}
    assert echo == '{"echo":{"a":"1.10"}}'  # decimals stay exact, rendered as strings
    assert refused_close["code"] == -7
    assert closed["type"] == "websocket.close"


def test_internal_error_answers_then_closes_so_the_client_reconnects():
    async def scenario() -> list[Any]:
        ws = WebsocketCommunicator(EchoSocket.as_asgi(), "/ws")
        connected, _ = await ws.connect()
        assert connected
        await ws.send_to(text_data='{"boom": 1}')
        out = [await ws.receive_json_from(), await ws.receive_output()]
        await ws.disconnect()
        return out

    internal, closed = run(scenario)
    assert internal["code"] == "INTERNAL_ERROR"
    assert closed == {"type": "websocket.close", "code": 4011}


def test_gzip_frames_both_ways():
    async def scenario() -> tuple[bytes, Any]:
        ws = WebsocketCommunicator(EchoSocket.as_asgi(), "/ws")
        await ws.connect()
        await ws.send_to(text_data='{"zip": true}')
        zipped = await ws.receive_from()
        await ws.send_to(bytes_data=gzip.compress(b'{"ping": 9}'))
        pong = await ws.receive_json_from()
        await ws.disconnect()
        return zipped, pong

    zipped, pong = run(scenario)
    assert isinstance(zipped, bytes)
    assert json.loads(gzip.decompress(zipped)) == {"zipped": True}
    assert pong == {"pong": 9}


def test_more_than_50_messages_in_a_second_get_an_error_then_close():
    async def scenario() -> tuple[int, Any, Any]:
        ws = WebsocketCommunicator(EchoSocket.as_asgi(), "/ws")
        await ws.connect()
        for i in range(51):
            await ws.send_to(text_data=json.dumps({"ping": i}))
        answered = 0
        while True:
            frame = json.loads(await ws.receive_from())
            if "pong" not in frame:
                break
            answered += 1
        closed = await ws.receive_output()
        await ws.disconnect()
        return answered, frame, closed

    answered, error, closed = run(scenario)
    assert answered == 50
    assert error["code"] == "RATE_LIMITED"
    assert closed == {"type": "websocket.close", "code": CLOSE_RATE_LIMITED}


def test_server_pings_then_closes_a_silent_connection():
    async def scenario() -> tuple[Any, Any, Any]:
        ws = WebsocketCommunicator(PingingSocket.as_asgi(), "/ws")
        await ws.connect()
        ping = await ws.receive_json_from(timeout=1)
        frames = []
        while True:
            output = await ws.receive_output(timeout=2)
            if output["type"] == "websocket.close":
                break
            frames.append(json.loads(output["text"]))
        await ws.disconnect()
        return ping, frames, output

    ping, frames, closed = run(scenario)
    assert isinstance(ping["ping"], int)
    assert frames[-1]["code"] == "TIMEOUT"
    assert closed["code"] == CLOSE_IDLE


def test_client_messages_keep_the_connection_alive():
    async def scenario() -> bool:
        ws = WebsocketCommunicator(PingingSocket.as_asgi(), "/ws")
        await ws.connect()
        for i in range(8):  # 0.4 s in all, longer than idle_timeout, never silent for 0.3 s
            await ws.send_to(text_data=json.dumps({"ping": i}))
            await asyncio.sleep(0.05)
        alive = True
        while not await ws.receive_nothing(timeout=0.01):
            frame = await ws.receive_output()
            alive = alive and frame["type"] != "websocket.close"
        await ws.disconnect()
        return alive

    assert run(scenario)


class RecordingSocket(EchoSocket):
    async def open(self) -> None:
        await self.join("batch-test")

    async def market_message(self, message: dict[str, Any]) -> None:
        await self.send_json({"market": message["n"]})

    async def event_message(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": message["n"]})


def test_a_batch_message_is_handled_as_its_inner_messages_in_order():
    from channels.layers import get_channel_layer

    async def scenario() -> list[Any]:
        ws = WebsocketCommunicator(RecordingSocket.as_asgi(), "/ws")
        connected, _ = await ws.connect()
        assert connected
        inner = [
            {"type": "market.message", "n": 1},
            {"type": "unknown.message", "n": 2},  # no handler: skipped, the rest still arrive
            {"type": "event.message", "n": 3},
            {"type": "market.message", "n": 4},
        ]
        await get_channel_layer().group_send("batch-test", {"type": "batch.message", "messages": inner})
        out = [await ws.receive_json_from() for _ in range(3)]
        assert await ws.receive_nothing(timeout=0.1)
        await ws.disconnect()
        return out

    assert run(scenario) == [{"market": 1}, {"event": 3}, {"market": 4}]
