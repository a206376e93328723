"""The organization event feed over a websocket: ``/api/v2/org/ws`` (seed 001 §4, docs/orgapi.md).

Protocol (JSON text frames; every control frame has ``op``):

1. ``{"op": "login", "args": {"api_key", "timestamp", "recvWindow"?, "signature"}}`` — the signature is
   the hex HMAC-SHA256 of ``timestamp=<ms>`` (``&recvWindow=<ms>`` appended when sent), checked like a
   REST request (key, IP whitelist, window, replay). Answer ``{"op": "login", "success": true}``; a
   refusal is an error frame and the socket closes.
2. ``{"op": "subscribe", "args": {"types": [...], "from_id": <event_id>?}}`` — without ``from_id`` the
   feed starts with the next event; with it, every event numbered after ``from_id`` is replayed from
   the outbox table first, then the feed continues live. Answer ``{"op": "subscribe", "success": true,
   "types": [...], "from_id": <start>}``.
3. Events: ``{"op": "event", "event_id", "event_type", "created_at", "event": {...}}``, in ``event_id``
   order, each exactly once. Resume after a disconnect with ``from_id`` = the last ``event_id`` seen.

Why nothing is missed or repeated: feed numbers are per organization, handed out in commit order and
without holes (``apps.events.models``). The consumer keeps ``cursor`` = the last number it has handled;
a live message at ``cursor + 1`` is sent, one at or below it is a duplicate (dropped), and one above
``cursor + 1`` means messages were lost or reordered on the way, so the gap is read from the table
first. A background check every few seconds does the same, so even a lost last message arrives.

Heartbeat: the server sends ``{"ping": <ms>}`` every 20 s; a client that sends nothing for 120 s
(``{"op": "ping"}`` is answered with ``{"op": "pong"}``) is closed. At most 50 client frames per second.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from channels.db import database_sync_to_async

from apps.apikeys.auth import api_key_require
from apps.core.errors import BrokerError
from apps.core.ws import JsonWebsocket, WsError
from apps.events.delivery import org_group
from apps.events.feed import types_clean
from apps.events.selectors import org_feed_last_seq, org_feed_read
from apps.orgapi.auth import ws_login
from apps.orgapi.errors import error_body

REPLAY_PAGE = 500
GAP_CHECK_SECONDS = 5.0


class OrgFeedSocket(JsonWebsocket):
    ping_interval = 20.0
    idle_timeout = 120.0
    gap_check_seconds: ClassVar[float] = GAP_CHECK_SECONDS
    error_codes: ClassVar[dict[str, tuple[Any, str]]] = {
        "invalid_json": (1101, "Invalid JSON"),
        "invalid_request": (1101, "Invalid request: send an object with op login, subscribe, unsubscribe or ping"),
        "rate_limited": (1012, "Too many messages: at most 50 per second"),
        "timeout": (1101, "No message received for 120 seconds; closing"),
        "internal": (110, "Internal server error"),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization_id: int | None = None
        self.types: frozenset[str] | None = None
        self.cursor: int | None = None
        self.lock = asyncio.Lock()

    def error_frame(self, error: WsError) -> dict[str, Any]:
        return {"op": "error", "code": error.code, "msg": error.message}

    async def open(self) -> None:
        self.spawn(self._gap_check())

    async def handle(self, content: dict[str, Any]) -> None:
        op = content.get("op")
        raw_args = content.get("args")
        args: dict[str, Any] = raw_args if isinstance(raw_args, dict) else {}
        if op == "ping":
            await self.send_json({"op": "pong", "ts": int(time.time() * 1000)})
        elif "pong" in content:
            return
        elif op == "login":
            await self.login(args)
        elif op == "subscribe":
            await self.subscribe(args)
        elif op == "unsubscribe":
            async with self.lock:
                self.types, self.cursor = None, None
            await self.send_json({"op": "unsubscribe", "success": True})
        else:
            raise self.standard_error("invalid_request")

    @staticmethod
    def _refusal(exc: BrokerError, *, close: bool) -> WsError:
        _, body = error_body(exc)
        return WsError(body["code"], body["msg"], close=close)

    async def login(self, args: dict[str, Any]) -> None:
        if self.organization_id is not None:
            raise WsError(1101, "Already logged in")
        client = self.scope.get("client") or ("", 0)

        def check() -> int:
            api_key = ws_login(
                key=_text(args.get("api_key")),
                ip=str(client[0] or ""),
                timestamp=_text(args.get("timestamp")),
                recv_window=_text(args.get("recvWindow") or args.get("recv_window")),
                signature=_text(args.get("signature")),
            )
            api_key_require(api_key, "read")
            return api_key.organization_id

        try:
            organization_id = await database_sync_to_async(check)()
        except BrokerError as exc:
            raise self._refusal(exc, close=True) from None
        self.organization_id = organization_id
        # Joined now, before any subscription: live messages queue up while a replay runs.
        await self.join(org_group(organization_id))
        await self.send_json({"op": "login", "success": True, "org_id": organization_id})

    async def subscribe(self, args: dict[str, Any]) -> None:
        if self.organization_id is None:
            raise WsError(1001, "Log in first", close=False)
        raw_types = args.get("types")
        try:
            types = types_clean([str(t) for t in raw_types] if isinstance(raw_types, list) else None)
        except BrokerError as exc:
            raise self._refusal(exc, close=False) from None
        from_id = args.get("from_id")
        if from_id is not None and (not str(from_id).isdigit()):
            raise WsError(1101, "from_id must be a non-negative integer")
        async with self.lock:
            self.types = types
            if from_id is None:
                self.cursor = await database_sync_to_async(org_feed_last_seq)(organization_id=self.organization_id)
            else:
                self.cursor = int(str(from_id))
            await self.send_json({"op": "subscribe", "success": True, "types": sorted(types), "from_id": self.cursor})
            await self._catch_up()

    async def _catch_up(self) -> None:
        """Send every stored event after ``cursor`` (the caller holds the lock)."""
        while self.types is not None and self.cursor is not None and self.organization_id is not None:
            bodies, cursor = await database_sync_to_async(org_feed_read)(
                organization_id=self.organization_id, after_seq=self.cursor, types=self.types, limit=REPLAY_PAGE
            )
            for body in bodies:
                await self.send_json({"op": "event", **body})
            if cursor <= self.cursor:
                return
            self.cursor = cursor

    async def event_message(self, message: dict[str, Any]) -> None:
        """A live event from ``apps.events.delivery`` (the organization's group)."""
        seq, feed = message.get("seq"), message.get("feed")
        if seq is None or feed is None:
            return
        async with self.lock:
            if self.types is None or self.cursor is None or seq <= self.cursor:
                return
            if seq > self.cursor + 1:
                await self._catch_up()  # numbers below seq are committed: read the gap from the table
                if self.cursor is None or seq <= self.cursor:
                    return
            if feed.get("event_type") in self.types:
                await self.send_json({"op": "event", **feed})
            self.cursor = seq

    async def _gap_check(self) -> None:
        while not self.closed:
            await asyncio.sleep(self.gap_check_seconds)
            if self.types is None or self.organization_id is None:
                continue
            last = await database_sync_to_async(org_feed_last_seq)(organization_id=self.organization_id)
            if self.cursor is not None and last > self.cursor:
                async with self.lock:
                    await self._catch_up()


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
