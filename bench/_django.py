"""Shared setup for benchmarks that need the Django stack on PostgreSQL.

Each benchmark gets a fresh database (``BENCH_DATABASE_URL``, default
postgres://postgres@127.0.0.1:5432/broker_bench), dropped and re-created on start, migrated, with a
BTC/USDT market and funded users.
"""

from __future__ import annotations

import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup(db_name: str = "broker_bench", redis_url: str = "") -> None:
    import psycopg

    url = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{db_name}")
    parsed = urlparse(url)
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.path.lstrip("/")}"')
    os.environ["DATABASE_URL"] = url
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
        os.environ["CACHE_PREFIX"] = os.environ["CHANNEL_PREFIX"] = "bench"
    else:
        os.environ.pop("REDIS_URL", None)  # tasks in-process; matching is driven directly
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broker.settings")
    os.environ["CACHE_DIR"] = "/tmp/broker-bench-cache"  # noqa: S108
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def market(users: int, usdt: str = "100000000", btc: str = "1000000") -> tuple[Any, list[Any]]:
    from apps.accounts.services import manual_credit
    from apps.tokens.services import symbol_create, token_create
    from apps.users.services import organization_create, user_create

    org = organization_create(name="Bench Broker")
    btc_token = token_create(id="BTC", name="BTC", precision=8)
    usdt_token = token_create(id="USDT", name="USDT", precision=6)
    symbol = symbol_create(
        base=btc_token,
        quote=usdt_token,
        price_tick=Decimal("0.01"),
        quantity_step=Decimal("0.0001"),
        min_quantity=Decimal("0.0001"),
        max_quantity=Decimal("100000"),
        min_notional=Decimal("0.01"),
        price_band_rate=Decimal("0"),
        market_band_rate=Decimal("0"),
    )
    people = []
    for i in range(users):
        user = user_create(organization=org, email=f"bench{i}@example.com", password=None)
        manual_credit(user=user, token_id="USDT", amount=usdt, reason="bench")
        manual_credit(user=user, token_id="BTC", amount=btc, reason="bench")
        people.append(user)
    return symbol, people


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
