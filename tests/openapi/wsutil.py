"""Helpers for the OpenAPI websocket tests.

Everything one test does on a websocket runs inside one ``async_to_sync`` call, i.e. one event loop:
channels-redis keeps its connections and receive buffers per event loop, so a message published in
one loop and awaited in another can be lost. Domain calls (placing orders …) run through
``database_sync_to_async`` inside that same loop; their after-commit fan-out comes back to it.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from broker.routing import websocket_urlpatterns

application = URLRouter(websocket_urlpatterns)


def run(scenario: Callable[[], Any]) -> Any:
    return async_to_sync(scenario)()


def db(function: Callable[..., Any]) -> Callable[..., Any]:
    return database_sync_to_async(function)


async def connect(path: str) -> WebsocketCommunicator:
    ws = WebsocketCommunicator(application, path)
    connected, _ = await ws.connect(timeout=5)
    assert connected
    return ws


def decode(output: dict[str, Any]) -> Any:
    if output["type"] == "websocket.close":
        return {"closed": output.get("code")}
    if output.get("bytes") is not None:
        return {"gzip": json.loads(gzip.decompress(output["bytes"]))}
    return json.loads(output["text"])


async def frames_until(ws: WebsocketCommunicator, done: Callable[[list[Any]], bool], timeout: float = 5) -> list[Any]:
    """Frames received until ``done(frames)`` holds (or ``timeout`` seconds pass: then fails)."""
    frames: list[Any] = []
    deadline = time.monotonic() + timeout
    while not done(frames):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out; got {frames!r}")
        try:
            frames.append(decode(await ws.receive_output(timeout=remaining)))
        except TimeoutError:
            raise AssertionError(f"timed out; got {frames!r}") from None
    return frames


async def next_frame(ws: WebsocketCommunicator, timeout: float = 5) -> Any:
    return decode(await ws.receive_output(timeout=timeout))


async def send(ws: WebsocketCommunicator, content: Any) -> None:
    await ws.send_to(text_data=content if isinstance(content, str) else json.dumps(content))
