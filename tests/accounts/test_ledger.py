"""The posting function (DESIGN.md §6), on whichever database the suite runs on."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from apps.accounts.ledger import Leg, ledger_post
from apps.accounts.models import AccountType, Balance, Bucket, LedgerTransaction, Posting
from apps.accounts.reconcile import reconcile
from apps.accounts.services import system_account, user_account
from apps.core.errors import InsufficientBalance, InvalidAmount, UnbalancedTransaction, UnknownAccount, UnknownToken

pytestmark = pytest.mark.django_db


def balance(account_id: int, token: str) -> Balance:
    return Balance.objects.get(account_id=account_id, token_id=token)


def test_balanced_post_updates_balances_and_writes_postings(org, tokens, make_user):
    user = make_user()
    custody = system_account(organization_id=org.pk, type=AccountType.CUSTODY)
    spot = user_account(user=user)
    tx = ledger_post(
        kind="manual_credit",
        organization_id=org.pk,
        legs=[
            Leg(custody.pk, "BTC", Bucket.AVAILABLE, Decimal("-1.5")),
            Leg(spot.pk, "BTC", Bucket.AVAILABLE, Decimal("1.5")),
        ],
    )
    assert tx.created is True
    assert balance(spot.pk, "BTC").available == Decimal("1.5")
    assert balance(custody.pk, "BTC").available == Decimal("-1.5")  # custody mirrors the custodian
    assert [p.amount for p in Posting.objects.filter(transaction=tx).order_by("id")] == [
        Decimal("-1.5"),
        Decimal("1.5"),
    ]
    assert Posting.objects.get(transaction=tx, account=spot).total_after == Decimal("1.5")
    assert reconcile()["ok"]


def test_move_between_buckets_keeps_total(org, tokens, make_user, fund):
    user = make_user()
    fund(user, "USDT", "100")
    spot = user_account(user=user)
    ledger_post(
        kind="order_hold",
        organization_id=org.pk,
        legs=[Leg(spot.pk, "USDT", Bucket.AVAILABLE, Decimal("-40")), Leg(spot.pk, "USDT", Bucket.HOLD, Decimal("40"))],
    )
    row = balance(spot.pk, "USDT")
    assert (row.available, row.hold, row.total) == (Decimal("60"), Decimal("40"), Decimal("100"))


@pytest.mark.parametrize(
    "legs, error",
    [
        ([], UnbalancedTransaction),
        ([("user", "BTC", "available", "1")], UnbalancedTransaction),
        ([("custody", "BTC", "available", "-1"), ("user", "BTC", "available", "2")], UnbalancedTransaction),
        ([("custody", "BTC", "available", "-1"), ("user", "USDT", "available", "1")], UnbalancedTransaction),
        ([("custody", "DOGE", "available", "-1"), ("user", "DOGE", "available", "1")], UnknownToken),
        ([("custody", "BTC", "available", "0"), ("user", "BTC", "available", "0")], InvalidAmount),
        ([("custody", "BTC", "available", "-1e-19"), ("user", "BTC", "available", "1e-19")], InvalidAmount),
        ([("custody", "BTC", "available", "-NaN"), ("user", "BTC", "available", "NaN")], InvalidAmount),
        ([("custody", "BTC", "available", "-1"), ("user", "BTC", "pocket", "1")], InvalidAmount),
        ([("custody", "BTC", "available", "-1"), ("missing", "BTC", "available", "1")], UnknownAccount),
    ],
)
def test_bad_input_raises_domain_error_and_writes_nothing(org, tokens, make_user, legs, error):
    user = make_user()
    accounts = {
        "custody": system_account(organization_id=org.pk, type=AccountType.CUSTODY).pk,
        "user": user_account(user=user).pk,
        "missing": 999_999_999,
    }
    before = (LedgerTransaction.objects.count(), Posting.objects.count(), Balance.objects.count())
    with pytest.raises(error):
        ledger_post(
            kind="adjustment",
            organization_id=org.pk,
            legs=[Leg(accounts[a], t, b, Decimal(x)) for a, t, b, x in legs],
        )
    assert (LedgerTransaction.objects.count(), Posting.objects.count(), Balance.objects.count()) == before


def test_float_amounts_are_refused(org, tokens, make_user):
    user = make_user()
    custody = system_account(organization_id=org.pk, type=AccountType.CUSTODY)
    with pytest.raises(InvalidAmount):
        ledger_post(
            kind="adjustment",
            organization_id=org.pk,
            legs=[Leg(custody.pk, "BTC", "available", -0.1), Leg(user_account(user=user).pk, "BTC", "available", 0.1)],  # type: ignore[arg-type]
        )


def test_insufficient_balance_raises_and_changes_nothing(org, tokens, make_user, fund):
    alice, bob = make_user(), make_user()
    fund(alice, "BTC", "1")
    a, b = user_account(user=alice), user_account(user=bob)
    postings_before = Posting.objects.count()
    with pytest.raises(InsufficientBalance):
        ledger_post(
            kind="transfer",
            organization_id=org.pk,
            legs=[
                Leg(a.pk, "BTC", "available", Decimal("-1.00000001")),
                Leg(b.pk, "BTC", "available", Decimal("1.00000001")),
            ],
        )
    assert balance(a.pk, "BTC").available == Decimal("1")
    assert not Balance.objects.filter(account=b, available__gt=0).exists()
    assert Posting.objects.count() == postings_before


def test_hold_and_lockup_never_go_negative_even_on_allow_negative_accounts(org, tokens):
    custody = system_account(organization_id=org.pk, type=AccountType.CUSTODY)
    operating = system_account(organization_id=org.pk, type=AccountType.OPERATING)
    with pytest.raises(InsufficientBalance):
        ledger_post(
            kind="adjustment",
            organization_id=org.pk,
            legs=[Leg(custody.pk, "BTC", "hold", Decimal("-1")), Leg(operating.pk, "BTC", "available", Decimal("1"))],
        )


def test_idempotency_key_applied_twice_has_one_effect(org, tokens, make_user):
    user = make_user()
    custody = system_account(organization_id=org.pk, type=AccountType.CUSTODY)
    spot = user_account(user=user)
    legs = [Leg(custody.pk, "USDT", "available", Decimal("-5")), Leg(spot.pk, "USDT", "available", Decimal("5"))]
    first = ledger_post(kind="deposit", organization_id=org.pk, legs=legs, idempotency_key="deposit:tx1:0")
    second = ledger_post(kind="deposit", organization_id=org.pk, legs=legs, idempotency_key="deposit:tx1:0")
    assert first.pk == second.pk
    assert (first.created, second.created) == (True, False)
    assert balance(spot.pk, "USDT").available == Decimal("5")
    assert LedgerTransaction.objects.filter(idempotency_key="deposit:tx1:0").count() == 1


def test_reconcile_detects_a_balance_edited_behind_the_ledgers_back(org, tokens, make_user, fund):
    user = make_user()
    fund(user, "BTC", "2")
    assert reconcile()["ok"]
    Balance.objects.filter(account__user=user, token_id="BTC").update(available=Decimal("3"))
    report = reconcile()
    assert not report["ok"]
    assert report["mismatches"] == [
        {
            "account_id": user_account(user=user).pk,
            "token": "BTC",
            "bucket": "available",
            "balance": "3",
            "postings": "2",
        }
    ]
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("reconcile", stdout=out)
    assert exit_info.value.code == 1
    assert json.loads(out.getvalue())["ok"] is False


def test_reconcile_command_clean_exit(org, tokens, make_user, fund):
    fund(make_user(), "USDT", "10")
    out = StringIO()
    call_command("reconcile", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["ok"] is True and summary["postings"] == 2
