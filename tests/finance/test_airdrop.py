"""Airdrops: batches with bad rows, idempotency per batch and row, the up-front balance check, lockup drops."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from apps.accounts.models import AccountType, LedgerTransaction
from apps.core.errors import InsufficientBalance, PermissionDenied
from apps.events.models import OutboxEvent
from apps.finance import services
from apps.finance.models import Airdrop, AirdropItem, Lockup
from apps.finance.selectors import airdrop_get, airdrop_items
from apps.finance.tasks import airdrop_batch_run, lockups_release_due

D = Decimal


@pytest.mark.django_db(transaction=True)
def test_batch_with_bad_rows_fails_those_rows_and_a_rerun_changes_nothing(
    org, tokens, make_user, fund_operating, finance_staff, balance
):
    fund_operating("BTC", "10")
    alice, bob, carol = make_user(), make_user(), make_user()
    rows = [
        {"uid": str(alice.uid), "amount": "1.5"},
        {"uid": "999", "amount": "1"},  # unknown user
        {"uid": str(bob.uid), "amount": "abc"},  # not a number
        {"uid": str(bob.uid), "amount": "0.123456789"},  # more places than BTC's 8
        {"uid": str(carol.uid), "amount": "-2"},  # not positive
        {"uid": "", "amount": "1"},  # no uid
        {"uid": str(bob.uid), "amount": "2"},
        {"uid": str(alice.uid), "amount": "0.5"},  # a second row for the same user is a second drop
    ]

    airdrop = services.airdrop_batch_create(
        organization=org, batch_id="promo-1", token_id="BTC", rows=rows, acting_user=finance_staff
    )

    airdrop.refresh_from_db()  # the task ran in-process after commit
    assert airdrop.status == "completed"
    assert (airdrop.total_rows, airdrop.processed_rows, airdrop.succeeded_rows, airdrop.failed_rows) == (8, 8, 3, 5)
    assert airdrop.valid_amount == D("4")
    results = {i.row: (i.status, i.reason) for i in AirdropItem.objects.filter(airdrop=airdrop)}
    assert results[1] == ("succeeded", "")
    assert results[2] == ("failed", "unknown user")
    assert results[3][0] == "failed" and results[3][1].startswith("bad amount")
    assert results[4][0] == "failed" and "decimal places" in results[4][1]
    assert results[5][0] == "failed" and "greater than zero" in results[5][1]
    assert results[6] == ("failed", "unknown user")
    assert results[7] == ("succeeded", "") and results[8] == ("succeeded", "")
    assert balance(alice) == (D("2"), 0, 0)
    assert balance(bob) == (D("2"), 0, 0)
    assert balance(carol) == (0, 0, 0)
    assert balance(organization=org, type=AccountType.OPERATING) == (D("6"), 0, 0)
    received = OutboxEvent.objects.filter(type="airdrop", payload__stage="received")
    assert received.count() == 3 and {e.user_id for e in received} == {alice.pk, bob.pk}
    failed = airdrop_items(airdrop=airdrop_get(organization=org, batch_id="promo-1"), status="failed")
    assert sorted(i.row for i in failed) == [2, 3, 4, 5, 6]

    txs = LedgerTransaction.objects.count()
    again = services.airdrop_batch_create(
        organization=org, batch_id="promo-1", token_id="BTC", rows=rows, acting_user=finance_staff
    )
    assert again.pk == airdrop.pk and again.created is False
    airdrop_batch_run.delay(airdrop.pk)  # a duplicate task run
    assert LedgerTransaction.objects.count() == txs
    assert balance(alice) == (D("2"), 0, 0) and balance(bob) == (D("2"), 0, 0)
    assert Airdrop.objects.count() == 1


@pytest.mark.django_db
def test_batch_larger_than_the_operating_balance_is_refused_and_nothing_moves(
    org, tokens, make_user, fund_operating, balance
):
    fund_operating("USDT", "100")
    alice, bob = make_user(), make_user()
    txs = LedgerTransaction.objects.count()
    with pytest.raises(InsufficientBalance):
        services.airdrop_batch_create(
            organization=org,
            batch_id="too-big",
            token_id="USDT",
            rows=[{"uid": str(alice.uid), "amount": "60"}, {"uid": str(bob.uid), "amount": "60"}],
        )
    assert not Airdrop.objects.exists() and not AirdropItem.objects.exists()
    assert LedgerTransaction.objects.count() == txs
    assert balance(organization=org, type=AccountType.OPERATING, token="USDT") == (D("100"), 0, 0)
    assert balance(alice, "USDT") == (0, 0, 0)


@pytest.mark.django_db
def test_batch_is_rejected_whole_when_the_source_was_drained_before_it_ran(
    org, tokens, make_user, fund_operating, balance
):
    fund_operating("BTC", "3")
    alice, bob = make_user(), make_user()
    # Without transaction=True the after-commit task does not run: the batch stays pending.
    airdrop = services.airdrop_batch_create(
        organization=org,
        batch_id="late",
        token_id="BTC",
        rows=[{"uid": str(alice.uid), "amount": "1"}, {"uid": str(bob.uid), "amount": "1"}],
    )
    assert airdrop.status == "pending"
    services.bonus_grant(user=bob, token_id="BTC", amount="2", withdrawable=True)  # operating now holds 1

    result = services.airdrop_batch_process(airdrop_id=airdrop.pk)

    assert result.status == "rejected" and "less than 2" in result.reason
    assert balance(alice) == (0, 0, 0)
    assert AirdropItem.objects.filter(airdrop=airdrop, status="pending").count() == 2
    assert services.airdrop_batch_process(airdrop_id=airdrop.pk).status == "rejected"


@pytest.mark.django_db
def test_airdrop_into_lockup_is_released_by_the_periodic_task_on_its_date(
    org, tokens, make_user, fund_operating, balance
):
    fund_operating("ETH", "5")
    alice = make_user()
    unlock_at = timezone.now() + timedelta(days=30)
    airdrop = services.airdrop_batch_create(
        organization=org,
        batch_id="vest",
        token_id="ETH",
        rows=[{"uid": str(alice.uid), "amount": "2"}],
        bucket="lockup",
        unlock_at=unlock_at,
    )
    services.airdrop_batch_process(airdrop_id=airdrop.pk)
    assert balance(alice, "ETH") == (0, 0, D("2"))
    lockup = Lockup.objects.get(user=alice)
    assert lockup.source == "airdrop" and lockup.unlock_at == unlock_at

    assert lockups_release_due.delay().get(disable_sync_subtasks=False) == 0
    with time_machine.travel(unlock_at + timedelta(seconds=1)):
        assert lockups_release_due.delay().get(disable_sync_subtasks=False) == 1
    assert balance(alice, "ETH") == (D("2"), 0, 0)
    lockup.refresh_from_db()
    assert lockup.status == "released" and lockup.release_transaction is not None


@pytest.mark.django_db
def test_airdrop_from_a_named_source_user(org, tokens, make_user, fund, balance):
    sponsor, alice = make_user(), make_user()
    fund(sponsor, "USDT", "50")
    airdrop = services.airdrop_batch_create(
        organization=org,
        batch_id="sponsor-1",
        token_id="USDT",
        rows=[{"uid": str(alice.uid), "amount": "20"}, {"uid": str(sponsor.uid), "amount": "1"}],
        source_uid=sponsor.uid,
    )
    done = services.airdrop_batch_process(airdrop_id=airdrop.pk)
    assert (done.succeeded_rows, done.failed_rows) == (1, 1)
    assert AirdropItem.objects.get(airdrop=airdrop, row=2).reason == "recipient is the source"
    assert balance(sponsor, "USDT") == (D("30"), 0, 0) and balance(alice, "USDT") == (D("20"), 0, 0)


@pytest.mark.django_db
def test_users_of_another_organization_are_unknown(org, other_org, tokens, make_user, fund_operating, balance):
    fund_operating("BTC", "1")
    stranger = make_user(organization=other_org)
    airdrop = services.airdrop_batch_create(
        organization=org, batch_id="x", token_id="BTC", rows=[{"uid": str(stranger.uid), "amount": "1"}]
    )
    assert services.airdrop_batch_process(airdrop_id=airdrop.pk).failed_rows == 1
    assert balance(stranger) == (0, 0, 0)


@pytest.mark.django_db
def test_staff_without_the_permission_cannot_airdrop(org, tokens, make_user, fund_operating, plain_staff):
    fund_operating("BTC", "1")
    with pytest.raises(PermissionDenied):
        services.airdrop_batch_create(
            organization=org,
            batch_id="nope",
            token_id="BTC",
            rows=[{"uid": str(make_user().uid), "amount": "1"}],
            acting_user=plain_staff,
        )
    assert not Airdrop.objects.exists()


@pytest.mark.django_db
def test_a_row_the_source_cannot_cover_mid_batch_fails_alone(
    org, tokens, make_user, fund_operating, balance, monkeypatch
):
    fund_operating("BTC", "2")
    alice, bob = make_user(), make_user()
    airdrop = services.airdrop_batch_create(
        organization=org,
        batch_id="short",
        token_id="BTC",
        rows=[{"uid": str(alice.uid), "amount": "1"}, {"uid": str(bob.uid), "amount": "1"}],
    )
    services.bonus_grant(user=bob, token_id="BTC", amount="0.5", withdrawable=True)
    # The source is spent between the start check and the rows (a concurrent operation): simulate
    # the check passing, then the second row finds the source short.
    monkeypatch.setattr(services, "_available", lambda account_id, token_id: D("1000"))

    done = services.airdrop_batch_process(airdrop_id=airdrop.pk)

    assert (done.status, done.succeeded_rows, done.failed_rows) == ("completed", 1, 1)
    failed = AirdropItem.objects.get(airdrop=airdrop, status="failed")
    assert failed.row == 2 and "Insufficient BTC" in failed.reason
    assert balance(alice) == (D("1"), 0, 0) and balance(bob) == (D("0.5"), 0, 0)
    assert balance(organization=org, type=AccountType.OPERATING) == (D("0.5"), 0, 0)
