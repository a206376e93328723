"""BGE API accounts and funding ↔ trading transfers (seed 004 "账户信息", "资金划转")."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.accounts.models import AccountType, Balance, Transfer

pytestmark = pytest.mark.django_db(transaction=True)


def funding_balance(user, token: str) -> Decimal:
    row = Balance.objects.filter(account__user=user, account__type=AccountType.FUNDING, token_id=token).first()
    return row.available if row else Decimal(0)


def test_accounts_list_every_currency_with_available_hold_and_balance(alice_bge):
    alice_bge.post("/v1/orders", {"product": "BTC_USDT", "side": "buy", "type": "limit", "price": "100", "size": "1.5"})
    response = alice_bge.get("/v1/accounts")
    assert response.status_code == 200
    rows = {r["currency"]: r for r in response.json()}
    assert set(rows) == {"BTC", "ETH", "USDT"}
    assert all(set(r) == {"available", "balance", "currency", "hold"} for r in rows.values())
    assert rows["USDT"] == {"available": "99850", "balance": "100000", "currency": "USDT", "hold": "150"}
    assert rows["ETH"] == {"available": "0", "balance": "0", "currency": "ETH", "hold": "0"}
    assert alice_bge.get("/v1/accounts/usdt").json() == rows["USDT"]
    assert alice_bge.get("/v1/accounts/ETH").json() == rows["ETH"]
    unknown = alice_bge.get("/v1/accounts/XYZ")
    assert unknown.status_code == 400 and unknown.json()["code"] == 1099


def test_funding_to_trading_and_back(alice_bge, traders, fund, bal):
    alice = traders[0]
    fund(alice, "USDT", "50", account_type=AccountType.FUNDING)
    moved = alice_bge.post("/v1/deposits/account", {"amount": 20, "currency": "USDT"})  # the seed sends a number
    assert moved.status_code == 200, moved.content
    assert moved.json() == {"amount": "20", "currency": "USDT"}
    assert funding_balance(alice, "USDT") == Decimal("30")
    assert bal(alice, "USDT")[0] == Decimal("100020")

    back = alice_bge.post("/v1/withdrawals/account", {"amount": "5.5", "currency": "usdt"})
    assert back.json() == {"amount": "5.5", "currency": "USDT"}
    assert funding_balance(alice, "USDT") == Decimal("35.5")
    assert bal(alice, "USDT")[0] == Decimal("100014.5")


def test_transfer_refusals(alice_bge, traders):
    def code(path, body):
        response = alice_bge.post(path, body)
        assert response.status_code == 400, response.content
        return response.json()["code"]

    assert code("/v1/deposits/account", {"amount": "1", "currency": "USDT"}) == 1093  # funding account empty
    assert code("/v1/withdrawals/account", {"amount": "1000000", "currency": "USDT"}) == 1029
    assert code("/v1/withdrawals/account", {"amount": "1", "currency": "XYZ"}) == 1099
    assert code("/v1/withdrawals/account", {"currency": "USDT"}) == 1001
    assert code("/v1/withdrawals/account", {"amount": "-1", "currency": "USDT"}) == 1001
    assert not Transfer.objects.exists()


def test_a_client_oid_makes_a_transfer_retry_safe(alice_bge, traders):
    body = {"amount": "1", "currency": "USDT", "client_oid": "t-1"}
    assert alice_bge.post("/v1/withdrawals/account", body).status_code == 200
    assert alice_bge.post("/v1/withdrawals/account", body).status_code == 200
    assert Transfer.objects.count() == 1
    assert funding_balance(traders[0], "USDT") == Decimal("1")
