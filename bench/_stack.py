"""The real stack on this machine, for the load generator and the fault tests.

``Stack`` creates a fresh PostgreSQL database, empties one Redis database, migrates, and starts the
processes of the services mode as separate OS processes on loopback only: daphne (one or more, each on
a free port), the matching worker (``-Q match.0 -P solo``), the default worker and the notifications
worker (event delivery to websocket groups). Each process runs in its own session so it can be
killed by its id (and only it) and restarted; their output goes to ``<workdir>/<name>.log``.

The calling process can use Django against the same database and Redis (``Stack.django()``), e.g. to
create users or read the results.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    name: str
    argv: list[str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    port: int | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


@dataclass
class Stack:
    db_name: str = "broker_load"
    redis_db: int = 8
    prefix: str = "load"
    web: int = 1
    ws: int = 0  # daphne processes for websocket clients only (a load balancer routes /ws paths there)
    beat: bool = False  # celery beat: the periodic sweepers (re-queue matching, re-send events)
    own_redis: bool = False  # a redis-server of our own (to kill its connections without touching others)
    database_url: str = ""  # an existing, migrated database instead of a fresh one
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, Proc] = field(default_factory=dict)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="broker-stack-")))

    def __post_init__(self) -> None:
        if self.database_url:
            self.db_name = urlparse(self.database_url).path.lstrip("/")
        else:
            base = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x")
            self.database_url = urlparse(base)._replace(path=f"/{self.db_name}").geturl()
        self.redis_port = free_port() if self.own_redis else 0
        if self.own_redis:
            self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        else:
            redis_host = os.environ.get("BENCH_REDIS_HOST", "redis://127.0.0.1:6379")
            self.redis_url = f"{redis_host}/{self.redis_db}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "broker.settings"),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CHANNEL_PREFIX": self.prefix,
            "CACHE_PREFIX": self.prefix,
            "MATCH_SHARDS": "1",
            "DEMO_MARKET_MAKER": "false",
            "CUSTODY_SIMULATED_CONFIRM_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
            # As in production: DEBUG would keep every SQL statement of a request in memory.
            "DEBUG": "false",
        }
        self.env.pop("REQUIRE_SERVICES", None)

    # --- database and redis ----------------------------------------------------------------------
    def create_database(self) -> None:
        import psycopg

        admin = urlparse(self.database_url)._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=self.env, check=True
        )

    def drop_database(self) -> None:
        import psycopg

        admin = urlparse(self.database_url)._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def django(self) -> None:
        """Set this process up as a Django client of the stack's database and Redis."""
        for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "CHANNEL_PREFIX", "CACHE_PREFIX"):
            os.environ[name] = self.env[name]
        os.environ["CUSTODY_SIMULATED_CONFIRM_SECONDS"] = self.env["CUSTODY_SIMULATED_CONFIRM_SECONDS"]
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        import django

        django.setup()

    # --- processes -------------------------------------------------------------------------------
    def _celery(self, name: str, queue: str, *extra: str) -> Proc:
        argv = [sys.executable, "-m", "celery", "-A", "broker", "worker", "-Q", queue, "-n", f"{name}@%h"]
        return Proc(name, [*argv, "--without-gossip", "--without-mingle", "-l", "WARNING", *extra], self._log(name))

    def _log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def define(self) -> None:
        if self.own_redis:
            argv = ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", ""]
            self.procs["redis"] = Proc("redis", [*argv, "--appendonly", "no"], self._log("redis"))
        for n in range(self.web):
            port = free_port()
            argv = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "broker.asgi:application"]
            self.procs[f"web{n}"] = Proc(f"web{n}", argv, self._log(f"web{n}"), port=port)
        for n in range(self.ws):
            port = free_port()
            argv = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "broker.asgi:application"]
            self.procs[f"ws{n}"] = Proc(f"ws{n}", argv, self._log(f"ws{n}"), port=port)
        self.procs["match"] = self._celery("match", "match.0", "-P", "solo")
        self.procs["default"] = self._celery("default", "default", "-c", "1")
        self.procs["notify"] = self._celery("notify", "notifications", "-P", "solo")
        if self.beat:
            schedule = str(self.workdir / "beat-schedule")
            argv = [sys.executable, "-m", "celery", "-A", "broker", "beat", "-l", "WARNING", "-s", schedule]
            self.procs["beat"] = Proc(
                "beat", [*argv, "--scheduler", "celery.beat:PersistentScheduler"], self._log("beat")
            )

    def start(self, *names: str) -> None:
        if not self.procs:
            self.define()
        for name in names or tuple(self.procs):
            proc = self.procs[name]
            if proc.alive():
                continue
            if name == "redis":
                self._start_redis(proc)
                continue
            with proc.log.open("ab") as log:
                proc.popen = subprocess.Popen(  # noqa: S603 - our own argv
                    proc.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
        for name in names or tuple(self.procs):
            if name.startswith(("web", "ws")):
                self.wait_http(self.procs[name].port or 0)

    def _start_redis(self, proc: Proc) -> None:
        with proc.log.open("ab") as log:
            proc.popen = subprocess.Popen(proc.argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.redis_url).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def redis_kill_connections(self) -> int:
        """Drop every client connection of our own redis-server (its data stays)."""
        import redis

        assert self.own_redis, "only our own redis-server"
        admin = redis.Redis.from_url(self.redis_url)
        killed = int(admin.execute_command("CLIENT", "KILL", "SKIPME", "yes"))
        admin.close()
        return killed

    def wait_http(self, port: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{port}/openapi/v1/ping"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"daphne on port {port} did not answer within {timeout}s; see {self.workdir}")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal one of our processes (and its children: the process group it leads)."""
        proc = self.procs[name]
        if proc.alive():
            os.killpg(proc.pid, sig)
            try:
                assert proc.popen is not None
                proc.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.popen.wait(timeout=10)

    def stop(self) -> None:
        for name in list(self.procs):
            if self.procs[name].alive():
                os.killpg(self.procs[name].pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for name in list(self.procs):
            proc = self.procs[name]
            if proc.popen is None:
                continue
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.popen.wait(timeout=10)

    def ports(self) -> list[int]:
        return [p.port for name, p in sorted(self.procs.items()) if name.startswith("web") and p.port]

    def ws_ports(self) -> list[int]:
        """Where websocket clients connect: the websocket-only processes, else the web ones."""
        ports = [p.port for name, p in sorted(self.procs.items()) if name.startswith("ws") and p.port]
        return ports or self.ports()

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.procs[name].log
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
