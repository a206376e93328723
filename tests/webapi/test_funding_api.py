"""Funding through the User API and the admin: the whole lifecycle, and bad input over HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from apps.accounts.models import Deposit, DepositAddress, FundingAudit, Withdrawal, WithdrawalLimit, WithdrawalStatus
from apps.accounts.reconcile import reconcile
from apps.users.models import FreezeKind, UserFreeze
from tests.accounts.test_funding_fixtures import FUND_PASSWORD, TRON_ADDRESS, balance, totp_code

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["tests.accounts.test_funding_fixtures"]


@pytest.fixture
def api(withdrawer):
    client = Client()
    client.force_login(withdrawer)
    return client


def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def test_lifecycle_address_deposit_confirmations_credit_withdraw_review_approve_complete(
    make_user, make_staff, approver, funding_tokens
):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from apps.users.security import fund_password_set

    user = make_user(kyc_level=1)
    fund_password_set(user=user, password=FUND_PASSWORD)
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    api = Client()
    api.force_login(user)
    operator = staff_client(
        make_staff("accounts.view_depositaddress", "accounts.view_deposit", "accounts.simulate_deposit")
    )

    # 1. The deposit address, stable across requests.
    address = api.get("/api/v1/deposits/address", {"token": "BTC"})
    assert address.status_code == 200, address.content
    assert address.json()["confirmations_required"] == 2
    assert api.get("/api/v1/deposits/address", {"token": "BTC", "chain": "BTC"}).json() == address.json()

    # 2. Staff simulate an incoming deposit (0 confirmations), then confirmations arrive one by one.
    row = DepositAddress.objects.get(user=user)
    simulated = operator.post(
        "/admin/accounts/depositaddress/",
        {"action": "simulate_deposit", "_selected_action": [row.pk], "amount": "1.25", "confirmations": "0"},
    )
    assert simulated.status_code == 302, simulated.content
    deposits = api.get("/api/v1/deposits").json()
    assert [(d["status"], d["confirmations"], d["amount"]) for d in deposits] == [("seen", 0, "1.25")]
    deposit_id = int(deposits[0]["deposit_id"])
    for expected in ("confirming", "credited"):
        operator.post("/admin/accounts/deposit/", {"action": "add_confirmation", "_selected_action": [deposit_id]})
        assert api.get("/api/v1/deposits").json()[0]["status"] == expected
    balances = {b["token"]: b for b in api.get("/api/v1/account/balances").json()}
    assert balances["BTC"]["available"] == "1.25"
    assert FundingAudit.objects.filter(deposit_id=deposit_id, action="deposit.simulated").exists()

    # 3. Quota, then a withdrawal request with both second factors.
    quota = api.get("/api/v1/withdrawals/quota", {"token": "BTC"}).json()
    assert (quota["fee"], quota["available"], quota["daily_limit"]) == ("0.0005", "1.25", None)
    created = api.post(
        "/api/v1/withdrawals",
        {
            "token": "BTC",
            "amount": "1",
            "address": "bc1qdestination",
            "fund_password": FUND_PASSWORD,
            "totp_code": totp_code(user),
            "client_order_id": "cw-1",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["status"], body["fee"], body["arrival_amount"]) == ("reviewing", "0.0005", "0.9995")
    withdrawal_id = int(body["withdrawal_id"])
    balances = {b["token"]: b for b in api.get("/api/v1/account/balances").json()}
    assert (balances["BTC"]["available"], balances["BTC"]["hold"]) == ("0.25", "1")

    # 4. The review queue shows it; only a withdrawal approver can approve.
    queue = staff_client(approver).get("/admin/accounts/withdrawal/")
    assert queue.status_code == 200 and f">{withdrawal_id}<" in queue.content.decode()
    detail = staff_client(approver).get(f"/admin/accounts/withdrawal/{withdrawal_id}/change/")
    assert detail.status_code == 200 and "No earlier withdrawal to this address" in detail.content.decode()
    support = staff_client(make_staff("accounts.view_withdrawal"))
    support.post("/admin/accounts/withdrawal/", {"action": "approve_selected", "_selected_action": [withdrawal_id]})
    assert Withdrawal.objects.get(pk=withdrawal_id).status == WithdrawalStatus.REVIEWING

    # 5. Approve → broadcast by the simulated custodian → completed after its (eager) confirmation.
    approved = staff_client(approver).post(
        "/admin/accounts/withdrawal/", {"action": "approve_selected", "_selected_action": [withdrawal_id]}
    )
    assert approved.status_code == 302
    done = api.get(f"/api/v1/withdrawals/{withdrawal_id}").json()
    assert done["status"] == "completed" and done["txid"]
    balances = {b["token"]: b for b in api.get("/api/v1/account/balances").json()}
    assert (balances["BTC"]["available"], balances["BTC"]["hold"]) == ("0.25", "0")
    history = api.get("/api/v1/withdrawals").json()
    assert [w["withdrawal_id"] for w in history] == [str(withdrawal_id)]
    flow = api.get("/api/v1/account/balance-flow", {"token": "BTC"}).json()
    assert [(p["kind"], p["bucket"], p["amount"]) for p in flow] == [
        ("withdrawal", "hold", "-1"),
        ("withdrawal", "hold", "1"),
        ("withdrawal", "available", "-1"),
        ("deposit", "available", "1.25"),
    ]
    audit = list(FundingAudit.objects.filter(withdrawal_id=withdrawal_id).values_list("action", flat=True))
    assert audit == [
        "withdrawal.requested",
        "withdrawal.approval",
        "withdrawal.approved",
        "withdrawal.broadcast",
        "withdrawal.completed",
    ]
    assert reconcile()["ok"]


def test_admin_reject_action_needs_a_reason_and_releases_the_hold(api, withdrawer, approver):
    created = api.post(
        "/api/v1/withdrawals",
        {
            "token": "USDT",
            "amount": "100",
            "chain": "TRC20",
            "address": TRON_ADDRESS,
            "fund_password": FUND_PASSWORD,
            "totp_code": totp_code(withdrawer),
        },
        content_type="application/json",
    )
    withdrawal_id = int(created.json()["withdrawal_id"])
    client = staff_client(approver)
    client.post("/admin/accounts/withdrawal/", {"action": "reject_selected", "_selected_action": [withdrawal_id]})
    assert Withdrawal.objects.get(pk=withdrawal_id).status == WithdrawalStatus.REVIEWING  # no reason given
    client.post(
        "/admin/accounts/withdrawal/",
        {"action": "reject_selected", "_selected_action": [withdrawal_id], "reason": "unverified destination"},
    )
    assert api.get(f"/api/v1/withdrawals/{withdrawal_id}").json()["status"] == "rejected"
    assert balance(withdrawer, "USDT") == (Decimal("1000"), 0)
    # A second withdrawal to the same address: the reviewer sees the first in its address history.
    second = api.post(
        "/api/v1/withdrawals",
        {
            "token": "USDT",
            "amount": "20",
            "address": TRON_ADDRESS,
            "fund_password": FUND_PASSWORD,
            "totp_code": totp_code(withdrawer),
        },
        content_type="application/json",
    ).json()
    queue = client.get("/admin/accounts/withdrawal/", {"status__exact": "reviewing"})
    assert queue.status_code == 200
    rows = list(queue.context["cl"].result_list)
    assert [(w.pk, w.earlier_to_address) for w in rows] == [(int(second["withdrawal_id"]), 1)]
    page = client.get(f"/admin/accounts/withdrawal/{second['withdrawal_id']}/change/").content.decode()
    assert f"#{withdrawal_id} " in page and "rejected" in page
    assert FundingAudit.objects.filter(
        withdrawal_id=withdrawal_id, action="withdrawal.rejected", actor=approver
    ).exists()


def test_user_cancels_over_http(api, withdrawer):
    created = api.post(
        "/api/v1/withdrawals",
        {
            "token": "BTC",
            "amount": "0.5",
            "address": "bc1qx",
            "fund_password": FUND_PASSWORD,
            "totp_code": totp_code(withdrawer),
        },
        content_type="application/json",
    ).json()
    canceled = api.post(f"/api/v1/withdrawals/{created['withdrawal_id']}/cancel")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    again = api.post(f"/api/v1/withdrawals/{created['withdrawal_id']}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "INVALID_TRANSITION"
    assert api.post("/api/v1/withdrawals/999999/cancel").status_code == 404
    assert balance(withdrawer, "BTC") == (Decimal("2"), 0)


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"token": "NOPE"}, 400, "UNKNOWN_TOKEN"),
        ({"chain": "ERC20"}, 400, "UNKNOWN_CHAIN"),
        ({"token": "USDT", "chain": "TRC20", "amount": "20", "address": "0xdeadbeef"}, 400, "INVALID_ADDRESS"),
        ({"amount": "0.0001"}, 400, "AMOUNT_BELOW_MINIMUM"),
        ({"amount": "1.5"}, 400, "WITHDRAW_LIMIT_EXCEEDED"),
        ({"amount": "abc"}, 400, "INVALID_AMOUNT"),
        ({"fund_password": "nope"}, 400, "WRONG_FUND_PASSWORD"),
        ({"totp_code": "000000"}, 400, "WRONG_SECOND_FACTOR"),
    ],
)
def test_bad_withdrawal_input_over_http(api, withdrawer, overrides, status, code):
    WithdrawalLimit.objects.create(token_id="BTC", kyc_level=1, daily_limit=Decimal("1"), monthly_limit=Decimal("5"))
    data = {
        "token": "BTC",
        "amount": "0.5",
        "address": "bc1qdestination",
        "fund_password": FUND_PASSWORD,
        "totp_code": totp_code(withdrawer),
    } | overrides
    response = api.post("/api/v1/withdrawals", data, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (status, code), response.content
    assert not Withdrawal.objects.exists()
    assert balance(withdrawer, "BTC") == (Decimal("2"), 0)


def test_frozen_user_gets_403_and_nothing_changes(api, withdrawer):
    UserFreeze.objects.create(user=withdrawer, kind=FreezeKind.WITHDRAW, reason="investigation")
    response = api.post(
        "/api/v1/withdrawals",
        {
            "token": "BTC",
            "amount": "0.5",
            "address": "bc1qx",
            "fund_password": FUND_PASSWORD,
            "totp_code": totp_code(withdrawer),
        },
        content_type="application/json",
    )
    assert (response.status_code, response.json()["code"]) == (403, "WITHDRAW_FROZEN")
    assert not Withdrawal.objects.exists() and balance(withdrawer, "BTC") == (Decimal("2"), 0)


def test_endpoints_need_login(funding_tokens):
    anonymous = Client()
    for path in ("/api/v1/deposits", "/api/v1/withdrawals", "/api/v1/transfers", "/api/v1/address-book"):
        assert anonymous.get(path).status_code in (401, 403)


def test_address_book_and_withdrawal_from_it(api, withdrawer):
    added = api.post(
        "/api/v1/address-book",
        {"token": "USDT", "chain": "TRC20", "address": TRON_ADDRESS, "label": "exchange"},
        content_type="application/json",
    )
    assert added.status_code == 201, added.content
    entry = added.json()
    assert api.post(
        "/api/v1/address-book", {"token": "USDT", "address": "bad"}, content_type="application/json"
    ).json()["code"] == ("INVALID_ADDRESS")
    assert [e["id"] for e in api.get("/api/v1/address-book").json()] == [entry["id"]]
    created = api.post(
        "/api/v1/withdrawals",
        {
            "token": "USDT",
            "amount": "50",
            "address_book_id": entry["id"],
            "fund_password": FUND_PASSWORD,
            "totp_code": totp_code(withdrawer),
        },
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["address"] == TRON_ADDRESS
    assert api.delete(f"/api/v1/address-book/{entry['id']}").status_code == 204
    assert api.get("/api/v1/address-book").json() == []


def test_transfers_over_http(api, withdrawer, org, make_user):
    moved = api.post(
        "/api/v1/transfers",
        {"token": "USDT", "amount": "300", "to_type": "funding", "client_order_id": "tr-1"},
        content_type="application/json",
    )
    assert moved.status_code == 201, moved.content
    repeat = api.post(
        "/api/v1/transfers",
        {"token": "USDT", "amount": "300", "to_type": "funding", "client_order_id": "tr-1"},
        content_type="application/json",
    )
    assert repeat.status_code == 200 and repeat.json()["transfer_id"] == moved.json()["transfer_id"]
    bob = make_user()
    refused = api.post(
        "/api/v1/transfers", {"token": "USDT", "amount": "1", "to_uid": bob.uid}, content_type="application/json"
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "TRANSFER_NOT_ALLOWED")
    org.allow_internal_transfer = True
    org.save()
    sent = api.post(
        "/api/v1/transfers", {"token": "USDT", "amount": "7", "to_uid": bob.uid}, content_type="application/json"
    )
    assert sent.status_code == 201
    bob_client = Client()
    bob_client.force_login(bob)
    received = bob_client.get("/api/v1/transfers").json()
    assert [(t["direction"], t["amount"]) for t in received] == [("in", "7")]
    assert [t["direction"] for t in api.get("/api/v1/transfers").json()] == ["out", "out"]
    assert balance(withdrawer, "USDT") == (Decimal("693"), 0)


def test_fiat_deposit_and_bank_cards_over_http(api, withdrawer, make_staff):
    requested = api.post("/api/v1/deposits/fiat", {"token": "EUR", "amount": "250"}, content_type="application/json")
    assert requested.status_code == 201 and requested.json()["status"] == "pending"
    finance = staff_client(make_staff("accounts.view_deposit", "accounts.confirm_fiat_deposit"))
    finance.post(
        "/admin/accounts/deposit/",
        {"action": "confirm_fiat", "_selected_action": [requested.json()["deposit_id"]]},
    )
    assert Deposit.objects.get().status == "credited"
    assert balance(withdrawer, "EUR") == (Decimal("250"), 0)
    card = api.post(
        "/api/v1/bank-cards",
        {"bank_name": "Bank", "holder_name": "A User", "card_number": "4000 1234 5678 9010"},
        content_type="application/json",
    )
    assert card.status_code == 201 and card.json()["card_number"] == "****9010"
    assert len(api.get("/api/v1/bank-cards").json()) == 1
    assert api.delete(f"/api/v1/bank-cards/{card.json()['id']}").status_code == 204
    assert api.get("/api/v1/bank-cards").json() == []


def test_schema_builds_with_funding_endpoints(funding_tokens):
    schema = Client().get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/withdrawals/quota" in text and "FundingWithdrawal" in text
