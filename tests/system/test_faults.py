"""Fault tests on the real stack (issue #10): PostgreSQL, Redis and real processes.

Each test starts the services-mode processes (``bench/_stack.py``) on the test database: two daphne
processes, the matching worker, the default and notifications workers, celery beat (the sweepers) and
a redis-server of its own (so that its connections can be killed without touching anyone else's).
Signed clients place and cancel orders through the BHEX OpenAPI while websocket clients read a user
data stream, the market depth and the organization event feed. At a random moment (seeded, printed)
one part is killed:

* the matching worker (SIGKILL; restarted a moment later),
* a daphne process (SIGKILL; its clients fail over to the other one, retrying a placement with the
  same ``newClientOrderId``, as a client behind a load balancer would),
* every Redis connection of every process (``CLIENT KILL``), twice.

Afterwards, once the matching worker has drained: ``reconcile`` is clean; every acknowledged order
exists, was processed, and answered its client id only once; no fill is duplicated (each order's
executed quantity equals the sum of its trades, a replay of the matching log reproduces the trades);
the websocket clients reconnected and resynchronized (market depth ``seq`` never goes backwards across
reconnects and ends at the symbol's stored sequence; the user stream's view, refreshed through REST
after reconnecting, matches the database); and the org event feed, resumed with ``from_id`` after each
disconnect, delivered every event exactly once (the same ids as the feed's REST poll).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db.models import Count, Sum

from apps.accounts.reconcile import reconcile
from apps.accounts.services import manual_credit
from apps.apikeys.services import api_key_create, org_api_key_create
from apps.core.signing import bhex_sign
from apps.tokens.models import Symbol
from apps.trading import matching
from apps.trading.models import MatchCommand, Order, OrderStatus, SymbolMatchState, Trade
from apps.users.models import Organization, User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("FAULT_SEED", str(random.SystemRandom().randrange(10**6))))
LOAD_SECONDS = 8.0
TRADERS = 6
RATE_PER_TRADER = 6.0  # requests/s per API key (the key limit is 10/s)


def _stack_module() -> Any:
    spec = importlib.util.spec_from_file_location("bench_stack", ROOT / "bench" / "_stack.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_stack"] = module
    spec.loader.exec_module(module)
    return module


def _database_url() -> str:
    db = settings.DATABASES["default"]
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    user, password = db.get("USER") or "postgres", db.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    return f"postgres://{auth}{host}:{port}/{db['NAME']}"


def now_ms() -> int:
    return int(time.time() * 1000)


def signed(secret: str, params: dict[str, Any]) -> str:
    query = urlencode({**params, "timestamp": now_ms(), "recvWindow": 30000})
    return f"{query}&signature={bhex_sign(secret, query.encode())}"


@pytest.fixture
def stack(postgres: None, redis_service: str, btcusdt: Symbol) -> Any:
    module = _stack_module()
    running = module.Stack(database_url=_database_url(), web=2, beat=True, own_redis=True, prefix="faults")
    running.start()
    yield running
    running.stop()


@pytest.fixture
def people(org: Organization, make_user: Any, btcusdt: Symbol) -> dict[str, Any]:
    traders = []
    for _ in range(TRADERS):
        user: User = make_user()
        manual_credit(user=user, token_id="USDT", amount="1000000", reason="faults")
        manual_credit(user=user, token_id="BTC", amount="10000", reason="faults")
        key, secret = api_key_create(user=user, permissions=("read", "trade"))
        traders.append({"user": user, "key": key.key, "secret": secret})
    org_key, org_secret = org_api_key_create(organization=org, ip_whitelist=["127.0.0.1"])
    return {"traders": traders, "org_key": org_key.key, "org_secret": org_secret, "org": org}


# --- clients ---------------------------------------------------------------------------------------
class Load:
    """Signed traders on a list of daphne ports; failing over to the next port on a connection error."""

    def __init__(self, stack: Any, people: dict[str, Any], rng: random.Random) -> None:
        self.stack = stack
        self.people = people
        self.rng = rng
        self.acked: dict[str, int] = {}  # newClientOrderId -> orderId the server acknowledged
        self.answers: Counter[str] = Counter()
        self.failovers = 0

    def ports(self) -> list[int]:
        return [p.port for n, p in sorted(self.stack.procs.items()) if n.startswith("web") and p.alive()]

    async def request(
        self, session: Any, trader: dict[str, Any], method: str, path: str, params: dict[str, Any]
    ) -> Any:
        import aiohttp
        from yarl import URL

        for attempt in range(6):
            ports = self.ports() or [0]
            port = ports[(hash(trader["key"]) + attempt) % len(ports)]
            url = URL(f"http://127.0.0.1:{port}{path}?{signed(trader['secret'], params)}", encoded=True)
            try:
                async with session.request(method, url, headers={"X-BH-APIKEY": trader["key"]}) as answer:
                    body = await answer.json(content_type=None)
                    self.answers[f"{method} {answer.status}"] += 1
                    if answer.status >= 500:
                        raise ConnectionError(f"{answer.status} {body}")  # e.g. Redis down mid-request: retry
                    return answer.status, body
            except (TimeoutError, OSError, ConnectionError, aiohttp.ClientError) as exc:
                self.answers[type(exc).__name__] += 1
                self.failovers += 1
                await asyncio.sleep(0.2 * (attempt + 1))
        return None, None

    async def trader(self, session: Any, n: int, trader: dict[str, Any], until: float) -> None:
        rng = random.Random(self.rng.random())
        resting: list[int] = []
        seq = 0
        while time.monotonic() < until:
            await asyncio.sleep(rng.expovariate(RATE_PER_TRADER))
            if resting and rng.random() < 0.25:
                order_id = resting.pop(rng.randrange(len(resting)))
                await self.request(session, trader, "DELETE", "/openapi/v1/order", {"orderId": order_id})
                continue
            seq += 1
            cid = f"f{n}-{seq}"
            side = rng.choice(["BUY", "SELL"])
            cross = rng.random() < 0.35
            offset = Decimal(rng.randint(1, 20)) / 100
            price = Decimal(100) + (offset if (side == "BUY") == cross else -offset)
            params = {
                "symbol": "BTCUSDT",
                "side": side,
                "type": "LIMIT",
                "timeInForce": "IOC" if cross else "GTC",
                "quantity": str(Decimal(rng.randint(2, 50)) / 100),
                "price": str(price),
                "newClientOrderId": cid,
            }
            status, body = await self.request(session, trader, "POST", "/openapi/v1/order", params)
            if status == 200:
                assert cid not in self.acked or self.acked[cid] == body["orderId"], "one client id, two orders"
                self.acked[cid] = int(body["orderId"])
                if not cross:
                    resting.append(int(body["orderId"]))

    async def run(self, fault: Any, at: float) -> None:
        import aiohttp

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
            until = time.monotonic() + LOAD_SECONDS
            tasks = [self.trader(session, n, t, until) for n, t in enumerate(self.people["traders"])]

            async def strike() -> None:
                await asyncio.sleep(at)
                await asyncio.get_running_loop().run_in_executor(None, fault)

            await asyncio.gather(*tasks, strike())


class Watchers:
    """Websocket readers that reconnect (to any live daphne) and resynchronize."""

    def __init__(self, load: Load, people: dict[str, Any]) -> None:
        self.load = load
        self.people = people
        self.depth_seqs: list[int] = []
        self.depth_went_back = 0
        self.reconnects: Counter[str] = Counter()
        self.feed_ids: list[int] = []
        self.stream_frames = 0
        self.stop = asyncio.Event()

    async def _connect(self, session: Any, path: str) -> Any:
        while not self.stop.is_set():
            ports = self.load.ports()
            if ports:
                port = ports[0]
                try:
                    return await session.ws_connect(
                        f"ws://127.0.0.1:{port}{path}", heartbeat=None, origin=f"http://127.0.0.1:{port}"
                    )
                except Exception as exc:  # refused while a daphne is down or restarting: try again
                    self.reconnects[f"refused {type(exc).__name__}"] += 1
            await asyncio.sleep(0.3)
        return None

    async def _frames(self, ws: Any) -> Any:
        while not self.stop.is_set():
            try:
                message = await asyncio.wait_for(ws.receive(), timeout=0.3)
            except TimeoutError:
                continue
            if message.type.name != "TEXT":
                if message.type.name in ("CLOSE", "CLOSED", "ERROR"):
                    return
                continue
            yield json.loads(message.data)

    async def depth(self, session: Any) -> None:
        while not self.stop.is_set():
            ws = await self._connect(session, "/openapi/quote/ws/v1")
            if ws is None:
                return
            request = json.dumps({"symbol": "BTCUSDT", "topic": "depth", "event": "sub", "params": {}})
            await ws.send_str(request)
            async for frame in self._frames(ws):
                if "code" in frame:  # the subscription was refused (e.g. Redis unreachable): ask again
                    self.reconnects["depth resubscribe"] += 1
                    await asyncio.sleep(0.5)
                    await ws.send_str(request)
                    continue
                for row in frame.get("data") or []:
                    seq = int(row["v"])
                    if self.depth_seqs and seq < self.depth_seqs[-1]:
                        self.depth_went_back += 1
                    self.depth_seqs.append(seq)
            await ws.close()
            self.reconnects["depth"] += 1

    async def user_stream(self, session: Any, trader: dict[str, Any]) -> None:
        _, body = await self.load.request(session, trader, "POST", "/openapi/v1/userDataStream", {})
        listen_key = body["listenKey"]
        while not self.stop.is_set():
            ws = await self._connect(session, f"/openapi/ws/{listen_key}")
            if ws is None:
                return
            # Resynchronize after (re)connecting: the open orders come from REST, later changes from the stream.
            await self.load.request(session, trader, "GET", "/openapi/v1/openOrders", {"symbol": "BTCUSDT"})
            async for frame in self._frames(ws):
                if isinstance(frame, list):
                    self.stream_frames += 1
                elif "ping" in frame:
                    await ws.send_str(json.dumps({"pong": frame["ping"]}))
            await ws.close()
            self.reconnects["user"] += 1

    async def org_feed(self, session: Any) -> None:
        key, secret = self.people["org_key"], self.people["org_secret"]
        while not self.stop.is_set():
            ws = await self._connect(session, "/api/v2/org/ws")
            if ws is None:
                return
            stamp = str(now_ms())
            login = {"api_key": key, "timestamp": stamp, "signature": bhex_sign(secret, f"timestamp={stamp}".encode())}
            await ws.send_str(json.dumps({"op": "login", "args": login}))
            async for frame in self._frames(ws):
                if frame.get("op") == "login" and frame.get("success"):
                    # Resume after the last event handled (from the start the first time).
                    args = {"types": ["*"], "from_id": self.feed_ids[-1] if self.feed_ids else 0}
                    await ws.send_str(json.dumps({"op": "subscribe", "args": args}))
                elif frame.get("op") == "event":
                    self.feed_ids.append(int(frame["event_id"]))
                elif "ping" in frame:
                    await ws.send_str(json.dumps({"op": "ping"}))
            await ws.close()
            self.reconnects["feed"] += 1


def run_scenario(stack: Any, people: dict[str, Any], fault: Any, name: str) -> tuple[Load, Watchers]:
    rng = random.Random(f"{SEED}-{name}")
    at = rng.uniform(1.0, LOAD_SECONDS - 3.0)
    print(f"fault {name}: seed {SEED}, strikes at {at:.2f}s")  # reproduce with FAULT_SEED=<seed>
    load = Load(stack, people, rng)
    watchers = Watchers(load, people)

    async def main() -> None:
        import aiohttp

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
            readers = [
                asyncio.create_task(watchers.depth(session)),
                asyncio.create_task(watchers.org_feed(session)),
                *(asyncio.create_task(watchers.user_stream(session, t)) for t in people["traders"][:2]),
            ]
            await asyncio.sleep(1.0)
            await load.run(fault, at)
            await asyncio.get_running_loop().run_in_executor(None, drain)
            await asyncio.sleep(3.0)  # the last publications reach the readers
            watchers.stop.set()
            await asyncio.gather(*readers, return_exceptions=True)

    asyncio.run(main())
    return load, watchers


def drain(timeout: float = 60.0) -> None:
    """Wait until the matching worker has processed every command (beat re-queues lost task messages)."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    while MatchCommand.objects.filter(processed_at__isnull=True).exists():
        assert time.monotonic() < deadline, "the matching worker did not drain"
        time.sleep(0.3)
    connection.close()


