"""Seed 001 §3.3: accounts, assets, statement, deposits, withdrawals and asset freezes."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from apps.accounts.funding import deposit_simulate
from apps.accounts.models import Withdrawal, WithdrawalStatus
from apps.events.models import OutboxEvent
from apps.users.models import FreezeKind, UserFreeze

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user, fund, tokens):
    user = make_user(email="alice@example.com")
    fund(user, "BTC", "2")
    return user


def test_account_info_lists_the_users_accounts(api, alice):
    body = api.get("account/getInfo", {"uid": alice.uid}).body
    assert body["uid"] == str(alice.uid)
    assert sorted((a["account_type"], a["account_index"]) for a in body["accounts"]) == [("funding", 0), ("spot", 0)]
    user = api.get("user/getInfo", {"uid": alice.uid}).body
    spot = next(a for a in body["accounts"] if a["account_type"] == "spot")
    assert user["main_account_id"] == spot["account_id"]


def test_get_asset(api, alice):
    [btc] = api.get("account/getAsset", {"uid": alice.uid}).body
    assert (btc["token_id"], btc["total"], btc["available"], btc["locked"], btc["lockup"]) == (
        "BTC",
        "2",
        "2",
        "0",
        "0",
    )
    assert api.get("account/getAsset", {"uid": alice.uid, "token_id": "usdt"}).body == []
    assert api.get("account/getAsset", {"uid": alice.uid, "account_type": "funding"}).body == []


def test_balance_flow_pages_by_id_within_12_hours(api, alice, fund):
    fund(alice, "BTC", "1")
    rows = api.get("account/getBalanceFlow", {"uid": alice.uid}).body
    assert [(r["token_id"], r["change"], r["total"], r["flow_type"]) for r in rows] == [
        ("BTC", "1", "3", "manual_credit"),
        ("BTC", "2", "2", "manual_credit"),
    ]
    older = api.get("account/getBalanceFlow", {"uid": alice.uid, "from_id": rows[0]["flow_id"]}).body
    assert [r["flow_id"] for r in older] == [rows[1]["flow_id"]]
    assert api.get("account/getBalanceFlow", {"uid": alice.uid, "list_type": "simple"}).body == [
        r["flow_id"] for r in rows
    ]
    future = int(time.time() * 1000) + 3600_000
    assert api.get("account/getBalanceFlow", {"uid": alice.uid, "start_time": future}).body == []


def test_deposit_address_and_history(api, alice):
    address = api.get("account/getDepositAddress", {"uid": alice.uid, "token_id": "BTC"}).body
    assert address["chain"] == "BTC" and address["address"]
    assert api.get("account/getDepositAddress", {"uid": alice.uid, "token_id": "BTC"}).body == address
    deposit = deposit_simulate(user=alice, token_id="BTC", amount="0.5", confirmations=1)  # still confirming
    [row] = api.get("account/getDepositHistory", {"uid": alice.uid}).body
    assert (row["deposit_id"], row["token_id"], row["amount"], row["status"]) == (
        deposit.pk,
        "BTC",
        "0.5",
        "confirming",
    )
    assert row["address"] == address["address"]


def test_withdraw_quota(api, alice):
    quota = api.get("account/getWithdrawQuota", {"uid": alice.uid, "token_id": "BTC"}).body
    assert (quota["token_id"], quota["fee"], quota["available"]) == ("BTC", "0.0005", "2")


def test_create_withdraw_once_without_second_factor(api, alice, bal):
    params = {"client_order_id": "wd-1", "uid": alice.uid, "token_id": "BTC", "address": "bc1qexample", "amount": "0.5"}
    answer = api.post("account/createWithdraw", params)
    assert answer.status == 200
    body = answer.body
    assert (body["token_id"], body["amount"], body["fee"], body["client_order_id"]) == ("BTC", "0.5", "0.0005", "wd-1")
    assert body["status"] == WithdrawalStatus.REVIEWING
    assert bal(alice, "BTC") == (Decimal("1.5"), Decimal("0.5"))
    assert api.post("account/createWithdraw", params).body == body
    assert Withdrawal.objects.filter(user=alice).count() == 1 and bal(alice, "BTC") == (Decimal("1.5"), Decimal("0.5"))
    assert OutboxEvent.objects.filter(type="withdrawal.requested").count() == 1
    [listed] = api.get("account/getWithdrawHistory", {"uid": alice.uid}).body
    assert listed["withdrawal_id"] == body["withdrawal_id"]
    short = api.post("account/createWithdraw", {**params, "client_order_id": "wd-2", "amount": "5"})
    assert (short.status, short.code) == (400, 1301)  # insufficient balance


def test_asset_freeze_blocks_withdrawals_of_that_token(api, alice):
    freeze = {"client_order_id": "af-1", "uid": alice.uid, "token_id": "btc", "frozen": "true"}
    assert api.post("account/frozenUser", freeze).body["token_id"] == "BTC"
    assert UserFreeze.objects.get(user=alice, is_active=True).kind == FreezeKind.WITHDRAW
    refused = api.post(
        "account/createWithdraw",
        {"client_order_id": "wd-1", "uid": alice.uid, "token_id": "BTC", "address": "bc1qexample", "amount": "0.5"},
    )
    assert (refused.status, refused.code) == (400, 1310)
    api.post("account/frozenUser", {**freeze, "client_order_id": "af-2", "frozen": "false"})
    assert not UserFreeze.objects.filter(user=alice, is_active=True).exists()
