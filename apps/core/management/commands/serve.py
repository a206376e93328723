"""Run the whole stack in the foreground; Ctrl-C stops every process together.

Embedded mode (no REDIS_URL): one daphne (tasks run in-process) plus the demo market maker.
Services mode (REDIS_URL set): daphne, a matching worker per shard (``-Q match.<n> -P solo``), a
default worker, a notifications worker, celery beat, and the demo market maker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the broker (daphne, and the Celery workers when REDIS_URL is set). Ctrl-C stops all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-market-maker", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        python = sys.executable
        base = Path(settings.BASE_DIR)
        commands: list[tuple[str, list[str]]] = [
            (
                "web",
                [python, "-m", "daphne", "-b", options["host"], "-p", str(options["port"]), "broker.asgi:application"],
            )
        ]
        if settings.REDIS_URL:
            celery = [python, "-m", "celery", "-A", "broker"]
            for shard in range(settings.MATCH_SHARDS):
                commands.append(
                    (
                        f"match.{shard}",
                        [
                            *celery,
                            "worker",
                            "-Q",
                            f"match.{shard}",
                            "-P",
                            "solo",
                            "-n",
                            f"match{shard}@%h",
                            "-l",
                            "INFO",
                        ],
                    )
                )
            commands.append(
                ("default", [*celery, "worker", "-Q", "default", "-c", "2", "-n", "default@%h", "-l", "INFO"])
            )
            commands.append(
                ("notify", [*celery, "worker", "-Q", "notifications", "-c", "1", "-n", "notify@%h", "-l", "INFO"])
            )
            commands.append(("beat", [*celery, "beat", "-l", "INFO"]))
        if settings.DEMO_MARKET_MAKER and not options["no_market_maker"]:
            from apps.tokens.models import Symbol

            for symbol in Symbol.objects.filter(status="on").values_list("pk", flat=True)[:2]:
                commands.append((f"mm.{symbol}", [python, "manage.py", "run_market_maker", "--symbol", symbol]))

        self._print_login(options["host"], options["port"])
        processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        for name, argv in commands:
            self.stdout.write(f"starting {name}: {' '.join(argv[1:])}")
            processes.append((name, subprocess.Popen(argv, cwd=base)))  # noqa: S603 - our own argv

        def stop(*_: object) -> None:
            for _name, process in processes:
                if process.poll() is None:
                    process.terminate()
            deadline = time.monotonic() + 10
            for _name, process in processes:
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
            sys.exit(0)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while True:
            for name, process in processes:
                if name == "web" and process.poll() is not None:
                    self.stderr.write(f"{name} exited with {process.returncode}; stopping")
                    stop()
            time.sleep(0.5)

    def _print_login(self, host: str, port: int) -> None:
        path = Path(settings.BASE_DIR) / "var" / "staff-login.json"
        saved = json.loads(path.read_text()) if path.exists() else {}
        self.stdout.write("")
        self.stdout.write(f"  Broker:        http://{host}:{port}/")
        self.stdout.write(f"  Admin:         http://{host}:{port}/admin/")
        self.stdout.write(f"  API docs:      http://{host}:{port}/api/docs/")
        self.stdout.write(
            f"  Staff login:   {saved.get('username', 'admin')} / {saved.get('password', '(see var/staff-login.json)')}"
        )
        if saved.get("totp_uri"):
            self.stdout.write(f"  Staff TOTP:    {saved['totp_uri']}")
            self.stdout.write(
                f"                 (secret {saved.get('totp_secret', '?')}: add it to an authenticator app)"
            )
        if saved.get("demo_password"):
            self.stdout.write(f"  Demo users:    alice@demo.local, bob@demo.local / {saved['demo_password']}")
        self.stdout.write("")
