"""Money moves only through domain services in the admin: money rows are read-only for everyone
(superusers included), and the staff actions that move money call the funding services, which post
to the ledger."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.accounts import admin as accounts_admin
from apps.accounts import funding
from apps.accounts.models import (
    Balance,
    Deposit,
    FundingAudit,
    LedgerTransaction,
    Posting,
    Transfer,
    Withdrawal,
    WithdrawalStatus,
)
from apps.finance.models import BonusGrant, Lockup
from apps.trading.models import Order, Trade
from tests.accounts.test_funding_fixtures import FUND_PASSWORD, balance, totp_code

pytestmark = pytest.mark.django_db

BTC_ADDRESS = "bc1qexampleaddress000000000000000000000"
# Rows that are money: no admin form may add, change or delete them.
MONEY_MODELS = [Balance, Posting, LedgerTransaction, Deposit, Withdrawal, Transfer, Order, Trade, Lockup, BonusGrant]


@pytest.fixture
def root(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="root", password="pw-for-tests-only")
    client.force_login(user)
    return user


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def withdrawal_request(user, amount="0.5"):
    return funding.withdrawal_request(
        user=user,
        token_id="BTC",
        amount=amount,
        address=BTC_ADDRESS,
        fund_password=FUND_PASSWORD,
        totp_code=totp_code(user),
    )


def test_posting_a_balance_change_form_is_refused_and_changes_nothing(client, root, withdrawer):
    row = Balance.objects.get(account__user=withdrawer, account__index=0, account__type="spot", token_id="BTC")
    before = (row.available, row.hold, row.lockup)
    response = client.post(
        _url(Balance, "change", row.pk),
        {"account": row.account_id, "token": "BTC", "available": "1000000", "hold": "0", "lockup": "0"},
    )
    assert response.status_code == 403
    row.refresh_from_db()
    assert (row.available, row.hold, row.lockup) == before
    assert client.post(_url(Balance, "add"), {"available": "1"}).status_code == 403
    assert client.post(_url(Balance, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert Balance.objects.filter(pk=row.pk).exists()


def test_every_money_model_is_read_only_even_for_a_superuser(client, root, withdrawer):
    from django.contrib import admin
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = root
    for model in MONEY_MODELS:
        model_admin = admin.site._registry[model]
        assert not model_admin.has_change_permission(request), model
        assert not model_admin.has_delete_permission(request), model
        # Adding a lock-up or a bonus is a service call behind the add page (finance), never a model form.
        if model not in (Lockup, BonusGrant):
            assert not model_admin.has_add_permission(request), model
    withdrawal = withdrawal_request(withdrawer)
    response = client.post(_url(Withdrawal, "change", withdrawal.pk), {"status": "completed", "amount": "0.1"})
    assert response.status_code == 403
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.REVIEWING and withdrawal.amount == Decimal("0.5")


def test_approving_a_withdrawal_in_the_admin_calls_the_service_and_posts_to_the_ledger(
    client, withdrawer, make_staff_member, monkeypatch, django_capture_on_commit_callbacks
):
    approver = make_staff_member("withdrawal-approver").user
    withdrawal = withdrawal_request(withdrawer)
    assert balance(withdrawer, "BTC") == (Decimal("1.5"), Decimal("0.5"))
    calls = []
    real = accounts_admin.withdrawal_approve

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(accounts_admin, "withdrawal_approve", spy)
    client.force_login(approver)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url(Withdrawal, "changelist"), {"action": "approve_selected", "_selected_action": [withdrawal.pk]}
        )
    assert response.status_code == 302
    assert calls == [{"withdrawal_id": withdrawal.pk, "acting_user": approver}]
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.COMPLETED  # simulated custodian, tasks in-process
    assert FundingAudit.objects.filter(withdrawal=withdrawal, action="withdrawal.approved", actor=approver).exists()
    kinds = list(
        LedgerTransaction.objects.filter(reference=f"withdrawal:{withdrawal.pk}")
        .order_by("pk")
        .values_list("idempotency_key", flat=True)
    )
    assert kinds[0].endswith(":hold") and len(kinds) == 2  # the hold at request, the payout at completion
    assert Posting.objects.filter(transaction__reference=f"withdrawal:{withdrawal.pk}").count() >= 4
    assert balance(withdrawer, "BTC") == (Decimal("1.5"), Decimal("0"))
    # The approval is in the withdrawal's history, under the approver's name.
    assert withdrawal.history.filter(status=WithdrawalStatus.APPROVED, history_user=approver).exists()


def test_support_cannot_approve_a_withdrawal(client, withdrawer, make_staff_member):
    support = make_staff_member("support").user
    withdrawal = withdrawal_request(withdrawer)
    client.force_login(support)
    page = client.get(_url(Withdrawal, "changelist"))
    assert page.status_code == 200 and b"approve_selected" not in page.content
    client.post(_url(Withdrawal, "changelist"), {"action": "approve_selected", "_selected_action": [withdrawal.pk]})
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.REVIEWING
    assert not withdrawal.approvals.exists()
