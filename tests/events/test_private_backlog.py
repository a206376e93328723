"""A daphne process running behind loses no private message (channels-redis, docs/benchmarks.md
"System load" 7.).

Every consumer of one process shares one Redis key for its channel-layer messages; channels-redis
drops a ``group_send`` silently once that key holds ``capacity`` messages. Here 40 user streams of
one process are kept from reading (the event loop is blocked, as a process starved of CPU is) while
deliveries send 1,500 messages to them; once the loop runs again every stream must get all of its
own, in order. With the old setting (one capacity of 1,000 for the key) about 500 were lost.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from apps.core.ws import JsonWebsocket
from apps.events.delivery import _send_all, user_group

USERS = 40
DELIVERIES = 38  # 40 × 38 = 1,520 group messages, all waiting in the process's one Redis key


class UserRecorder(JsonWebsocket):
    """A user stream reduced to what matters here: its group, and one frame per event."""

    async def open(self) -> None:
        await self.join(user_group(int(self.scope["path"].rsplit("/", 1)[1])))

    async def event_message(self, message: dict[str, Any]) -> None:
        await self.send_json({"id": message["id"]})


def test_a_backlog_larger_than_the_old_capacity_reaches_every_user_stream(redis_service: str) -> None:
    layer = get_channel_layer()
    assert type(layer).__name__ == "RedisChannelLayer"
    assert layer.get_capacity("specific.abc!def") > USERS * DELIVERIES > 1000

    def deliveries() -> None:
        # what apps.events.delivery does after each delivery's commit, from a worker (another loop)
        for n in range(DELIVERIES):
            message = {"type": "event.message", "id": n, "event": "x", "data": {}}
            sends = [(user_group(uid), message) for uid in range(USERS)]
            async_to_sync(_send_all)(layer, sends)

    async def scenario() -> dict[int, list[int]]:
        sockets = [WebsocketCommunicator(UserRecorder.as_asgi(), f"/ws/{uid}") for uid in range(USERS)]
        for ws in sockets:
            assert (await ws.connect())[0]
        sender = threading.Thread(target=deliveries)
        sender.start()
        sender.join()  # blocks this loop: no consumer reads until every message is queued in Redis
        received: dict[int, list[int]] = {}
        for uid, ws in enumerate(sockets):
            ids = received.setdefault(uid, [])
            while len(ids) < DELIVERIES:
                try:
                    ids.append((await ws.receive_json_from(timeout=3))["id"])
                except TimeoutError:
                    break
        await asyncio.gather(*(ws.disconnect() for ws in sockets))
        return received

    received = async_to_sync(scenario)()
    assert {uid: ids for uid, ids in received.items() if ids != list(range(DELIVERIES))} == {}
