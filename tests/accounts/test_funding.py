"""Funding services: deposit addresses, deposits, withdrawals, fiat, transfers, address book."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from apps.accounts import funding
from apps.accounts.models import (
    AccountType,
    Deposit,
    DepositAddress,
    DepositStatus,
    FundingAudit,
    Transfer,
    Withdrawal,
    WithdrawalLimit,
    WithdrawalStatus,
)
from apps.accounts.reconcile import reconcile
from apps.accounts.services import user_account
from apps.accounts.tasks import sweep_approved_withdrawals
from apps.core import errors
from apps.events.models import OutboxEvent
from apps.users.models import FreezeKind, UserFreeze
from tests.accounts.test_funding_fixtures import FUND_PASSWORD, TRON_ADDRESS, balance, system_balance, totp_code

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["tests.accounts.test_funding_fixtures"]

BTC_ADDRESS = "bc1qexampleaddress000000000000000000000"


def request(user, **kwargs):
    args = {
        "token_id": "BTC",
        "amount": "0.5",
        "address": BTC_ADDRESS,
        "fund_password": FUND_PASSWORD,
        "totp_code": totp_code(user),
    }
    args.update(kwargs)
    return funding.withdrawal_request(user=user, **args)


# --- addresses and deposits ---------------------------------------------------------------------
def test_deposit_address_is_stable_and_per_user(make_user, funding_tokens):
    alice, bob = make_user(), make_user()
    first = funding.deposit_address_get(user=alice, token_id="BTC")
    again = funding.deposit_address_get(user=alice, token_id="btc", chain="BTC")
    other = funding.deposit_address_get(user=bob, token_id="BTC")
    assert first.pk == again.pk and first.address == again.address and first.memo == ""
    assert other.address != first.address
    assert DepositAddress.objects.count() == 2


def test_memo_chain_address_carries_a_memo(make_user, funding_tokens):
    alice, bob = make_user(), make_user()
    a = funding.deposit_address_get(user=alice, token_id="XRP")
    b = funding.deposit_address_get(user=bob, token_id="XRP")
    assert a.memo and b.memo and a.memo != b.memo


def test_deposit_address_rejects_unknown_and_suspended(make_user, funding_tokens):
    user = make_user()
    with pytest.raises(errors.UnknownToken):
        funding.deposit_address_get(user=user, token_id="NOPE")
    with pytest.raises(errors.UnknownChain):
        funding.deposit_address_get(user=user, token_id="BTC", chain="ERC20")
    with pytest.raises(errors.UnknownChain):
        funding.deposit_address_get(user=user, token_id="ETH")  # listed, but no chain network
    funding_tokens["BTC"].deposit_enabled = False
    funding_tokens["BTC"].save()
    with pytest.raises(errors.DepositDisabled):
        funding.deposit_address_get(user=user, token_id="BTC")
    assert not DepositAddress.objects.exists()


def test_deposit_goes_seen_confirming_credited_once(make_user, org, funding_tokens):
    user = make_user()
    address = funding.deposit_address_get(user=user, token_id="BTC")
    report = {
        "token_id": "BTC",
        "chain": "BTC",
        "txid": "tx-1",
        "output_index": 0,
        "address": address.address,
        "amount": "0.3",
    }
    seen = funding.deposit_observe(**report, confirmations=0)
    assert seen.status == DepositStatus.SEEN and balance(user, "BTC") == (0, 0)
    confirming = funding.deposit_observe(**report, confirmations=1)
    assert confirming.pk == seen.pk and confirming.status == DepositStatus.CONFIRMING
    assert (confirming.confirmations, confirming.confirmations_required) == (1, 2)
    credited = funding.deposit_observe(**report, confirmations=2)
    assert credited.status == DepositStatus.CREDITED and credited.credited_at is not None
    assert balance(user, "BTC") == (Decimal("0.3"), 0)
    # Redelivered and late reports change nothing; confirmations never go down.
    for confirmations in (5, 1, 2):
        assert funding.deposit_observe(**report, confirmations=confirmations).status == DepositStatus.CREDITED
    assert balance(user, "BTC") == (Decimal("0.3"), 0)
    assert system_balance(org, AccountType.CUSTODY, "BTC") == Decimal("-0.3")
    assert Deposit.objects.count() == 1
    assert OutboxEvent.objects.filter(type="deposit.credited").count() == 1
    # Another output of the same transaction is another deposit.
    funding.deposit_observe(**{**report, "output_index": 1}, confirmations=2)
    assert balance(user, "BTC") == (Decimal("0.6"), 0)
    assert reconcile()["ok"]


def test_deposit_below_minimum_is_recorded_not_credited(make_user, funding_tokens):
    user = make_user()
    address = funding.deposit_address_get(user=user, token_id="BTC")
    deposit = funding.deposit_observe(
        token_id="BTC",
        chain="BTC",
        txid="dust",
        output_index=0,
        address=address.address,
        amount="0.00005",
        confirmations=9,
    )
    assert deposit.status == DepositStatus.BELOW_MINIMUM and deposit.ledger_transaction is None
    assert balance(user, "BTC") == (0, 0)
    assert FundingAudit.objects.filter(deposit=deposit, action="deposit.below_minimum").exists()


def test_deposit_to_unknown_address_or_with_changed_amount_is_refused(make_user, funding_tokens):
    user = make_user()
    address = funding.deposit_address_get(user=user, token_id="BTC")
    with pytest.raises(errors.InvalidAddress):
        funding.deposit_observe(
            token_id="BTC", chain="BTC", txid="t", output_index=0, address="nobody", amount="1", confirmations=2
        )
    funding.deposit_observe(
        token_id="BTC", chain="BTC", txid="t", output_index=0, address=address.address, amount="1", confirmations=0
    )
    with pytest.raises(errors.Conflict):
        funding.deposit_observe(
            token_id="BTC", chain="BTC", txid="t", output_index=0, address=address.address, amount="2", confirmations=2
        )
    assert balance(user, "BTC") == (0, 0)


def test_simulate_deposit_command(make_user, funding_tokens):
    user = make_user()
    out = StringIO()
    call_command("simulate_deposit", "--user", str(user.uid), "--token", "usdt", "--amount", "25", stdout=out)
    result = json.loads(out.getvalue())
    assert result["status"] == "credited" and Deposit.objects.filter(pk=result["deposit_id"]).exists()
    out = StringIO()
    call_command(
        "simulate_deposit",
        *("--user", str(user.uid), "--token", "BTC", "--amount", "1", "--chain", "BTC", "--confirmations", "1"),
        stdout=out,
    )
    assert json.loads(out.getvalue())["status"] == "confirming"
    assert balance(user, "USDT") == (Decimal("25"), 0) and balance(user, "BTC") == (0, 0)


# --- withdrawals --------------------------------------------------------------------------------
def test_withdrawal_review_approve_broadcast_complete(withdrawer, org, approver):
    withdrawal = request(withdrawer, amount="0.5", client_order_id="w-1")
    assert withdrawal.status == WithdrawalStatus.REVIEWING
    assert (withdrawal.fee, withdrawal.arrival_amount) == (Decimal("0.0005"), Decimal("0.4995"))
    assert balance(withdrawer, "BTC") == (Decimal("1.5"), Decimal("0.5"))
    # A retry with the same client id returns the first request and holds nothing more.
    assert request(withdrawer, amount="0.5", client_order_id="w-1").pk == withdrawal.pk
    assert balance(withdrawer, "BTC") == (Decimal("1.5"), Decimal("0.5"))

    # Approval queues the broadcast after commit; the simulated custodian then confirms (eager tasks).
    funding.withdrawal_approve(withdrawal_id=withdrawal.pk, acting_user=approver)
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.COMPLETED and withdrawal.txid and withdrawal.finished_at
    assert balance(withdrawer, "BTC") == (Decimal("1.5"), 0)
    assert system_balance(org, AccountType.FEE, "BTC") == Decimal("0.0005")
    assert system_balance(org, AccountType.CUSTODY, "BTC") == Decimal("-2") + Decimal("0.4995")
    actions = list(FundingAudit.objects.filter(withdrawal=withdrawal).values_list("action", "actor"))
    assert actions == [
        ("withdrawal.requested", withdrawer.pk),
        ("withdrawal.approval", approver.pk),
        ("withdrawal.approved", approver.pk),
        ("withdrawal.broadcast", None),
        ("withdrawal.completed", None),
    ]
    assert OutboxEvent.objects.filter(type="withdrawal.requested").count() == 1
    assert (
        OutboxEvent.objects.filter(type="withdrawal.updated").count() == 4
    )  # reviewing, approved, broadcast, completed
    assert reconcile()["ok"]


def test_small_withdrawal_is_approved_automatically(withdrawer, org):
    org.withdraw_auto_approve_threshold = Decimal("0.1")
    org.save()
    small = request(withdrawer, amount="0.1")
    small.refresh_from_db()
    assert small.status == WithdrawalStatus.COMPLETED
    assert FundingAudit.objects.filter(withdrawal=small, action="withdrawal.auto_approved").exists()
    assert request(withdrawer, amount="0.2").status == WithdrawalStatus.REVIEWING


def test_large_withdrawal_needs_two_different_approvers(withdrawer, org, approver, make_staff):
    org.withdraw_dual_approval_threshold = Decimal("1")
    org.save()
    withdrawal = request(withdrawer, amount="1.5")
    assert withdrawal.approvals_required == 2
    funding.withdrawal_approve(withdrawal_id=withdrawal.pk, acting_user=approver)
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.REVIEWING
    with pytest.raises(errors.Conflict):
        funding.withdrawal_approve(withdrawal_id=withdrawal.pk, acting_user=approver)
    second = make_staff("accounts.approve_withdrawal")
    funding.withdrawal_approve(withdrawal_id=withdrawal.pk, acting_user=second)
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.COMPLETED
    assert withdrawal.approvals.count() == 2


def test_only_withdrawal_approvers_can_approve_or_reject(withdrawer, make_staff):
    withdrawal = request(withdrawer)
    support = make_staff("accounts.view_withdrawal")
    with pytest.raises(errors.PermissionDenied):
        funding.withdrawal_approve(withdrawal_id=withdrawal.pk, acting_user=support)
    with pytest.raises(errors.PermissionDenied):
        funding.withdrawal_reject(withdrawal_id=withdrawal.pk, acting_user=support, reason="no")
    with pytest.raises(errors.PermissionDenied):
        funding.withdrawal_approve(withdrawal_id=withdrawal.pk, acting_user=withdrawer)
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.REVIEWING


def test_user_cancels_before_approval_and_hold_is_released(withdrawer, approver):
    withdrawal = request(withdrawer, amount="1")
    funding.withdrawal_cancel(user=withdrawer, withdrawal_id=withdrawal.pk)
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.CANCELED
    assert balance(withdrawer, "BTC") == (Decimal("2"), 0)
    with pytest.raises(errors.InvalidTransition):
        funding.withdrawal_cancel(user=withdrawer, withdrawal_id=withdrawal.pk)
    approved = request(withdrawer, amount="1")
    funding.withdrawal_approve(withdrawal_id=approved.pk, acting_user=approver)
    with pytest.raises(errors.InvalidTransition):
        funding.withdrawal_cancel(user=withdrawer, withdrawal_id=approved.pk)
    assert balance(withdrawer, "BTC") == (Decimal("1"), 0)
    assert reconcile()["ok"]


def test_reject_releases_hold(withdrawer, approver):
    withdrawal = request(withdrawer, amount="1")
    with pytest.raises(errors.InvalidParameter):
        funding.withdrawal_reject(withdrawal_id=withdrawal.pk, acting_user=approver, reason=" ")
    funding.withdrawal_reject(withdrawal_id=withdrawal.pk, acting_user=approver, reason="suspicious destination")
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.reason) == (WithdrawalStatus.REJECTED, "suspicious destination")
    assert balance(withdrawer, "BTC") == (Decimal("2"), 0)
    with pytest.raises(errors.InvalidTransition):
        funding.withdrawal_approve(withdrawal_id=withdrawal.pk, acting_user=approver)
    assert FundingAudit.objects.filter(withdrawal=withdrawal, action="withdrawal.rejected", actor=approver).exists()


def test_custodian_refusal_fails_and_refunds_once(withdrawer, approver, monkeypatch):
    from apps.accounts.custody.simulated import SimulatedCustodyGateway

    def refuse(self, *, withdrawal):
        raise errors.CustodyRejected("address blacklisted")

    monkeypatch.setattr(SimulatedCustodyGateway, "submit_withdrawal", refuse)
    withdrawal = request(withdrawer, amount="1")
    funding.withdrawal_approve(withdrawal_id=withdrawal.pk, acting_user=approver)
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.reason) == (WithdrawalStatus.FAILED, "address blacklisted")
    assert balance(withdrawer, "BTC") == (Decimal("2"), 0)
    funding.withdrawal_fail(withdrawal_id=withdrawal.pk, reason="again")  # a redelivered failure
    assert balance(withdrawer, "BTC") == (Decimal("2"), 0)
    with pytest.raises(errors.InvalidTransition):
        funding.withdrawal_complete(withdrawal_id=withdrawal.pk)
    assert reconcile()["ok"]


def test_unreachable_custodian_leaves_withdrawal_approved_for_retry(withdrawer, approver, monkeypatch):
    from apps.accounts.custody.simulated import SimulatedCustodyGateway

    def down(self, *, withdrawal):
        raise errors.CustodyError("timeout")

    monkeypatch.setattr(SimulatedCustodyGateway, "submit_withdrawal", down)
    withdrawal = request(withdrawer, amount="1")
    funding.withdrawal_approve(withdrawal_id=withdrawal.pk, acting_user=approver)
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.APPROVED
    assert balance(withdrawer, "BTC") == (Decimal("1"), Decimal("1"))
    assert sweep_approved_withdrawals(min_age_seconds=0) == 1  # still down: stays approved
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.APPROVED
    monkeypatch.undo()
    assert sweep_approved_withdrawals(min_age_seconds=3600) == 0  # too recent to sweep
    assert sweep_approved_withdrawals(min_age_seconds=0) == 1
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.COMPLETED


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"token_id": "NOPE"}, errors.UnknownToken),
        ({"chain": "ERC20"}, errors.UnknownChain),
        ({"token_id": "USDT", "amount": "20", "address": "0xnot-tron"}, errors.InvalidAddress),
        ({"token_id": "XRP", "amount": "1", "address": "rSomeAddress"}, errors.InvalidAddress),  # memo missing
        ({"amount": "0.0009"}, errors.AmountBelowMinimum),
        ({"token_id": "USDT", "amount": "5", "address": TRON_ADDRESS}, errors.AmountBelowMinimum),
        ({"amount": "0.123456789"}, errors.InvalidAmount),
        ({"amount": "-1"}, errors.InvalidAmount),
        ({"amount": "3"}, errors.InsufficientBalance),
        ({"fund_password": "wrong"}, errors.WrongFundPassword),
        ({"totp_code": "000000"}, errors.WrongSecondFactor),
        ({"address": ""}, errors.InvalidAddress),
    ],
)
def test_bad_withdrawal_input_changes_nothing(withdrawer, overrides, error):
    before = (balance(withdrawer, "BTC"), balance(withdrawer, "USDT"))
    with pytest.raises(error):
        request(withdrawer, **overrides)
    assert (balance(withdrawer, "BTC"), balance(withdrawer, "USDT")) == before
    assert not Withdrawal.objects.exists()
    assert not FundingAudit.objects.exists()


def test_frozen_users_and_suspended_tokens_cannot_withdraw(withdrawer, funding_tokens):
    freeze = UserFreeze.objects.create(user=withdrawer, kind=FreezeKind.WITHDRAW, token_id="BTC", reason="case 7")
    with pytest.raises(errors.WithdrawFrozen):
        request(withdrawer)
    request(withdrawer, token_id="USDT", amount="20", address=TRON_ADDRESS)  # another token is fine
    freeze.is_active = False
    freeze.save()
    UserFreeze.objects.create(user=withdrawer, kind=FreezeKind.WITHDRAW, reason="all tokens")
    with pytest.raises(errors.WithdrawFrozen):
        request(withdrawer, token_id="USDT", amount="20", address=TRON_ADDRESS)
    UserFreeze.objects.update(is_active=False)
    funding_tokens["BTC"].withdraw_enabled = False
    funding_tokens["BTC"].save()
    with pytest.raises(errors.WithdrawDisabled):
        request(withdrawer)
    assert Withdrawal.objects.count() == 1
    assert balance(withdrawer, "BTC") == (Decimal("2"), 0)


def test_second_factors_are_required(make_user, fund, funding_tokens):
    user = make_user()
    fund(user, "BTC", "1")
    with pytest.raises(errors.FundPasswordRequired):
        funding.withdrawal_request(
            user=user, token_id="BTC", amount="0.5", address=BTC_ADDRESS, fund_password="x", totp_code="1"
        )
    from apps.users.security import fund_password_set

    fund_password_set(user=user, password=FUND_PASSWORD)
    with pytest.raises(errors.SecondFactorRequired):
        funding.withdrawal_request(
            user=user, token_id="BTC", amount="0.5", address=BTC_ADDRESS, fund_password=FUND_PASSWORD, totp_code="1"
        )
    assert not Withdrawal.objects.exists()


def test_daily_and_monthly_limits_by_kyc_level(withdrawer, funding_tokens):
    WithdrawalLimit.objects.create(token_id="BTC", kyc_level=0, daily_limit=Decimal("0.1"), monthly_limit=Decimal("1"))
    WithdrawalLimit.objects.create(token_id="BTC", kyc_level=1, daily_limit=Decimal("1"), monthly_limit=Decimal("1.2"))
    quota = funding.withdrawal_quota(user=withdrawer, token_id="BTC")
    assert (quota["daily_limit"], quota["remaining_today"], quota["fee"], quota["min_amount"]) == (
        "1",
        "1",
        "0.0005",
        "0.001",
    )
    first = request(withdrawer, amount="0.8")
    with pytest.raises(errors.WithdrawLimitExceeded, match="daily"):
        request(withdrawer, amount="0.3")
    quota = funding.withdrawal_quota(user=withdrawer, token_id="BTC")
    assert (quota["used_today"], quota["remaining_today"], quota["remaining_this_month"]) == ("0.8", "0.2", "0.4")
    # A canceled withdrawal no longer counts.
    funding.withdrawal_cancel(user=withdrawer, withdrawal_id=first.pk)
    request(withdrawer, amount="1")
    WithdrawalLimit.objects.filter(kyc_level=1).update(daily_limit=Decimal("5"))
    with pytest.raises(errors.WithdrawLimitExceeded, match="monthly"):
        request(withdrawer, amount="0.3")
    assert Withdrawal.objects.count() == 2


def test_withdrawal_to_address_book_entry_and_memo_chain(withdrawer, fund):
    fund(withdrawer, "XRP", "100")
    entry = funding.address_book_add(user=withdrawer, token_id="XRP", address="rDest", memo="12345", label="cold")
    with pytest.raises(errors.Conflict):
        funding.address_book_add(user=withdrawer, token_id="XRP", address="rDest", memo="12345")
    with pytest.raises(errors.InvalidAddress):
        funding.address_book_add(user=withdrawer, token_id="XRP", address="rDest")  # memo required
    with pytest.raises(errors.InvalidAddress):
        funding.address_book_add(user=withdrawer, token_id="USDT", address="0xabc")
    withdrawal = request(withdrawer, token_id="XRP", amount="10", address=None, address_book_id=entry.pk)
    assert (withdrawal.address, withdrawal.memo, withdrawal.fee) == ("rDest", "12345", Decimal("0.25"))
    funding.address_book_delete(user=withdrawer, entry_id=entry.pk)
    with pytest.raises(errors.NotFound):
        funding.address_book_delete(user=withdrawer, entry_id=entry.pk)


# --- fiat ---------------------------------------------------------------------------------------
def test_fiat_deposit_confirmed_by_staff_and_fiat_withdrawal_paid_out(withdrawer, org, approver, make_staff):
    finance = make_staff("accounts.confirm_fiat_deposit", "accounts.payout_withdrawal")
    deposit = funding.deposit_fiat_request(user=withdrawer, token_id="EUR", amount="500")
    assert deposit.status == DepositStatus.PENDING and deposit.bank_reference
    with pytest.raises(errors.PermissionDenied):
        funding.deposit_fiat_confirm(deposit_id=deposit.pk, acting_user=approver)
    funding.deposit_fiat_confirm(deposit_id=deposit.pk, acting_user=finance)
    with pytest.raises(errors.InvalidTransition):
        funding.deposit_fiat_confirm(deposit_id=deposit.pk, acting_user=finance)
    assert balance(withdrawer, "EUR") == (Decimal("500"), 0)
    rejected = funding.deposit_fiat_request(user=withdrawer, token_id="EUR", amount="7")
    funding.deposit_fiat_reject(deposit_id=rejected.pk, acting_user=finance, reason="no transfer arrived")
    assert balance(withdrawer, "EUR") == (Decimal("500"), 0)
    with pytest.raises(errors.InvalidParameter):
        funding.deposit_fiat_request(user=withdrawer, token_id="BTC", amount="1")

    with pytest.raises(errors.InvalidParameter):
        request(withdrawer, token_id="EUR", amount="100")  # no bank card
    card = funding.bank_card_add(
        user=withdrawer, bank_name="Bank", holder_name="A. User", card_number="DE89 3704 0044 0532 0130 00"
    )
    withdrawal = request(withdrawer, token_id="EUR", amount="100", address=None, bank_card_id=card.pk)
    assert withdrawal.status == WithdrawalStatus.REVIEWING and withdrawal.fee == 0
    funding.withdrawal_approve(withdrawal_id=withdrawal.pk, acting_user=approver)
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.APPROVED  # fiat is not sent to the custodian
    with pytest.raises(errors.PermissionDenied):
        funding.withdrawal_payout_fiat(withdrawal_id=withdrawal.pk, acting_user=approver, reference="SEPA-1")
    funding.withdrawal_payout_fiat(withdrawal_id=withdrawal.pk, acting_user=finance, reference="SEPA-1")
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.custody_reference) == (WithdrawalStatus.COMPLETED, "SEPA-1")
    assert balance(withdrawer, "EUR") == (Decimal("400"), 0)
    assert reconcile()["ok"]


# --- transfers ----------------------------------------------------------------------------------
def test_transfer_between_own_accounts(withdrawer):
    transfer = funding.transfer_create(
        user=withdrawer, token_id="USDT", amount="100", to_type="funding", client_order_id="t-1"
    )
    again = funding.transfer_create(
        user=withdrawer, token_id="USDT", amount="100", to_type="funding", client_order_id="t-1"
    )
    assert again.pk == transfer.pk
    assert balance(withdrawer, "USDT") == (Decimal("900"), 0)
    assert balance(withdrawer, "USDT", AccountType.FUNDING) == (Decimal("100"), 0)
    funding.transfer_create(user=withdrawer, token_id="USDT", amount="40", from_type="funding", to_type="spot")
    assert balance(withdrawer, "USDT", AccountType.FUNDING) == (Decimal("60"), 0)
    with pytest.raises(errors.InsufficientBalance):
        funding.transfer_create(user=withdrawer, token_id="USDT", amount="61", from_type="funding")
    with pytest.raises(errors.InvalidParameter):
        funding.transfer_create(user=withdrawer, token_id="USDT", amount="1")  # spot → spot
    with pytest.raises(errors.UnknownAccount):
        funding.transfer_create(user=withdrawer, token_id="USDT", amount="1", to_index=3)
    with pytest.raises(errors.InvalidParameter, match="spot or funding"):
        funding.transfer_create(user=withdrawer, token_id="USDT", amount="1", from_type="margin")
    user_account(user=withdrawer, type=AccountType.SPOT, index=1)  # a sub-account
    funding.transfer_create(user=withdrawer, token_id="USDT", amount="5", to_index=1)
    assert Transfer.objects.count() == 3
    assert reconcile()["ok"]


def test_transfer_to_another_user_needs_the_organization_to_allow_it(withdrawer, org, other_org, make_user):
    bob = make_user()
    stranger = make_user(organization=other_org)
    with pytest.raises(errors.TransferNotAllowed):
        funding.transfer_create(user=withdrawer, token_id="USDT", amount="10", to_uid=bob.uid)
    org.allow_internal_transfer = True
    org.save()
    withdrawer.refresh_from_db()
    funding.transfer_create(user=withdrawer, token_id="USDT", amount="10", to_uid=bob.uid)
    assert balance(bob, "USDT") == (Decimal("10"), 0)
    with pytest.raises(errors.UserNotFound):
        funding.transfer_create(user=withdrawer, token_id="USDT", amount="10", to_uid=stranger.uid)
    UserFreeze.objects.create(user=withdrawer, kind=FreezeKind.WITHDRAW, reason="case")
    with pytest.raises(errors.WithdrawFrozen):
        funding.transfer_create(user=withdrawer, token_id="USDT", amount="10", to_uid=bob.uid)
    assert balance(withdrawer, "USDT") == (Decimal("990"), 0)


def test_simulated_confirmation_is_queued_after_commit_with_the_configured_delay(
    withdrawer, approver, settings, monkeypatch
):
    from apps.accounts.tasks import confirm_simulated_withdrawal

    settings.CUSTODY_SIMULATED_CONFIRM_SECONDS = 42
    queued: list[tuple[tuple, int]] = []
    monkeypatch.setattr(
        confirm_simulated_withdrawal, "apply_async", lambda args, countdown: queued.append((args, countdown))
    )
    withdrawal = request(withdrawer, amount="1")
    funding.withdrawal_approve(withdrawal_id=withdrawal.pk, acting_user=approver)
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.BROADCAST
    assert queued == [((withdrawal.pk,), 42)]
    confirm_simulated_withdrawal(withdrawal.pk)  # what the worker runs 42 s later
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.COMPLETED


def test_staff_groups_name_existing_funding_permissions():
    from django.contrib.auth.models import Permission

    from apps.users.management.commands.bootstrap import STAFF_GROUPS

    wanted = {p for perms in STAFF_GROUPS.values() for p in perms if p.startswith("accounts.")}
    existing = {
        f"accounts.{codename}"
        for codename in Permission.objects.filter(content_type__app_label="accounts").values_list("codename", flat=True)
    }
    assert wanted - existing == set()
    assert "accounts.approve_withdrawal" in STAFF_GROUPS["Withdrawal approver"]


def test_history_reads_take_a_fixed_number_of_queries(withdrawer, django_assert_max_num_queries):
    from apps.accounts import selectors

    for _ in range(5):
        request(withdrawer, amount="0.1")
        funding.deposit_simulate(user=withdrawer, token_id="BTC", amount="0.1")
    with django_assert_max_num_queries(1):
        rows = [funding.withdrawal_payload(w) for w in selectors.withdrawals_of(user=withdrawer)]
    assert len(rows) == 5
    with django_assert_max_num_queries(1):
        deposits = [funding.deposit_payload(d) for d in selectors.deposits_of(user=withdrawer)]
    assert len(deposits) == 5
