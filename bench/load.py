"""System load on the real stack: ``python bench/load.py --duration SECONDS`` (issue #10).

It starts the stack itself (``bench/_stack.py``: a fresh PostgreSQL database, migrations, daphne on
free loopback ports, the matching / default / notifications Celery workers, Redis), creates a
BTC/USDT market and ``--users`` funded users each with an API key (``api_key_create``) and a listen
key, then for ``--duration`` seconds drives it open-loop (requests leave on schedule, whether or not
earlier ones have answered, so slow answers cannot hide by slowing the load down):

* every user places orders through the BHEX OpenAPI with signed requests (``POST /openapi/v1/order``,
  query string signed with ``bhex_sign``): limit orders near the middle price that rest, and crossing
  IOC limit orders that trade against them; and cancels its resting orders (``DELETE /openapi/v1/order``);
* deposits arrive through the simulated custodian (``deposit_simulate``, what ``manage.py
  simulate_deposit`` does) and users withdraw through ``POST /openapi/v1/withdraw`` (auto-approved,
  broadcast by the default worker, completed by the simulated custodian);
* ``--subscribers`` websocket clients (a separate process) subscribe to the ``trade`` topic of
  ``/openapi/quote/ws/v1`` and count the trades they receive; each user also reads its user data
  stream (``/openapi/ws/<listenKey>``) and counts its ``executionReport`` fills.

When the time is up the load stops, the matching worker drains, and the figures are taken from the
clients and the database: placements/s, latency percentiles of place → acknowledged (HTTP answer) and
place → fill pushed on the private stream (crossing orders), trade → market subscriber, messages
delivered vs expected on both channels, errors by kind, and ``reconcile``. The last line printed is
one JSON object. Everything it starts is stopped at the end, and the database is dropped unless
``--keep``. ``--profile`` records each daphne process with py-spy (flame graph SVGs in the work
directory, printed at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import ROOT, Stack

SYMBOL = "BTCUSDT"
MID = Decimal("100.00")
TICK = Decimal("0.01")
TRON = "T" + "L" * 33  # a syntactically valid TRC20 address for the address book
KEY_SENDS_PER_SECOND = 9  # per API key and clock second; the server allows 10
MAX_INFLIGHT = 8  # per API key: beyond this the client is saturated and skips (and counts) a send
# The order finished before the cancel arrived: -1139 filled / -1142 canceled (seen by the view),
# -2011 when it finished between the view's read and the service's locked re-read.
CANCEL_REJECTED = (-1139, -1142, -2011)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[index], 2)


def summary(values: list[float]) -> dict[str, float]:
    return {f"p{q}": percentile(values, q) for q in (50, 90, 99)} | {"max": round(max(values, default=0.0), 2)}


def now_ms() -> float:
    return time.time() * 1000


_T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[load {time.monotonic() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


# --- setup (in this process, through the services) ------------------------------------------------
def create_market(users: int) -> tuple[list[dict[str, Any]], int]:
    from apps.accounts.funding import address_book_add
    from apps.accounts.services import manual_credit
    from apps.apikeys.services import api_key_create
    from apps.tokens.services import chain_create, symbol_create, token_create
    from apps.users.models import Organization
    from apps.users.services import organization_create, user_create

    org = organization_create(name="Load Broker")
    Organization.objects.filter(pk=org.pk).update(withdraw_auto_approve_threshold=Decimal("1000"))
    btc = token_create(id="BTC", name="BTC", precision=8, min_deposit=Decimal("0.0001"))
    usdt = token_create(id="USDT", name="USDT", precision=6, min_deposit=Decimal("1"))
    chain_create(token=btc, chain="BTC", confirmations_required=1, withdraw_fee=Decimal("0.0005"))
    chain_create(
        token=usdt,
        chain="TRC20",
        confirmations_required=1,
        withdraw_fee=Decimal("1"),
        min_withdraw=Decimal("10"),
        address_regex=r"^T[1-9A-HJ-NP-Za-km-z]{33}$",
    )
    symbol_create(
        base=btc,
        quote=usdt,
        price_tick=TICK,
        quantity_step=Decimal("0.0001"),
        min_quantity=Decimal("0.0001"),
        max_quantity=Decimal("1000"),
        min_notional=Decimal("1"),
        price_band_rate=Decimal("0"),
        market_band_rate=Decimal("0"),
    )
    people = []
    for i in range(users):
        user = user_create(organization=org, email=f"load{i}@example.com", password=None)
        manual_credit(user=user, token_id="USDT", amount="10000000", reason="load")
        manual_credit(user=user, token_id="BTC", amount="100000", reason="load")
        key, secret = api_key_create(user=user, permissions=("read", "trade", "withdraw"))
        address_book_add(user=user, token_id="USDT", chain="TRC20", address=TRON, label="load")
        people.append({"uid": user.uid, "user_id": user.pk, "key": key.key, "secret": secret})
    return people, org.pk


def signed_query(secret: str, params: dict[str, Any]) -> str:
    from apps.core.signing import bhex_sign

    query = urlencode({**params, "timestamp": int(time.time() * 1000), "recvWindow": 10000})
    return f"{query}&signature={bhex_sign(secret, query.encode())}"


# --- the load ------------------------------------------------------------------------------------
class Figures:
    def __init__(self) -> None:
        self.ack_ms: list[float] = []
        self.cancel_ms: list[float] = []
        self.fill_push_ms: list[float] = []
        self.placed = 0
        self.takers = 0
        self.cancels = 0
        self.cancel_rejected = 0
        self.withdrawals = 0
        self.deposits = 0
        self.errors: Counter[str] = Counter()
        self.error_samples: list[str] = []
        self.fill_reports = 0
        self.cancel_reports = 0
        self.taker_sent: dict[str, float] = {}  # clientOrderId -> send time (ms)
        self.taker_filled: set[str] = set()
        self.stream_frames = 0
        self.skipped = 0  # sends not made because the trader already had MAX_INFLIGHT requests waiting
        self.settle_s = 0.0
        self.held_for_key_limit = 0  # sends delayed to the next second by KEY_SENDS_PER_SECOND

    def error(self, kind: str, sample: str) -> None:
        if not self.errors[kind]:
            self.error_samples.append(f"{kind}: {sample[:300]}")  # the first of each kind
        self.errors[kind] += 1


async def close_on(stop: asyncio.Event, ws: Any) -> None:
    """Close ``ws`` once ``stop`` is set; its reader then sees the close and returns.

    Readers wait on ``ws.receive()`` without a timeout: with ``asyncio.wait_for`` (Python 3.11) a
    frame that arrives as the timeout fires is dropped, which under load counted as lost messages.
    """
    await stop.wait()
    await ws.close()


class Trader:
    def __init__(self, person: dict[str, Any], base_url: str, figures: Figures, rng: random.Random) -> None:
        self.person = person
        self.base_url = base_url
        self.figures = figures
        self.rng = rng
        self.resting: list[int] = []
        self.seq = 0
        self.listen_key = ""
        self.inflight = 0
        self.window = 0  # the clock second of the sends counted in window_sends
        self.window_sends = 0

    async def call(self, session: Any, method: str, path: str, params: dict[str, Any]) -> tuple[int, Any, float]:
        from yarl import URL

        url = URL(f"{self.base_url}{path}?{signed_query(self.person['secret'], params)}", encoded=True)
        started = time.perf_counter()
        async with session.request(method, url, headers={"X-BH-APIKEY": self.person["key"]}) as answer:
            body = await answer.json(content_type=None)
            return answer.status, body, (time.perf_counter() - started) * 1000

    async def place(self, session: Any) -> None:
        self.seq += 1
        cid = f"u{self.person['user_id']}-{self.seq}"
        taker = self.rng.random() < 0.3
        side = self.rng.choice(["BUY", "SELL"])
        qty = Decimal(self.rng.randint(12, 500)) / 1000  # 0.012 … 0.5 BTC: at least 1 USDT at any price used
        if taker:
            # Crossing IOC: through the middle by up to 25 ticks, so it meets resting orders.
            offset = Decimal(self.rng.randint(5, 25)) * TICK
            price = MID + offset if side == "BUY" else MID - offset
            params = {"symbol": SYMBOL, "side": side, "type": "LIMIT", "timeInForce": "IOC"}
            self.figures.taker_sent[cid] = now_ms()
        else:
            offset = Decimal(self.rng.randint(1, 40)) * TICK
            price = MID - offset if side == "BUY" else MID + offset
            params = {"symbol": SYMBOL, "side": side, "type": "LIMIT", "timeInForce": "GTC"}
        params |= {"quantity": str(qty), "price": str(price), "newClientOrderId": cid}
        try:
            status, body, elapsed = await self.call(session, "POST", "/openapi/v1/order", params)
        except Exception as exc:  # a refused or reset connection, a timeout
            self.figures.error(type(exc).__name__, str(exc))
            return
        if status == 200 and "orderId" in body:
            self.figures.placed += 1
            self.figures.ack_ms.append(elapsed)
            if taker:
                self.figures.takers += 1
            else:
                self.resting.append(int(body["orderId"]))
        else:
            self.figures.taker_sent.pop(cid, None)
            self.figures.error(f"place {status} {body.get('code') if isinstance(body, dict) else ''}", str(body))

    async def cancel(self, session: Any) -> None:
        order_id = self.resting.pop(self.rng.randrange(len(self.resting)))
        try:
            status, body, elapsed = await self.call(session, "DELETE", "/openapi/v1/order", {"orderId": order_id})
        except Exception as exc:
            self.figures.error(type(exc).__name__, str(exc))
            return
        if status == 200:
            self.figures.cancels += 1
            self.figures.cancel_ms.append(elapsed)
        elif isinstance(body, dict) and body.get("code") in CANCEL_REJECTED:
            self.figures.cancel_rejected += 1  # filled (or canceled) before the cancel arrived: expected
        else:
            self.figures.error(f"cancel {status} {body.get('code') if isinstance(body, dict) else ''}", str(body))

    async def withdraw(self, session: Any) -> None:
        self.seq += 1
        params = {
            "tokenId": "USDT",
            "chainType": "TRC20",
            "address": TRON,
            "withdrawQuantity": "20",
            "clientOrderId": f"w{self.person['user_id']}-{self.seq}",
        }
        try:
            status, body, _ = await self.call(session, "POST", "/openapi/v1/withdraw", params)
        except Exception as exc:
            self.figures.error(type(exc).__name__, str(exc))
            return
        if status == 200 and body.get("success"):
            self.figures.withdrawals += 1
        else:
            self.figures.error(f"withdraw {status}", str(body))

    async def open_stream(self, session: Any) -> None:
        status, body, _ = await self.call(session, "POST", "/openapi/v1/userDataStream", {})
        if status != 200:
            raise RuntimeError(f"listenKey: {status} {body}")
        self.listen_key = body["listenKey"]

    async def read_stream(self, session: Any, ws_base: str, stop: asyncio.Event, ready: asyncio.Event) -> None:
        url = f"{ws_base}/openapi/ws/{self.listen_key}"
        async with session.ws_connect(url, heartbeat=None, origin=ws_base.replace("ws", "http", 1)) as ws:
            ready.set()
            closer = asyncio.create_task(close_on(stop, ws))
            while True:
                message = await ws.receive()  # no timeout: cancelling a receive can drop its frame
                if message.type.name != "TEXT":
                    if message.type.name in ("CLOSE", "CLOSED", "ERROR"):
                        if not stop.is_set():
                            self.figures.error("private stream closed", str(message.data))
                        closer.cancel()
                        return
                    continue
                received = now_ms()
                frames = json.loads(message.data)
                if not isinstance(frames, list):
                    if "ping" in frames:
                        await ws.send_str(json.dumps({"pong": frames["ping"]}))
                    continue
                self.figures.stream_frames += 1
                for frame in frames:
                    if frame.get("e") != "executionReport":
                        continue
                    if frame.get("l") not in (None, "0", "0.0"):
                        self.figures.fill_reports += 1
                        cid = frame.get("c")
                        sent = self.figures.taker_sent.get(cid)
                        if sent is not None and cid not in self.figures.taker_filled:
                            self.figures.taker_filled.add(cid)
                            self.figures.fill_push_ms.append(received - sent)
                    elif frame.get("X") == "CANCELED":
                        self.figures.cancel_reports += 1


def pending_work() -> int:
    """Commands not yet matched plus events not yet delivered (read in a worker thread)."""
    from django.db import connection

    from apps.events.models import OutboxEvent
    from apps.trading.models import MatchCommand

    try:
        return (
            MatchCommand.objects.filter(processed_at__isnull=True).count()
            + OutboxEvent.objects.filter(delivered_at__isnull=True).count()
        )
    finally:
        connection.close()


async def settle(progress: Any, limit: float, quiet: float = 10.0) -> float:
    """Wait until the matching worker and event delivery have drained, then until ``progress()``
    (messages received) has not moved for ``quiet`` seconds; at most ``limit`` seconds in all.
    Late messages are then counted as delivered late, not as lost."""
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    while time.monotonic() - started < limit and await loop.run_in_executor(None, pending_work):
        await asyncio.sleep(0.5)
    last, last_change = progress(), time.monotonic()
    while time.monotonic() - started < limit and time.monotonic() - last_change < quiet:
        await asyncio.sleep(0.25)
        if progress() != last:
            last, last_change = progress(), time.monotonic()
    return time.monotonic() - started


async def drive(
    people: list[dict[str, Any]],
    ports: list[int],
    ws_ports: list[int],
    duration: float,
    rate: float,
    withdraw_every: float,
    figures: Figures,
    rng: random.Random,
    settle_limit: float,
    on_load_end: Any,
) -> float:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        traders = [
            Trader(p, f"http://127.0.0.1:{ports[i % len(ports)]}", figures, random.Random(rng.random()))
            for i, p in enumerate(people)
        ]
        for trader in traders:
            await trader.open_stream(session)
        stop = asyncio.Event()
        # The market subscribers use the last websocket process; with more than one, the user
        # streams use the others, so private pushes do not queue behind market fan-out.
        stream_ports = ws_ports[:-1] or ws_ports
        readies = [asyncio.Event() for _ in traders]
        readers = [
            asyncio.create_task(
                t.read_stream(session, f"ws://127.0.0.1:{stream_ports[i % len(stream_ports)]}", stop, ready)
            )
            for i, (t, ready) in enumerate(zip(traders, readies, strict=True))
        ]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=60)

        per_trader = rate / len(traders)
        inflight: set[asyncio.Task[None]] = set()

        async def run(trader: Trader) -> None:
            # Open loop: exponential gaps at the trader's rate (a Poisson stream per key).
            await asyncio.sleep(trader.rng.random() / per_trader)
            next_at = time.monotonic()
            next_withdraw = time.monotonic() + trader.rng.random() * withdraw_every
            while time.monotonic() < started + duration:
                if trader.resting and trader.rng.random() < 0.25:
                    job = trader.cancel(session)
                elif withdraw_every and time.monotonic() >= next_withdraw:
                    next_withdraw += withdraw_every
                    job = trader.withdraw(session)
                else:
                    job = trader.place(session)
                # As a well-behaved bot does: at most KEY_SENDS_PER_SECOND sends in a clock second (the
                # server counts 10 per key and second; a Poisson stream would burst past it).
                window = int(time.time())
                if window != trader.window:
                    trader.window, trader.window_sends = window, 0
                if trader.window_sends >= KEY_SENDS_PER_SECOND:
                    figures.held_for_key_limit += 1
                    await asyncio.sleep(window + 1 - time.time())
                    trader.window, trader.window_sends = int(time.time()), 0
                trader.window_sends += 1
                if trader.inflight >= MAX_INFLIGHT:
                    job.close()
                    figures.skipped += 1
                else:
                    trader.inflight += 1
                    task = asyncio.create_task(job)
                    inflight.add(task)
                    task.add_done_callback(inflight.discard)
                    task.add_done_callback(lambda _, t=trader: setattr(t, "inflight", t.inflight - 1))
                next_at += trader.rng.expovariate(per_trader)
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

        started = time.monotonic()
        await asyncio.gather(*(run(t) for t in traders))
        if inflight:
            await asyncio.wait(inflight, timeout=30)
        elapsed = time.monotonic() - started
        on_load_end()
        log("load stopped; waiting for matching, delivery and the private streams to settle")
        figures.settle_s = await settle(lambda: (figures.fill_reports, figures.cancel_reports), settle_limit)
        stop.set()
        await asyncio.gather(*readers, return_exceptions=True)
    return elapsed


def deposit_loop(stop: threading.Event, user_ids: list[int], every: float, figures: Figures) -> None:
    from django.db import close_old_connections

    from apps.accounts.funding import deposit_simulate
    from apps.users.models import User

    rng = random.Random(11)
    while not stop.wait(every):
        try:
            user = User.objects.get(pk=rng.choice(user_ids))
            deposit_simulate(user=user, token_id=rng.choice(["USDT", "BTC"]), amount="5")
            figures.deposits += 1
        except Exception as exc:
            figures.error("deposit", repr(exc))
        finally:
            close_old_connections()


# --- where the CPU goes ----------------------------------------------------------------------------
def cpu_snapshot(groups: dict[int, str]) -> dict[str, float]:
    """CPU seconds (user + system) so far of every process on the machine, summed per group.

    ``groups`` maps a session id (each stack process leads its own session) or a pid to a name;
    PostgreSQL backends and redis-server are grouped by command name; everything else is "other".
    A process that exits between two snapshots takes its CPU time with it (short-lived ones only).
    """
    tick = os.sysconf("SC_CLK_TCK")
    totals: Counter[str] = Counter()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        pid, session = int(entry.name), int(fields[3])
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if pid in groups:
            name = groups[pid]
        elif session in groups:
            name = groups[session]
        elif comm.startswith("postgres"):
            name = "postgres"
        elif comm.startswith("redis-server"):
            name = "redis"
        else:
            name = "other"
        totals[name] += seconds
    return dict(totals)


def cpu_used(before: dict[str, float], after: dict[str, float], elapsed: float) -> dict[str, float]:
    """Cores used per group between two snapshots (1.0 = one core busy all the time)."""
    names = sorted(set(before) | set(after), key=lambda n: -(after.get(n, 0) - before.get(n, 0)))
    return {n: round((after.get(n, 0.0) - before.get(n, 0.0)) / elapsed, 2) for n in names}


# --- market subscribers (a child process) ----------------------------------------------------------
async def subscribers(port: int, count: int, after_trade_id: int) -> dict[str, Any]:
    import aiohttp

    seen: list[set[int]] = [set() for _ in range(count)]
    latency: list[float] = []
    first_at: dict[int, float] = {}  # trade id -> latency to the first subscriber that received it
    duplicates = 0
    ready = 0
    stop = asyncio.Event()
    all_ready = asyncio.Event()

    async def one(n: int, session: Any) -> None:
        nonlocal duplicates, ready
        url = f"ws://127.0.0.1:{port}/openapi/quote/ws/v1"
        async with session.ws_connect(url, heartbeat=None, origin=f"http://127.0.0.1:{port}") as ws:
            await ws.send_str(json.dumps({"symbol": SYMBOL, "topic": "trade", "event": "sub", "params": {}}))
            first = True
            closer = asyncio.create_task(close_on(stop, ws))
            while True:
                message = await ws.receive()  # no timeout: cancelling a receive can drop its frame
                if message.type.name != "TEXT":
                    if message.type.name in ("CLOSE", "CLOSED", "ERROR"):
                        closer.cancel()
                        return
                    continue
                received = now_ms()
                frame = json.loads(message.data)
                if "ping" in frame:
                    await ws.send_str(json.dumps({"pong": frame["ping"]}))
                    continue
                if first and frame.get("f") is True:
                    first = False
                    ready += 1
                    if ready == count:
                        all_ready.set()
                    continue
                for row in frame.get("data") or []:
                    trade_id = int(row["v"])
                    if trade_id <= after_trade_id:
                        continue
                    if trade_id in seen[n]:
                        duplicates += 1
                        continue
                    seen[n].add(trade_id)
                    if trade_id not in first_at:  # the pipeline up to the first socket, without the fan-out
                        first_at[trade_id] = received - float(row["t"])
                    if n % 10 == 0:  # every tenth subscriber's latencies are enough for percentiles
                        latency.append(received - float(row["t"]))

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [asyncio.create_task(one(n, session)) for n in range(count)]
        await asyncio.wait_for(all_ready.wait(), timeout=120)
        print(json.dumps({"ready": count}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # parent closes stdin: stop
        # Frames still on their way are late, not lost: stop once none has arrived for 3 s (≤ 60 s).
        await settle_frames(lambda: sum(len(s) for s in seen), limit=60.0)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "delivered": sum(len(s) for s in seen),
        "duplicates": duplicates,
        "latency": summary(latency),
        "latency_samples": len(latency),
        "first_latency": summary(list(first_at.values())),
        "connected": ready,
    }


async def settle_frames(progress: Any, limit: float, quiet: float = 3.0) -> None:
    started = time.monotonic()
    last, last_change = progress(), time.monotonic()
    while time.monotonic() - started < limit and time.monotonic() - last_change < quiet:
        await asyncio.sleep(0.25)
        if progress() != last:
            last, last_change = progress(), time.monotonic()


def start_subscribers(port: int, count: int, after_trade_id: int) -> subprocess.Popen[str]:
    argv = [sys.executable, __file__, "--subscriber-child", str(port), str(count), str(after_trade_id)]
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)  # noqa: S603
    assert child.stdout is not None
    line = child.stdout.readline()
    if '"ready"' not in line:
        raise RuntimeError(f"subscribers did not connect: {line!r}")
    return child


# --- main ----------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=450.0, help="requests/s offered (placements + cancels)")
    parser.add_argument("--users", type=int, default=0, help="default: enough for ≤ 8 requests/s per API key")
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--web", type=int, default=2, help="daphne processes for REST (users spread across them)")
    parser.add_argument(
        "--ws",
        type=int,
        default=1,
        help="daphne processes for websocket clients only (0: they use the REST ones; 2+: market subscribers on "
        "the last, user streams on the others)",
    )
    parser.add_argument("--settle", type=float, default=90.0, help="at most this long for late messages after the load")
    parser.add_argument("--deposit-every", type=float, default=0.5, help="seconds between simulated deposits")
    parser.add_argument("--withdraw-every", type=float, default=20.0, help="seconds between withdrawals per user")
    parser.add_argument("--profile", action="store_true", help="py-spy record every daphne process and worker")
    parser.add_argument(
        "--profile-format", default="flamegraph", choices=["flamegraph", "raw", "speedscope"], help="py-spy output"
    )
    parser.add_argument("--profile-only", default="", help="comma-separated process names to profile (default: all)")
    parser.add_argument(
        "--profile-idle", action="store_true", help="profiles include waiting (wall time: locks, database, sockets)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--subscriber-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.subscriber_child:
        port, count, after = (int(v) for v in args.subscriber_child)
        print(json.dumps(asyncio.run(subscribers(port, count, after))), flush=True)
        return

    users = args.users or max(2, int(-(-args.rate // 8)))
    stack = Stack(db_name="broker_load", web=args.web, ws=args.ws, prefix="load")
    spies: list[subprocess.Popen[bytes]] = []
    profiles: list[str] = []
    report: dict[str, Any] = {"bench": "load", "duration_s": args.duration, "offered_rps": args.rate}
    try:
        log(f"fresh database {stack.db_name}, migrating")
        stack.create_database()
        stack.django()
        log(f"creating {users} funded users with API keys")
        people, _ = create_market(users)
        log(f"starting daphne ×{args.web}, matching, default and notifications workers (logs: {stack.workdir})")
        stack.start()
        from django.db import connection

        from apps.accounts.reconcile import reconcile
        from apps.trading.models import MatchCommand, Order, Trade

        start_trade = Trade.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        start_order = Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        log(f"connecting {args.subscribers} market subscribers")
        child = start_subscribers(stack.ws_ports()[-1], args.subscribers, start_trade) if args.subscribers else None
        log(f"driving {args.rate:.0f} requests/s for {args.duration:.0f}s")
        if args.profile:
            suffix = {"flamegraph": "svg", "raw": "txt", "speedscope": "json"}[args.profile_format]
            spy = str(Path(sys.executable).parent / "py-spy")
            only = {n for n in args.profile_only.split(",") if n}
            for name, proc in stack.procs.items():
                if only and name not in only:
                    continue
                output = stack.workdir / f"{name}.{suffix}"
                argv = [spy, "record", "-p", str(proc.pid), "-o", str(output), "-d", str(int(args.duration) + 5)]
                argv += ["--format", args.profile_format, "--subprocesses", "--nonblocking"]
                argv += ["--idle"] if args.profile_idle else []
                spies.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # noqa: S603
                profiles.append(str(output))
        figures = Figures()
        stop = threading.Event()
        depositor = threading.Thread(
            target=deposit_loop, args=(stop, [p["user_id"] for p in people], args.deposit_every, figures), daemon=True
        )
        depositor.start()
        connection.close()
        rng = random.Random(7)
        groups = {proc.pid: name for name, proc in stack.procs.items() if proc.alive()}
        groups[os.getpid()] = "load client"
        if child is not None:
            groups[child.pid] = "market subscribers"
        cpu_before, cpu_t0 = cpu_snapshot(groups), time.monotonic()
        cores: dict[str, float] = {}

        def on_load_end() -> None:  # CPU of the load period only, not of the settling after it
            cores.update(cpu_used(cpu_before, cpu_snapshot(groups), time.monotonic() - cpu_t0))

        elapsed = asyncio.run(
            drive(
                people,
                stack.ports(),
                stack.ws_ports(),
                args.duration,
                args.rate,
                args.withdraw_every,
                figures,
                rng,
                args.settle,
                on_load_end,
            )
        )
        stop.set()
        depositor.join(timeout=10)

        deadline = time.monotonic() + 60
        while MatchCommand.objects.filter(processed_at__isnull=True).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)
        market: dict[str, Any] = {}
        if child is not None:
            assert child.stdin is not None and child.stdout is not None
            child.stdin.close()
            market = json.loads(child.stdout.read().strip().splitlines()[-1])
            child.wait(timeout=30)
        trades = Trade.objects.filter(pk__gt=start_trade)
        trade_count = trades.count()
        own_orders = Order.objects.filter(pk__gt=start_order)
        canceled = own_orders.filter(status="canceled", time_in_force="gtc").count()
        for spy in spies:
            spy.wait(timeout=60)
        report |= {
            "users": users,
            "web_processes": args.web,
            "ws_processes": args.ws,
            "settle_s": round(figures.settle_s, 1),
            "seconds": round(elapsed, 2),
            "orders_placed": figures.placed,
            "orders_per_s": round(figures.placed / elapsed, 1),
            "requests_per_s": round((figures.placed + figures.cancels + figures.cancel_rejected) / elapsed, 1),
            "sends_skipped_client_saturated": figures.skipped,
            "sends_held_for_key_limit": figures.held_for_key_limit,
            "place_ack_ms": summary(figures.ack_ms),
            "cancel_ack_ms": summary(figures.cancel_ms),
            "cancels": figures.cancels,
            "cancels_too_late": figures.cancel_rejected,
            "trades": trade_count,
            "trades_per_s": round(trade_count / elapsed, 1),
            "place_to_fill_push_ms": summary(figures.fill_push_ms),
            "crossing_orders": figures.takers,
            "crossing_orders_with_fill_push": len(figures.fill_push_ms),
            "private_fill_reports": {"delivered": figures.fill_reports, "expected": 2 * trade_count},
            "private_cancel_reports": {"delivered": figures.cancel_reports, "expected_at_least": canceled},
            "market_subscribers": args.subscribers,
            "market_trades": {
                "delivered": market.get("delivered", 0),
                "expected": trade_count * args.subscribers,
                "duplicates": market.get("duplicates", 0),
                "connected": market.get("connected", 0),
            },
            "trade_to_subscriber_ms": market.get("latency", {}),
            "trade_to_first_subscriber_ms": market.get("first_latency", {}),
            "deposits": figures.deposits,
            "withdrawals": figures.withdrawals,
            "errors": sum(figures.errors.values()),
            "errors_by_kind": dict(figures.errors),
            "error_samples": figures.error_samples,
            "cores_used": cores,
            "reconcile_ok": reconcile()["ok"],
            "workdir": str(stack.workdir),
        }
        if spies:
            report["profiles"] = profiles
    finally:
        for spy in spies:
            if spy.poll() is None:
                spy.send_signal(signal.SIGINT)
        stack.stop()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            stack.drop_database()
    print(json.dumps(report))


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
