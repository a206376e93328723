"""The base of every surface's websocket consumer (DESIGN.md §11 "Websockets of every surface").

``JsonWebsocket`` is an ``AsyncWebsocketConsumer`` that gives each surface the same rules, so a
surface only writes what its spec says about topics and frames:

* **Message rate**: at most ``max_messages_per_second`` (50) client frames per connection in any
  one-second window; the frame over the limit is answered with the surface's error frame, then the
  connection is closed (code 4029).
* **Clear errors**: a frame that is not JSON, not an object, or that a handler refuses gets an error
  frame built by ``error_frame`` (each spec has its own shape). Handlers raise ``WsError``; anything
  unexpected is logged and answered with the ``internal`` error instead of killing the socket.
* **Heartbeat bookkeeping**: every client frame marks the connection alive (``mark_alive``). With
  ``ping_interval`` set, ``send_ping()`` sends ``server_ping()`` every that many seconds (override
  ``send_ping`` to re-validate a session on the way); with ``idle_timeout``
  set, a connection silent for longer is closed (after the ``timeout`` error frame). A connection is
  closed after ``max_lifetime`` seconds too, where a spec limits it.
* **gzip / binary frames**: ``send_json(..., compress=True)`` (or ``self.compress = True`` for the
  whole connection) sends the JSON gzip-compressed in a binary frame, as the BHEX ``binary`` and
  BGE ``zip`` options ask. Client frames may be text or (UTF-8, optionally gzip) binary.
* **Groups** joined with ``join()`` (channel layer) and broadcast groups joined with
  ``join_broadcast()`` (market data, ``apps.core.broadcast``) are left automatically when the socket
  goes away; background tasks are cancelled with it.
* **Batches**: a channel-layer message ``{"type": "batch.message", "messages": [...]}`` is handled
  as its inner messages, in order, each by its own handler. Publishers send one batch per group
  (a matching batch's trades and depth, a delivery's events of one user) instead of one message
  each: every message costs each consumer a Redis round trip, and channels-redis drops what a
  consumer's channel cannot hold (``capacity``).

JSON goes out compact, with ``Decimal`` rendered as a string (money never passes through a float).

A subclass implements ``handle(content)`` (one decoded client object) and, for a channel-layer
message ``{"type": "market.message", …}``, a method ``market_message`` as Channels expects; it may
override ``open()`` (before the handshake is accepted: authenticate, join groups; raise ``WsError``
to refuse), ``opened()`` (after it: a welcome frame), ``send_ping``, ``error_frame`` and
``error_codes``. Example::

    class EchoSocket(JsonWebsocket):
        ping_interval = 30
        error_codes = {**JsonWebsocket.error_codes, "invalid_json": ("-10001", "Invalid JSON!")}

        async def handle(self, content: dict[str, Any]) -> None:
            if "ping" in content:
                await self.send_json({"pong": content["ping"]})
                return
            raise WsError("-10000", "Invalid request!")
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import time
from collections.abc import Awaitable
from decimal import Decimal
from typing import Any, ClassVar

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from apps.core.broadcast import hub as broadcast_hub
from apps.core.broadcast import uses_pubsub

logger = logging.getLogger(__name__)

NO_CHANNEL_LAYER = "no-channel-layer"  # an alias no setting defines
# Close codes a server may send: 1000 or 3000-4999. Daphne (autobahn) refuses the others, 1008 and
# 1011 included, by raising in the application, so the client would only ever see daphne's own
# 1011 after a logged traceback; the private codes below read as the standard ones + 3000.
CLOSE_NORMAL = 1000
CLOSE_POLICY = 4008  # refused: bad credentials, unknown listen key … (1008 + 3000)
CLOSE_RATE_LIMITED = 4029
CLOSE_INTERNAL = 4011  # server error: reconnect (1011 + 3000)
CLOSE_IDLE = 4000
CLOSE_LIFETIME = 4001


class WsError(Exception):
    """A refused client frame: answered with ``error_frame``; the socket is closed when ``close``."""

    def __init__(self, code: Any, message: str, *, close: bool = False, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close = close
        self.extra = extra


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_dumps(content: Any) -> str:
    return json.dumps(content, separators=(",", ":"), ensure_ascii=False, default=_json_default)


class _MergedReceive:
    """An ASGI ``receive`` that returns whichever comes first: the next event of the connection or
    the next message of ``inbox``; a pending read of the other is kept for the next call."""

    def __init__(self, receive: Any, inbox: asyncio.Queue[dict[str, Any]]) -> None:
        self.receive = receive
        self.inbox = inbox
        self.pending: asyncio.Future[Any] | None = None
        self.carried: list[dict[str, Any]] = []

    async def __call__(self) -> Any:
        if self.carried:
            return self.carried.pop(0)
        if not self.inbox.empty():
            return self.inbox.get_nowait()
        if self.pending is None:
            self.pending = asyncio.ensure_future(self.receive())
        getter = asyncio.ensure_future(self.inbox.get())
        try:
            await asyncio.wait({self.pending, getter}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            getter.cancel()
            raise
        if self.pending.done():
            event = self.pending.result()
            self.pending = None
            if getter.done() and not getter.cancelled():
                self.carried.append(getter.result())
            else:
                getter.cancel()
            return event
        return getter.result()

    def close(self) -> None:
        if self.pending is not None and not self.pending.done():
            self.pending.cancel()


class JsonWebsocket(AsyncWebsocketConsumer):
    max_messages_per_second: ClassVar[int] = 50
    ping_interval: ClassVar[float | None] = None  # seconds between server pings (None: the server never pings)
    idle_timeout: ClassVar[float | None] = None  # close after this long without a client frame
    max_lifetime: ClassVar[float | None] = None  # close after this long in any case
    # Standard refusals → (code, message) in the surface's own code space; override per surface.
    error_codes: ClassVar[dict[str, tuple[Any, str]]] = {
        "invalid_json": ("INVALID_JSON", "Invalid JSON"),
        "invalid_request": ("INVALID_REQUEST", "Invalid request"),
        "rate_limited": ("RATE_LIMITED", "Too many messages: at most 50 per second"),
        "timeout": ("TIMEOUT", "No message received in time; closing"),
        "internal": ("INTERNAL_ERROR", "Internal error"),
    }

    compress: bool = False  # gzip every frame of this connection (binary frames)
    # False for sockets that only join broadcast groups (market data): with Redis they then have no
    # channel-layer channel of their own, i.e. no blocking Redis read per connection (500 of them
    # timed out under load and took their sockets down).
    uses_channel_layer: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.joined: set[str] = set()
        self.broadcasts: set[str] = set()
        self.in_batch = False  # handling the messages of a batch.message (the batch ends with its depth)
        # Frames shared by the consumers of a process that handle the same batch (send_json share_key).
        self.batch_frames: dict[Any, tuple[Any, str | bytes]] | None = None
        self.broadcast_inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.broadcast_backlog = 0  # broadcast messages queued and not yet handled
        self.turn = asyncio.Lock()  # held while a message is handled: one at a time, in order
        self.closed = False
        self.connected_at = time.monotonic()
        self.last_seen = self.connected_at
        self._window_start = 0.0
        self._window_count = 0
        self._tasks: list[asyncio.Task[Any]] = []

    # --- lifecycle ------------------------------------------------------------------------------
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Broadcast messages that find the consumer busy join the client's frames in one stream, so
        # the consumer handles them one at a time, in arrival order, like channel-layer messages (a
        # push never overtakes the subscribe that asked for it, nor follows a handled unsubscribe);
        # an idle consumer is handed them directly (broadcast_push).
        if not self.uses_channel_layer and uses_pubsub():
            self.channel_layer_alias = NO_CHANNEL_LAYER  # get_channel_layer() answers None
        merged = _MergedReceive(receive, self.broadcast_inbox)
        try:
            await super().__call__(scope, merged, send)
        finally:
            merged.close()
            self._cancel_tasks()

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch without its per-message ``close_old_connections``.

        Channels runs that through the process's one thread-sensitive sync thread before every
        message, so 500 subscribers' pushes queued behind each other and behind every database call
        of the process (30 s behind under load, docs/benchmarks.md). Handlers here reach the database
        only through ``database_sync_to_async``, which closes stale connections around each call.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        async with self.turn:
            await handler(message)

    async def broadcast_push(self, message: dict[str, Any]) -> None:
        """A broadcast group's message (``apps.core.broadcast.BroadcastHub``), handled in turn.

        When the consumer is idle (no message being handled, none queued) the hub's own task handles
        it at once: no queue, no task switch, no trip through Channels' dispatch loop per consumer
        (those were a third of a 500-subscriber fan-out, docs/benchmarks.md). Otherwise it is queued
        behind what came first and the consumer's loop handles it in order.
        """
        if self.closed:
            return
        if self.broadcast_backlog or self.turn.locked():
            self.broadcast_backlog += 1
            self.broadcast_inbox.put_nowait({"type": "broadcast.queued", "message": message})
            return
        async with self.turn:
            try:
                await self.batch_message(message)
            except Exception:
                # the hub's task serves every consumer of the process: one failing must not stop it
                logger.exception("websocket push failed")
                await self.close(CLOSE_INTERNAL)

    async def broadcast_queued(self, message: dict[str, Any]) -> None:
        try:
            await self.batch_message(message["message"])
        finally:
            self.broadcast_backlog -= 1

    async def connect(self) -> None:
        # open() runs before the handshake completes, so groups are joined by the time the client
        # can act; a refusal is still told in an error frame (accepted, answered, then closed).
        try:
            await self.open()
        except WsError as exc:
            await self.accept()
            await self.send_error(exc)
            await self.close(CLOSE_POLICY)
            return
        await self.accept()
        self.connected_at = self.last_seen = time.monotonic()
        await self.opened()
        if self.closed:
            return
        if self.ping_interval or self.idle_timeout or self.max_lifetime:
            self.spawn(self._heartbeat())

    async def open(self) -> None:
        """Before the handshake is accepted: authenticate, join groups … (send nothing here).

        Raise ``WsError`` to refuse the connection: the client gets the error frame, then a close.
        """

    async def opened(self) -> None:
        """After the handshake is accepted: send a welcome frame, a first snapshot …"""

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self.closed = True
        self._cancel_tasks()
        await self.leave_all()
        await super().websocket_disconnect(message)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        await super().close(code, reason)

    def spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task[Any]:
        """Run ``coroutine`` beside the consumer; it is cancelled when the connection ends."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coroutine)
        self._tasks.append(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if task in self._tasks:
            self._tasks.remove(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("websocket background task failed", exc_info=task.exception())

    def _cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    # --- groups ---------------------------------------------------------------------------------
    async def batch_message(self, message: dict[str, Any]) -> None:
        self.in_batch = True
        # The batch's dict is the same object for every consumer of a process that gets it from a
        # broadcast group, so frames encoded for one can be reused by the next (send_json share_key).
        frames = message.get("_frames")
        self.batch_frames = frames if frames is not None else message.setdefault("_frames", {})
        try:
            for inner in message.get("messages") or []:
                handler = getattr(self, str(inner.get("type", "")).replace(".", "_"), None)
                if handler is not None and inner.get("type") != "batch.message":
                    await handler(inner)
        finally:
            self.in_batch = False
            self.batch_frames = None

    async def join_broadcast(self, name: str) -> None:
        """Join a broadcast group (market data; apps.core.broadcast): its messages arrive as
        ``batch_message`` calls, fanned out once per process."""
        if name in self.broadcasts:
            return
        if uses_pubsub():
            await broadcast_hub().add(name, self)
        else:
            await self.channel_layer.group_add(name, self.channel_name)
        self.broadcasts.add(name)

    async def leave_broadcast(self, name: str) -> None:
        if name not in self.broadcasts:
            return
        self.broadcasts.discard(name)
        if uses_pubsub():
            await broadcast_hub().discard(name, self)
        else:
            await self.channel_layer.group_discard(name, self.channel_name)

    async def leave_all(self) -> None:
        for group in sorted(self.joined):
            await self.leave(group)
        for name in sorted(self.broadcasts):
            await self.leave_broadcast(name)

    async def join(self, group: str) -> None:
        if group not in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.add(group)

    async def leave(self, group: str) -> None:
        if group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.joined.discard(group)

    # --- heartbeat ------------------------------------------------------------------------------
    def mark_alive(self) -> None:
        self.last_seen = time.monotonic()

    def server_ping(self) -> dict[str, Any]:
        """The frame sent every ``ping_interval`` seconds."""
        return {"ping": int(time.time() * 1000)}

    async def send_ping(self) -> None:
        """Every ``ping_interval`` seconds; override to re-check a session first (then call super)."""
        await self.send_json(self.server_ping())

    async def _heartbeat(self) -> None:
        steps = [x for x in (self.ping_interval, self.idle_timeout, self.max_lifetime) if x]
        tick = max(0.01, min(steps) / 4)
        next_ping = time.monotonic() + (self.ping_interval or 0)
        while not self.closed:
            await asyncio.sleep(tick)
            now = time.monotonic()
            if self.max_lifetime and now - self.connected_at >= self.max_lifetime:
                await self.close(CLOSE_LIFETIME)
                return
            if self.idle_timeout and now - self.last_seen >= self.idle_timeout:
                await self.send_error(self.standard_error("timeout"))
                await self.close(CLOSE_IDLE)
                return
            if self.ping_interval and now >= next_ping:
                next_ping = now + self.ping_interval
                await self.send_ping()

    # --- receiving ------------------------------------------------------------------------------
    def _allow_message(self) -> bool:
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        return self._window_count <= self.max_messages_per_second

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closed:
            return
        self.mark_alive()
        if not self._allow_message():
            await self.send_error(self.standard_error("rate_limited"))
            await self.close(CLOSE_RATE_LIMITED)
            return
        content = self._decode(text_data, bytes_data)
        if content is None:
            await self.send_error(self.standard_error("invalid_json"))
            return
        if not isinstance(content, dict):
            await self.send_error(self.standard_error("invalid_request"))
            return
        try:
            await self.handle(content)
        except WsError as exc:
            await self.send_error(exc)
            if exc.close:
                await self.close(CLOSE_POLICY)
        except Exception:
            # e.g. the channel layer (Redis) dropped mid-subscribe: staying open would leave the
            # client silently unsubscribed, so close and let it reconnect and resubscribe.
            logger.exception("websocket handler failed on %r", content)
            await self.send_error(self.standard_error("internal"))
            await self.close(CLOSE_INTERNAL)

    @staticmethod
    def _decode(text_data: str | None, bytes_data: bytes | None) -> Any:
        raw: str | bytes | None = text_data
        if raw is None and bytes_data is not None:
            raw = bytes_data
            if bytes_data[:2] == b"\x1f\x8b":
                try:
                    raw = gzip.decompress(bytes_data)
                except (OSError, EOFError):
                    return None
        if raw is None:
            return None
        try:
            return json.loads(raw, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            return None

    async def handle(self, content: dict[str, Any]) -> None:
        """One decoded client object; raise ``WsError`` to refuse it."""
        raise self.standard_error("invalid_request")

    # --- sending --------------------------------------------------------------------------------
    async def send_json(
        self, content: Any, *, compress: bool | None = None, share_key: tuple[Any, ...] | None = None
    ) -> None:
        """Send ``content`` as a JSON frame (gzip-compressed binary with ``compress``).

        Inside a batch, ``share_key`` names the frame for every consumer of the process handling the
        same batch: the first one encodes it, the others send the same text. The key must determine
        ``content`` completely (include the identity of the data rows: the batch keeps them alive).
        """
        if self.closed:
            return
        compressed = self.compress if compress is None else compress
        memo = self.batch_frames if share_key is not None else None
        if memo is not None:
            key = (share_key, compressed)
            found = memo.get(key)
            if found is None:
                found = memo[key] = (content, self._encode(content, compressed))
            frame = found[1]
        else:
            frame = self._encode(content, compressed)
        if isinstance(frame, bytes):
            await self.send(bytes_data=frame)
        else:
            await self.send(text_data=frame)

    @staticmethod
    def _encode(content: Any, compressed: bool) -> str | bytes:
        text = json_dumps(content)
        return gzip.compress(text.encode()) if compressed else text

    def standard_error(self, kind: str) -> WsError:
        code, message = self.error_codes.get(kind) or JsonWebsocket.error_codes[kind]
        return WsError(code, message)

    def error_frame(self, error: WsError) -> dict[str, Any]:
        """The spec's error frame; the default is ``{"code", "msg"}`` plus the error's extras."""
        return {**error.extra, "code": error.code, "msg": error.message}

    async def send_error(self, error: WsError) -> None:
        # Errors are never compressed: a client that got the request wrong should still read them.
        await self.send_json(self.error_frame(error), compress=False)