def assert_consistent(stack: Any, load: Load, watchers: Watchers, people: dict[str, Any]) -> None:
    assert load.acked, f"no order was acknowledged: {load.answers}; web log:\n{stack.tail('web0')}"
    # Every acknowledged order exists, was processed, and is the only order of its client id.
    orders = {o.client_order_id: o for o in Order.objects.filter(pk__in=load.acked.values())}
    assert {cid: o.pk for cid, o in orders.items()} == load.acked
    assert not [o.pk for o in orders.values() if o.status == OrderStatus.PENDING]
    duplicated_ids = (
        Order.objects.values("account_id", "client_order_id").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    assert duplicated_ids == 0
    # No fill counted twice.
    symbol = Symbol.objects.get(pk="BTCUSDT")
    traded: Counter[int] = Counter()
    for side in ("buy_order", "sell_order"):
        for order_id, total in Trade.objects.values(side).annotate(t=Sum("quantity")).values_list(side, "t"):
            traded[order_id] += total
    for pk, executed in Order.objects.values_list("pk", "executed_quantity"):
        assert executed == traded.get(pk, Decimal(0)), f"order {pk}: executed {executed}, trades {traded.get(pk)}"
    _, replayed = matching.replay(symbol)
    assert len(replayed) == Trade.objects.count()
    report = reconcile()
    assert report["ok"], report
    # Websocket clients came back and are in sync.
    assert watchers.depth_seqs, "the depth subscriber never received a frame"
    assert watchers.depth_went_back == 0
    assert watchers.depth_seqs[-1] == SymbolMatchState.objects.get(symbol=symbol).seq
    assert watchers.stream_frames > 0
    # The org feed: every event once, the same ids as its REST poll.
    assert len(watchers.feed_ids) == len(set(watchers.feed_ids)), "an org feed event arrived twice"
    assert set(watchers.feed_ids) == set(org_feed_ids(stack, people))


def org_feed_ids(stack: Any, people: dict[str, Any]) -> list[int]:
    import urllib.request

    ids: list[int] = []
    from_id = 0
    while True:
        query = signed(people["org_secret"], {"from_id": from_id, "limit": 1000})
        port = next(p.port for n, p in stack.procs.items() if n.startswith("web") and p.alive())
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v2/org/events?{query}", headers={"X-BH-APIKEY": people["org_key"]}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            body = json.loads(answer.read())
        events = body.get("events") or []
        ids += [int(e["event_id"]) for e in events]
        if len(events) < 1000:
            return ids
        from_id = ids[-1]


def test_matching_worker_killed_midway(stack: Any, people: dict[str, Any]) -> None:
    def fault() -> None:
        stack.kill("match", signal.SIGKILL)
        time.sleep(1.0)
        stack.start("match")  # a restarted worker sweeps the pending commands on start

    load, watchers = run_scenario(stack, people, fault, "match")
    assert_consistent(stack, load, watchers, people)


def test_daphne_killed_midway(stack: Any, people: dict[str, Any]) -> None:
    load, watchers = run_scenario(stack, people, lambda: stack.kill("web0", signal.SIGKILL), "daphne")
    assert not stack.procs["web0"].alive()
    assert_consistent(stack, load, watchers, people)
    # The readers were on the first daphne: they had to reconnect to the other one.
    assert watchers.reconnects["depth"] >= 1 and watchers.reconnects["feed"] >= 1


def test_redis_connections_killed_midway(stack: Any, people: dict[str, Any]) -> None:
    def fault() -> None:
        stack.redis_kill_connections()
        time.sleep(1.5)
        stack.redis_kill_connections()

    load, watchers = run_scenario(stack, people, fault, "redis")
    for name in ("web0", "web1", "match", "default", "notify"):
        assert stack.procs[name].alive(), f"{name} died with its Redis connection:\n{stack.tail(name)}"
    assert_consistent(stack, load, watchers, people)
