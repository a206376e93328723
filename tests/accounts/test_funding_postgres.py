"""Funding races that only a real database with row locks can prove (PostgreSQL, one connection per thread)."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from django.test import Client

from apps.accounts import funding
from apps.accounts.custody.http import sign
from apps.accounts.custody.simulated import SimulatedCustodyGateway
from apps.accounts.models import Deposit, DepositStatus, LedgerTransaction, Withdrawal, WithdrawalStatus
from apps.accounts.reconcile import reconcile
from apps.core import errors
from apps.users.models import User
from tests.accounts.test_funding_fixtures import FUND_PASSWORD, balance, totp_code
from tests.concurrency import run_concurrently

pytestmark = [pytest.mark.django_db(transaction=True)]
pytest_plugins = ["tests.accounts.test_funding_fixtures"]


def test_100_concurrent_withdrawals_of_the_full_balance_one_succeeds(postgres, withdrawer, monkeypatch):
    # django-otp accepts a TOTP code once (replay protection), so 100 requests cannot share one code;
    # the second factor is proven elsewhere. Here every request passes it and races for the balance.
    monkeypatch.setattr(funding, "totp_verify", lambda *, user, code: None)
    user_id = withdrawer.pk

    def withdraw(i: int) -> object:
        user = User.objects.get(pk=user_id)
        return funding.withdrawal_request(
            user=user,
            token_id="BTC",
            amount="2",
            address="bc1qdestination",
            fund_password=FUND_PASSWORD,
            totp_code="ignored",
        )

    results = run_concurrently(100, withdraw)
    succeeded = [r for r in results if isinstance(r, Withdrawal)]
    refused = [r for r in results if isinstance(r, errors.InsufficientBalance)]
    assert len(succeeded) == 1, [r for r in results if not isinstance(r, (Withdrawal, errors.InsufficientBalance))]
    assert len(refused) == 99
    assert Withdrawal.objects.count() == 1
    assert balance(withdrawer, "BTC") == (Decimal("0"), Decimal("2"))
    assert reconcile()["ok"]


def test_same_deposit_reported_20_times_concurrently_credits_once(postgres, make_user, funding_tokens):
    user = make_user()
    address = funding.deposit_address_get(user=user, token_id="BTC")

    def observe(i: int) -> object:
        return funding.deposit_observe(
            token_id="BTC",
            chain="BTC",
            txid="race-tx",
            output_index=0,
            address=address.address,
            amount="0.42",
            confirmations=2 + i % 3,
        )

    results = run_concurrently(20, observe)
    assert all(isinstance(r, Deposit) for r in results), results
    assert Deposit.objects.count() == 1
    assert Deposit.objects.get().status == DepositStatus.CREDITED
    assert LedgerTransaction.objects.filter(kind="deposit").count() == 1
    assert balance(user, "BTC") == (Decimal("0.42"), 0)
    assert reconcile()["ok"]


def test_same_deposit_callback_delivered_20_times_concurrently_credits_once(
    postgres, make_user, funding_tokens, settings
):
    user = make_user()
    address = funding.deposit_address_get(user=user, token_id="BTC")  # issued by the simulated backend
    settings.CUSTODY_BACKEND = "http"
    settings.CUSTODY_CALLBACK_SECRET = "s3cret"
    body = json.dumps(
        {
            "type": "deposit",
            "token": "BTC",
            "chain": "BTC",
            "txid": "callback-race",
            "output_index": 3,
            "address": address.address,
            "amount": "1.5",
            "confirmations": 6,
        }
    ).encode()
    now = int(time.time())

    def deliver(i: int) -> object:
        ts = str(now - i)  # each redelivery is signed anew
        response = Client().post(
            "/custody/callback",
            body,
            content_type="application/json",
            headers={"X-Custody-Timestamp": ts, "X-Custody-Signature": sign("s3cret", ts, body)},
        )
        return response.status_code, response.json()

    results = run_concurrently(20, deliver)
    assert all(r[0] == 200 and r[1]["status"] == "credited" for r in results), results  # type: ignore[index]
    assert Deposit.objects.count() == 1
    assert balance(user, "BTC") == (Decimal("1.5"), 0)
    assert reconcile()["ok"]


def test_failed_withdrawal_refunds_exactly_once_under_concurrent_reports(postgres, withdrawer, approver, monkeypatch):
    # Keep the withdrawal in "broadcast": the simulated confirmation is not scheduled.
    monkeypatch.setattr(SimulatedCustodyGateway, "after_broadcast", lambda self, *, withdrawal: None)
    withdrawal = funding.withdrawal_request(
        user=withdrawer,
        token_id="BTC",
        amount="1.5",
        address="bc1qdestination",
        fund_password=FUND_PASSWORD,
        totp_code=totp_code(withdrawer),
    )
    funding.withdrawal_approve(withdrawal_id=withdrawal.pk, acting_user=approver)
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.BROADCAST
    assert balance(withdrawer, "BTC") == (Decimal("0.5"), Decimal("1.5"))

    def report(i: int) -> object:
        if i % 4 == 0:  # a conflicting "completed" report races the failures
            return funding.withdrawal_complete(withdrawal_id=withdrawal.pk)
        return funding.withdrawal_fail(withdrawal_id=withdrawal.pk, reason="rejected by the network")

    results = run_concurrently(20, report)
    withdrawal.refresh_from_db()
    unexpected = [r for r in results if not isinstance(r, (Withdrawal, errors.InvalidTransition))]
    assert not unexpected, unexpected
    release = LedgerTransaction.objects.filter(idempotency_key=f"withdrawal:{withdrawal.pk}:release").count()
    complete = LedgerTransaction.objects.filter(idempotency_key=f"withdrawal:{withdrawal.pk}:complete").count()
    assert release + complete == 1
    if withdrawal.status == WithdrawalStatus.FAILED:
        assert balance(withdrawer, "BTC") == (Decimal("2"), 0)
    else:
        assert withdrawal.status == WithdrawalStatus.COMPLETED
        assert balance(withdrawer, "BTC") == (Decimal("0.5"), 0)
    assert reconcile()["ok"]


def test_approved_withdrawal_failing_at_the_custodian_refunds_once(postgres, withdrawer, approver, monkeypatch):
    monkeypatch.setattr(SimulatedCustodyGateway, "after_broadcast", lambda self, *, withdrawal: None)
    withdrawal = funding.withdrawal_request(
        user=withdrawer,
        token_id="BTC",
        amount="2",
        address="bc1qdestination",
        fund_password=FUND_PASSWORD,
        totp_code=totp_code(withdrawer),
    )
    funding.withdrawal_approve(withdrawal_id=withdrawal.pk, acting_user=approver)

    def fail(i: int) -> object:
        return funding.withdrawal_fail(withdrawal_id=withdrawal.pk, reason="custodian failure")

    results = run_concurrently(20, fail)
    assert all(isinstance(r, Withdrawal) for r in results), results
    assert LedgerTransaction.objects.filter(idempotency_key=f"withdrawal:{withdrawal.pk}:release").count() == 1
    assert balance(withdrawer, "BTC") == (Decimal("2"), 0)
    assert reconcile()["ok"]
