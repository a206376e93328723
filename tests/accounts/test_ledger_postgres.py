"""Ledger guarantees that only a real database with row locks and triggers can prove (PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from apps.accounts.ledger import Leg, ledger_post
from apps.accounts.models import AccountType, Balance, LedgerTransaction, Posting
from apps.accounts.reconcile import reconcile
from apps.accounts.services import system_account, user_account
from apps.core.errors import InsufficientBalance
from tests.concurrency import run_concurrently

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_zero_sum_trigger_rejects_unbalanced_transaction_at_commit(postgres, org, tokens, make_user):
    user = make_user()
    spot = user_account(user=user)
    with pytest.raises(IntegrityError, match="unbalanced"):
        with transaction.atomic():
            tx = LedgerTransaction.objects.create(organization=org, kind="adjustment")
            # bulk_create bypasses the posting function: only the database can stop this.
            Posting.objects.bulk_create(
                [Posting(transaction=tx, account=spot, token_id="BTC", bucket="available", amount=Decimal("1"))]
            )
            # Still inside the transaction: the deferred trigger has not fired yet.
            assert Posting.objects.filter(transaction=tx).count() == 1
    assert not Posting.objects.exists()


def test_zero_sum_trigger_accepts_balanced_raw_inserts(postgres, org, tokens, make_user):
    user = make_user()
    spot = user_account(user=user)
    custody = system_account(organization_id=org.pk, type=AccountType.CUSTODY)
    with transaction.atomic():
        tx = LedgerTransaction.objects.create(organization=org, kind="adjustment")
        Posting.objects.create(transaction=tx, account=spot, token_id="BTC", bucket="available", amount=Decimal("1"))
        Posting.objects.create(
            transaction=tx, account=custody, token_id="BTC", bucket="available", amount=Decimal("-1")
        )
    assert Posting.objects.filter(transaction=tx).count() == 2


def test_postings_are_append_only(postgres, org, tokens, make_user, fund):
    user = make_user()
    fund(user, "BTC", "1")
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            Posting.objects.filter(account__user=user).update(amount=Decimal("2"))
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM accounts_ledgertransaction")


def test_check_constraint_refuses_negative_bucket_written_directly(postgres, org, tokens, make_user, fund):
    user = make_user()
    fund(user, "BTC", "1")
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            Balance.objects.filter(account__user=user).update(available=Decimal("-1"))


def test_fifty_concurrent_debits_never_overdraw(postgres, org, tokens, make_user, fund):
    payer, payee = make_user(), make_user()
    fund(payer, "USDT", "100")
    src, dst = user_account(user=payer).pk, user_account(user=payee).pk
    amount = Decimal("3")

    def debit(i: int) -> object:
        return ledger_post(
            kind="transfer",
            organization_id=org.pk,
            legs=[Leg(src, "USDT", "available", -amount), Leg(dst, "USDT", "available", amount)],
            reference=f"race:{i}",
        )

    results = run_concurrently(50, debit)
    successes = [r for r in results if isinstance(r, LedgerTransaction)]
    failures = [r for r in results if isinstance(r, InsufficientBalance)]
    assert len(successes) + len(failures) == 50, [
        r for r in results if not isinstance(r, LedgerTransaction | InsufficientBalance)
    ]
    assert len(successes) == 33  # floor(100 / 3): every debit that fits, and not one more
    payer_balance = Balance.objects.get(account_id=src, token_id="USDT").available
    assert payer_balance == Decimal("100") - amount * len(successes) == Decimal("1")
    assert Balance.objects.get(account_id=dst, token_id="USDT").available == amount * len(successes)
    assert reconcile()["ok"]


def test_concurrent_retries_of_one_idempotency_key_have_one_effect(postgres, org, tokens, make_user):
    user = make_user()
    custody = system_account(organization_id=org.pk, type=AccountType.CUSTODY).pk
    spot = user_account(user=user).pk

    def credit(i: int) -> object:
        return ledger_post(
            kind="deposit",
            organization_id=org.pk,
            legs=[Leg(custody, "BTC", "available", Decimal("-0.5")), Leg(spot, "BTC", "available", Decimal("0.5"))],
            idempotency_key="deposit:chain:txid:0",
        )

    results = run_concurrently(20, credit)
    assert all(isinstance(r, LedgerTransaction) for r in results), results
    assert len({r.pk for r in results}) == 1  # type: ignore[union-attr]
    assert sum(1 for r in results if r.created) == 1  # type: ignore[union-attr]
    assert Balance.objects.get(account_id=spot, token_id="BTC").available == Decimal("0.5")
    assert reconcile()["ok"]


def test_opposite_transfers_do_not_deadlock(postgres, org, tokens, make_user, fund):
    a, b = make_user(), make_user()
    fund(a, "USDT", "1000")
    fund(b, "USDT", "1000")
    ids = [user_account(user=a).pk, user_account(user=b).pk]

    def transfer(i: int) -> object:
        src, dst = (ids[0], ids[1]) if i % 2 else (ids[1], ids[0])
        return ledger_post(
            kind="transfer",
            organization_id=org.pk,
            legs=[Leg(src, "USDT", "available", Decimal("-1")), Leg(dst, "USDT", "available", Decimal("1"))],
        )

    results = run_concurrently(30, transfer)
    assert all(isinstance(r, LedgerTransaction) for r in results), results
    assert connection.vendor == "postgresql"
    total = sum(Balance.objects.filter(account_id__in=ids, token_id="USDT").values_list("available", flat=True))
    assert total == Decimal("2000")
    assert reconcile()["ok"]
