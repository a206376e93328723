"""Finance fixtures: a funded OPERATING account, finance staff, and a reconcile check after every test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission

from apps.accounts.models import AccountType, Balance
from apps.accounts.reconcile import reconcile
from apps.accounts.services import manual_credit
from apps.users.models import Organization, User

FINANCE_PERMS = [
    "add_airdrop",
    "view_airdrop",
    "add_lockup",
    "release_lockup",
    "add_bonusgrant",
    "release_bonusgrant",
    "add_accounttransferlock",
    "change_accounttransferlock",
    "add_mappingrecord",
    "add_commissionrecord",
]


@pytest.fixture(autouse=True)
def _reconciled(request: Any) -> Iterator[None]:
    yield
    if (
        "db" in request.fixturenames
        or "transactional_db" in request.fixturenames
        or request.node.get_closest_marker("django_db")
    ):
        report = reconcile()
        assert report["ok"], report


@pytest.fixture
def fund_operating(org: Organization) -> Callable[..., None]:
    def credit(token: str, amount: str, organization: Organization | None = None) -> None:
        manual_credit(organization=organization or org, token_id=token, amount=amount, reason="operating float")

    return credit


@pytest.fixture
def finance_staff(django_user_model: Any) -> User:
    staff = django_user_model.objects.create_user(username="finops", password="pw-for-tests-only", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="finance", codename__in=FINANCE_PERMS))
    return User.objects.get(pk=staff.pk)  # fresh instance: no cached permissions


@pytest.fixture
def plain_staff(django_user_model: Any) -> User:
    return django_user_model.objects.create_user(username="nobody", password="pw-for-tests-only", is_staff=True)


@pytest.fixture
def balance() -> Callable[..., tuple[Decimal, Decimal, Decimal]]:
    """(available, hold, lockup) of a user's main SPOT balance, or of an org's system account."""

    def read(
        user: User | None = None,
        token: str = "BTC",  # noqa: S107 — an asset id, not a secret
        organization: Organization | None = None,
        type: str = "",
    ) -> tuple[Decimal, Decimal, Decimal]:
        if user is not None:
            row = Balance.objects.filter(
                account__user=user, account__type=AccountType.SPOT, account__index=0, token_id=token
            ).first()
        else:
            row = Balance.objects.filter(
                account__organization=organization, account__user=None, account__type=type, token_id=token
            ).first()
        return (row.available, row.hold, row.lockup) if row else (Decimal(0), Decimal(0), Decimal(0))

    return read
