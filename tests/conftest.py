"""Shared fixtures.

Tests that need PostgreSQL or Redis use the ``postgres`` / ``redis_service`` fixtures: they skip
with a reason when the service is not configured, and fail instead when ``REQUIRE_SERVICES=1``
(CI), so a missing service can never pass as a skip there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

from apps.accounts.models import AccountType, Balance
from apps.accounts.services import manual_credit
from apps.tokens.models import Symbol, Token
from apps.trading.models import Order
from apps.trading.services import order_place
from apps.users.models import Organization, User
from apps.users.services import organization_create, user_create

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def require(condition: object, reason: str) -> None:
    if condition:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def postgres() -> None:
    require(settings.DB_IS_POSTGRES, "needs PostgreSQL: set DATABASE_URL=postgres://…")


@pytest.fixture
def redis_service() -> str:
    require(settings.REDIS_URL, "needs Redis: set REDIS_URL=redis://…")
    return settings.REDIS_URL


@pytest.fixture
def org(db: Any) -> Organization:
    return organization_create(name="Test Broker")


@pytest.fixture
def other_org(db: Any) -> Organization:
    return organization_create(name="Other Broker")


@pytest.fixture
def tokens(db: Any) -> dict[str, Token]:
    from apps.tokens.services import chain_create, token_create

    btc = token_create(id="BTC", name="BTC", precision=8)
    usdt = token_create(id="USDT", name="USDT", precision=6)
    eth = token_create(id="ETH", name="ETH", precision=8)
    chain_create(token=btc, chain="BTC", confirmations_required=2, withdraw_fee=Decimal("0.0005"))
    chain_create(token=usdt, chain="TRC20", confirmations_required=3, withdraw_fee=Decimal("1"))
    return {"BTC": btc, "USDT": usdt, "ETH": eth}


@pytest.fixture
def btcusdt(tokens: dict[str, Token]) -> Symbol:
    from apps.tokens.services import symbol_create

    return symbol_create(
        base=tokens["BTC"],
        quote=tokens["USDT"],
        price_tick=Decimal("0.01"),
        quantity_step=Decimal("0.0001"),
        min_quantity=Decimal("0.0001"),
        max_quantity=Decimal("1000"),
        min_notional=Decimal("1"),
        maker_fee_rate=Decimal("0.001"),
        taker_fee_rate=Decimal("0.002"),
        price_band_rate=Decimal("0"),
        market_band_rate=Decimal("0"),
        merge_levels="0.01,0.1,1,10",
    )


_counter = {"n": 0}


@pytest.fixture
def make_user(org: Organization) -> Callable[..., User]:
    def make(email: str | None = None, organization: Organization | None = None, **kwargs: Any) -> User:
        _counter["n"] += 1
        return user_create(
            organization=organization or org,
            email=email or f"user{_counter['n']}@example.com",
            password="correct horse battery staple",
            **kwargs,
        )

    return make


@pytest.fixture
def fund() -> Callable[..., None]:
    def credit(user: User, token: str, amount: str, account_type: str = AccountType.SPOT) -> None:
        manual_credit(user=user, token_id=token, amount=amount, reason="test funding", account_type=account_type)

    return credit


@pytest.fixture(autouse=True)
def _isolated_services() -> Any:
    """Tasks run in-process unless a test starts a real worker; no cache entry survives a test."""
    from django.core.cache import cache

    from apps.trading.matching import forget_books
    from broker.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    cache.clear()
    forget_books()
    yield
    app.conf.task_always_eager = eager
    forget_books()


@pytest.fixture(autouse=True)
def _default_language() -> Any:
    """Each test starts in English: a test client's request leaves its language active in the thread."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2's deliberate slowness costs seconds per created user; tests don't need it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _admin_without_totp(settings: Any) -> None:
    # Admin tests of other features sign staff in with force_login; tests/backoffice switch the
    # admin's TOTP step back on and test it.
    settings.BACKOFFICE_ADMIN_OTP = False


@pytest.fixture
def place() -> Callable[..., Order]:
    def make(user: User, side: str, type: str = "limit", symbol: str = "BTCUSDT", **kwargs: Any) -> Order:
        return order_place(user=user, symbol_id=symbol, side=side, type=type, **kwargs)

    return make


@pytest.fixture
def bal() -> Callable[..., tuple[Decimal, Decimal]]:
    """(available, hold) of a user's main SPOT balance of ``token``."""

    def read(user: User, token: str) -> tuple[Decimal, Decimal]:
        row = Balance.objects.filter(
            account__user=user, account__type=AccountType.SPOT, account__index=0, token_id=token
        ).first()
        return (row.available, row.hold) if row else (Decimal(0), Decimal(0))

    return read


@pytest.fixture
def traders(make_user, fund, btcusdt):
    alice, bob = make_user(email="alice@example.com"), make_user(email="bob@example.com")
    for user in (alice, bob):
        fund(user, "BTC", "10")
        fund(user, "USDT", "100000")
    return alice, bob
