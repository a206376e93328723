"""Fixtures shared by the funding tests (imported by ``test_funding*.py`` and the User API tests)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import AccountType, Balance
from apps.tokens.models import ChainNetwork, Token
from apps.tokens.services import chain_create, token_create
from apps.users.models import Organization, User
from apps.users.security import fund_password_set

FUND_PASSWORD = "fund secret 4321 long"
TRON_ADDRESS = "T" + "A" * 33


def totp_code(user: User) -> str:
    """The current code of the user's device, made usable again.

    django-otp accepts each time step once and throttles after a failure; tests that make several
    verified requests within one 30-second step reset that state here (the production code never does).
    """
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    device.last_t = -1
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


@pytest.fixture
def funding_tokens(tokens: dict[str, Token]) -> dict[str, Any]:
    """BTC/BTC (2 confirmations, fee 0.0005), USDT/TRC20 (3, fee 1, Tron address format), XRP (memo), EUR (fiat)."""
    ChainNetwork.objects.filter(token_id="USDT", chain="TRC20").update(
        address_regex=r"T[1-9A-HJ-NP-Za-km-z]{33}", min_withdraw=Decimal("10")
    )
    ChainNetwork.objects.filter(token_id="BTC", chain="BTC").update(min_withdraw=Decimal("0.001"))
    Token.objects.filter(pk="BTC").update(min_deposit=Decimal("0.0001"))
    xrp = token_create(id="XRP", name="XRP", precision=6)
    chain_create(token=xrp, chain="XRP", confirmations_required=1, withdraw_fee=Decimal("0.25"), needs_memo=True)
    eur = token_create(id="EUR", name="EUR", precision=2, is_fiat=True)
    return {**tokens, "XRP": xrp, "EUR": eur}


@pytest.fixture
def withdrawer(make_user: Callable[..., User], fund: Callable[..., None], funding_tokens: dict[str, Any]) -> User:
    """A user with a fund password, a confirmed TOTP device, 2 BTC and 1000 USDT."""
    user = make_user(kyc_level=1)
    fund_password_set(user=user, password=FUND_PASSWORD)
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    fund(user, "BTC", "2")
    fund(user, "USDT", "1000")
    return user


@pytest.fixture
def make_staff(db: Any) -> Callable[..., User]:
    counter = {"n": 0}

    def make(*perms: str) -> User:
        counter["n"] += 1
        staff = User.objects.create_user(
            username=f"staff{counter['n']}", email=f"staff{counter['n']}@broker.test", password="x", is_staff=True
        )
        for perm in perms:
            app_label, codename = perm.split(".")
            staff.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        return User.objects.get(pk=staff.pk)  # fresh: no permission cache

    return make


@pytest.fixture
def approver(make_staff: Callable[..., User]) -> User:
    return make_staff("accounts.view_withdrawal", "accounts.approve_withdrawal", "accounts.view_deposit")


def balance(user: User, token: str, account_type: str = AccountType.SPOT) -> tuple[Decimal, Decimal]:
    row = Balance.objects.filter(
        account__user=user, account__type=account_type, account__index=0, token_id=token
    ).first()
    return (row.available, row.hold) if row else (Decimal(0), Decimal(0))


def system_balance(org: Organization, account_type: str, token: str) -> Decimal:
    row = Balance.objects.filter(
        account__organization=org, account__user__isnull=True, account__type=account_type, token_id=token
    ).first()
    return row.available if row else Decimal(0)
