"""Broadcast groups: one-to-many websocket pushes (market data) fanned out once per process.

A channel-layer group delivers a copy of every message to every member's own channel, and each
consumer then reads it back from Redis with a round trip of its own. With hundreds of market
subscribers in one daphne process that is hundreds of round trips per matching batch, done one at a
time by channels-redis' receive loop: under load the pushes fell tens of seconds behind
(bench/load.py, docs/benchmarks.md). A broadcast group instead costs one Redis ``PUBLISH`` per
message: each daphne process holds one ``SUBSCRIBE`` per group that any of its consumers joined
(``BroadcastHub``, one per event loop) and hands the message to those consumers in memory, each
in turn with its own client frames (``JsonWebsocket.broadcast_push``: an idle consumer handles it
at once in the hub's task, a busy one queues it).

Messages that arrived while the hub was still handing out an earlier one are handed out together:
one batch per group, their messages in order, where a message marked ``"snapshot": true`` is
dropped if a later one of the same type, symbol and topic follows (a depth push is a full book).
So a process that falls behind sends fewer, larger frames instead of falling further behind, and
a process that keeps up pays no waiting at all (no timer).

The message is what ``JsonWebsocket.batch_message`` takes (``{"type": "batch.message", "messages":
[...]}``), JSON-encoded. Redis pub/sub keeps nothing for a subscriber that is away, so a process
that loses its Redis connection misses what is published until it has subscribed again (it
retries every half second); market data tolerates that (every depth push is a full snapshot), the
private channels do not use it (they stay on the channel layer, fed from the outbox).

Without Redis (the embedded mode) a broadcast group is an ordinary channel-layer group of the
in-memory layer, in the one process there is.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from typing import Any, Protocol

from asgiref.sync import async_to_sync
from django.conf import settings

logger = logging.getLogger(__name__)


class Member(Protocol):
    async def broadcast_push(self, message: dict[str, Any]) -> None: ...


DRAIN_LIMIT = 200  # messages read before handing out what has arrived
YIELD_EVERY = 64  # members served before letting the process's other tasks run


def _superseded_key(message: dict[str, Any]) -> tuple[Any, ...] | None:
    if not message.get("snapshot"):
        return None
    return message.get("type"), message.get("symbol"), message.get("topic")


def merge_batches(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """Broadcast messages of one group that arrived together, as one batch (see the module doc)."""
    if len(payloads) == 1:
        return payloads[0]
    messages: list[dict[str, Any]] = []
    for payload in payloads:
        messages.extend(payload.get("messages") or [] if payload.get("type") == "batch.message" else [payload])
    last: dict[tuple[Any, ...], int] = {}
    for index, message in enumerate(messages):
        key = _superseded_key(message)
        if key is not None:
            last[key] = index
    kept = [m for i, m in enumerate(messages) if (k := _superseded_key(m)) is None or last[k] == i]
    return {"type": "batch.message", "messages": kept}


def uses_pubsub() -> bool:
    return bool(settings.REDIS_URL)


def _redis_channel(name: str) -> str:
    return f"{settings.CHANNEL_PREFIX}:broadcast:{name}"


_publisher: Any = None


def broadcast_publish(name: str, message: dict[str, Any]) -> None:
    """Send ``message`` to every member of broadcast group ``name`` (from synchronous code)."""
    global _publisher
    if not uses_pubsub():
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(name, message)
        return
    if _publisher is None:
        import redis

        _publisher = redis.Redis.from_url(settings.REDIS_URL)
    _publisher.publish(_redis_channel(name), json.dumps(message, separators=(",", ":")))


class BroadcastHub:
    """This event loop's subscriptions: group name → the local consumers that joined it."""

    def __init__(self) -> None:
        import redis.asyncio

        self.redis = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.members: dict[str, set[Member]] = {}
        self.task: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()

    async def add(self, name: str, member: Member) -> None:
        members = self.members.setdefault(name, set())
        first = not members
        members.add(member)  # before the await: consumers joining meanwhile do not subscribe again
        if first:
            try:
                async with self.lock:  # one SUBSCRIBE at a time on the subscription's connection
                    await self.pubsub.subscribe(_redis_channel(name))
            except Exception:
                members.discard(member)
                if members:  # others joined meanwhile: they need the subscription that failed
                    await self._resubscribe()
                else:
                    del self.members[name]
                raise
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._listen())

    async def discard(self, name: str, member: Member) -> None:
        members = self.members.get(name)
        if not members or member not in members:
            return
        members.discard(member)
        if not members:
            del self.members[name]
            try:
                async with self.lock:
                    await self.pubsub.unsubscribe(_redis_channel(name))
            except Exception:  # a dropped connection forgot it anyway; _listen resubscribes only members
                logger.warning("broadcast unsubscribe of %s failed", name, exc_info=True)

    async def _listen(self) -> None:
        prefix = _redis_channel("")
        while self.members:
            arrived: list[Any] = []
            try:
                message = await self.pubsub.get_message(timeout=1.0)
                # and whatever else is already here: handed out together
                while message is not None and len(arrived) < DRAIN_LIMIT:
                    arrived.append(message)
                    message = await self.pubsub.get_message(timeout=0)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("broadcast subscription lost; resubscribing", exc_info=True)
                await asyncio.sleep(0.5)
                await self._resubscribe()
                if not arrived:
                    continue
            by_group: dict[str, list[dict[str, Any]]] = {}
            for message in arrived:
                if message.get("type") == "message":
                    name = message["channel"].decode()[len(prefix) :]
                    by_group.setdefault(name, []).append(json.loads(message["data"]))
            for name, payloads in by_group.items():
                await self._hand_out(name, merge_batches(payloads))

    async def _hand_out(self, name: str, payload: dict[str, Any]) -> None:
        for count, member in enumerate(list(self.members.get(name, ())), start=1):
            await member.broadcast_push(payload)  # at once if idle, else in turn (apps.core.ws)
            if count % YIELD_EVERY == 0:
                await asyncio.sleep(0)

    async def _resubscribe(self) -> None:
        """A new subscription on a new connection; the broken one is left to be collected (closing it
        can wait on the very connection that failed)."""
        try:
            async with self.lock:
                self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                if self.members:
                    await asyncio.wait_for(
                        self.pubsub.subscribe(*(_redis_channel(name) for name in self.members)), timeout=5
                    )
        except Exception:
            logger.warning("broadcast resubscribe failed; retrying", exc_info=True)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BroadcastHub] = weakref.WeakKeyDictionary()


def hub() -> BroadcastHub:
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = BroadcastHub()
    return found
