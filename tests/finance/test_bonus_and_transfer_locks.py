"""Bonus credits (赠金) and staff transfer locks on an account (seed 002 B-side)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.accounts.models import AccountType
from apps.accounts.services import user_account
from apps.core.errors import InvalidParameter, OperatingBalanceInsufficient, PermissionDenied
from apps.finance import services
from apps.finance.models import BonusGrant
from apps.finance.selectors import account_transfer_allowed

pytestmark = pytest.mark.django_db
D = Decimal


def test_withdrawable_bonus_lands_in_available(org, tokens, make_user, fund_operating, balance, finance_staff):
    fund_operating("USDT", "1000")
    alice = make_user()
    grant = services.bonus_grant(
        user=alice, token_id="USDT", amount="50", withdrawable=True, client_order_id="b-1", acting_user=finance_staff
    )
    assert balance(alice, "USDT") == (D("50"), 0, 0)
    assert balance(organization=org, type=AccountType.OPERATING, token="USDT") == (D("950"), 0, 0)
    again = services.bonus_grant(
        user=alice, token_id="USDT", amount="50", withdrawable=True, client_order_id="b-1", acting_user=finance_staff
    )
    assert again.pk == grant.pk and again.created is False and balance(alice, "USDT") == (D("50"), 0, 0)
    with pytest.raises(InvalidParameter):
        services.bonus_release(grant_id=grant.pk, acting_user=finance_staff)


def test_non_withdrawable_bonus_stays_in_lockup_until_released(org, tokens, make_user, fund_operating, balance):
    fund_operating("USDT", "100")
    alice = make_user()
    grant = services.bonus_grant(user=alice, token_id="USDT", amount="30", withdrawable=False)
    assert balance(alice, "USDT") == (0, 0, D("30"))
    released = services.bonus_release(grant_id=grant.pk, organization=org)
    assert released.status == "released" and balance(alice, "USDT") == (D("30"), 0, 0)
    assert services.bonus_release(grant_id=grant.pk).created is False
    assert balance(alice, "USDT") == (D("30"), 0, 0)


def test_bonus_needs_the_permission_and_an_operating_balance(org, tokens, make_user, fund_operating, plain_staff):
    fund_operating("USDT", "10")
    alice = make_user()
    with pytest.raises(PermissionDenied):
        services.bonus_grant(user=alice, token_id="USDT", amount="1", withdrawable=True, acting_user=plain_staff)
    with pytest.raises(OperatingBalanceInsufficient):
        services.bonus_grant(user=alice, token_id="USDT", amount="11", withdrawable=False)
    assert not BonusGrant.objects.exists()


def test_transfer_locks_block_one_direction_until_lifted(tokens, make_user, finance_staff, plain_staff):
    alice = make_user()
    spot = user_account(user=alice)
    funding = user_account(user=alice, type=AccountType.FUNDING)
    assert account_transfer_allowed(account=spot, direction="out")
    with pytest.raises(PermissionDenied):
        services.account_transfer_lock(account=spot, direction="out", reason="review", acting_user=plain_staff)
    lock = services.account_transfer_lock(account=spot, direction="out", reason="review", acting_user=finance_staff)
    assert not account_transfer_allowed(account=spot, direction="out")
    assert account_transfer_allowed(account=spot, direction="in")
    assert account_transfer_allowed(account=funding, direction="out")
    both = services.account_transfer_lock(account=funding, direction="both", reason="campaign")
    assert not account_transfer_allowed(account=funding, direction="in")
    assert not account_transfer_allowed(account=funding, direction="out")

    services.account_transfer_unlock(lock_id=lock.pk, acting_user=finance_staff)
    assert account_transfer_allowed(account=spot, direction="out")
    services.account_transfer_unlock(lock_id=both.pk)
    assert account_transfer_allowed(account=funding, direction="in")
    with pytest.raises(InvalidParameter):
        services.account_transfer_lock(account=spot, direction="sideways", reason="x")


def test_transfer_service_honours_transfer_locks(tokens, make_user, fund):
    from apps.accounts.funding import transfer_create
    from apps.core.errors import TransferNotAllowed

    user = make_user()
    fund(user, "USDT", "100")
    spot = user_account(user=user)
    funding = user_account(user=user, type=AccountType.FUNDING)
    lock = services.account_transfer_lock(account=spot, direction="out", reason="review")
    with pytest.raises(TransferNotAllowed):
        transfer_create(user=user, token_id="USDT", amount="10", from_type="spot", to_type="funding")
    services.account_transfer_unlock(lock_id=lock.pk)
    inbound = services.account_transfer_lock(account=funding, direction="in", reason="campaign")
    with pytest.raises(TransferNotAllowed):
        transfer_create(user=user, token_id="USDT", amount="10", from_type="spot", to_type="funding")
    services.account_transfer_unlock(lock_id=inbound.pk)
    transfer_create(user=user, token_id="USDT", amount="10", from_type="spot", to_type="funding")
    from apps.accounts.models import Balance

    assert Balance.objects.get(account=funding, token_id="USDT").available == D("10")
