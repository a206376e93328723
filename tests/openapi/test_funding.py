"""Funding endpoints of rest-api-cn.md: deposits, withdrawals, deposit address, sub-accounts,
transfers and the balance flow; and the user data stream's listen keys."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.accounts import funding
from apps.accounts.models import Account, AccountType, Transfer, Withdrawal
from apps.openapi.listen_keys import listen_key_get
from tests.openapi.conftest import BhexClient

pytestmark = pytest.mark.django_db

BTC_ADDRESS = "bc1qexampleaddress0000000000000000000000"


def ok(response):
    assert response.status_code == 200, response.content
    body = response.json()
    assert not (isinstance(body, dict) and "code" in body)
    return body


def code(response) -> int:
    assert response.status_code == 400, response.content
    return response.json()["code"]


def test_deposit_address_and_deposit_orders(bhex, trader):
    address = ok(bhex.get("/openapi/v1/depositAddress", {"tokenId": "BTC"}))
    assert set(address) == {
        "allowDeposit",
        "address",
        "addressExt",
        "minQuantity",
        "requiredConfirmNum",
        "canWithdrawConfirmNum",
        "tokenType",
    }
    assert address["allowDeposit"] is True and address["address"] and address["tokenType"] == "BTC"
    assert address["requiredConfirmNum"] == 2
    assert ok(bhex.get("/openapi/v1/depositAddress", {"tokenId": "BTC"}))["address"] == address["address"]  # stable
    assert code(bhex.get("/openapi/v1/depositAddress", {})) == -1102

    first = funding.deposit_simulate(user=trader, token_id="BTC", amount="0.5", confirmations=2, txid="tx-1")
    second = funding.deposit_simulate(user=trader, token_id="BTC", amount="0.25", confirmations=2, txid="tx-2")
    rows = ok(bhex.get("/openapi/v1/depositOrders"))
    assert [r["orderId"] for r in rows] == [second.pk, first.pk]
    assert rows[1] | {"time": 0} == {
        "orderId": first.pk,
        "token": "BTC",
        "address": address["address"],
        "addressTag": "",
        "fromAddress": "",
        "fromAddressTag": "",
        "time": 0,
        "quantity": "0.5",
    }
    # rest-api.md: with fromId, the deposits after it
    assert [r["orderId"] for r in ok(bhex.get("/openapi/v1/depositOrders", {"fromId": first.pk}))] == [second.pk]
    assert ok(bhex.get("/openapi/v1/depositOrders", {"token": "USDT"})) == []


@pytest.fixture
def saved_address(trader):
    return funding.address_book_add(user=trader, token_id="BTC", address=BTC_ADDRESS)


def test_withdraw_to_a_saved_address_then_read_it_back(bhex, trader, saved_address, bal):
    placed = ok(
        bhex.post(
            "/openapi/v1/withdraw",
            {"tokenId": "BTC", "clientOrderId": "20240101", "address": BTC_ADDRESS, "withdrawQuantity": "1"},
        )
    )
    assert set(placed) == {"status", "success", "needBrokerAudit", "orderId"}
    assert (placed["status"], placed["success"], isinstance(placed["orderId"], str)) == (0, True, True)
    withdrawal = Withdrawal.objects.get(pk=int(placed["orderId"]))
    assert placed["needBrokerAudit"] == (withdrawal.status == "reviewing")
    assert bal(trader, "BTC") == (Decimal("9"), Decimal("1"))

    again = ok(
        bhex.post(
            "/openapi/v1/withdraw",
            {"tokenId": "BTC", "clientOrderId": "20240101", "address": BTC_ADDRESS, "withdrawQuantity": "1"},
        )
    )
    assert again["orderId"] == placed["orderId"]
    assert Withdrawal.objects.count() == 1 and bal(trader, "BTC") == (Decimal("9"), Decimal("1"))

    detail = ok(bhex.get("/openapi/v1/withdraw/detail", {"orderId": placed["orderId"]}))
    assert detail == ok(bhex.get("/openapi/v1/withdraw/detail", {"clientOrderId": "20240101"}))
    assert detail | {"time": "", "walletHandleTime": ""} == {
        "time": "",
        "orderId": placed["orderId"],
        "accountId": str(withdrawal.account_id),
        "tokenId": "BTC",
        "tokenName": "BTC",
        "address": BTC_ADDRESS,
        "addressExt": "",
        "quantity": "1",
        "arriveQuantity": "0.9995",
        "statusCode": detail["statusCode"],
        "status": detail["status"],
        "txid": "",
        "txidUrl": "",
        "walletHandleTime": "",
        "feeTokenId": "BTC",
        "feeTokenName": "BTC",
        "fee": "0.0005",
        "requiredConfirmNum": 0,
        "confirmNum": 0,
        "kernelId": "",
        "isInternalTransfer": False,
    }
    assert (detail["status"], detail["statusCode"]) in {(1, "BROKER_AUDITING_STATUS"), (5, "PROCESSING_STATUS")}
    assert detail["time"].isdigit()
    assert [w["orderId"] for w in ok(bhex.get("/openapi/v1/withdrawalOrders"))] == [placed["orderId"]]
    assert code(bhex.get("/openapi/v1/withdraw/detail", {"orderId": 999999})) == -2013


def test_withdraw_refusals_execute_nothing(client, bhex, trader, make_key, saved_address):
    params = {"tokenId": "BTC", "clientOrderId": "1", "address": BTC_ADDRESS, "withdrawQuantity": "1"}
    api_key, secret = make_key(trader, ("read", "trade"))
    no_permission = BhexClient(client, api_key.key, secret).post("/openapi/v1/withdraw", params)
    assert code(no_permission) == -2015
    assert code(bhex.post("/openapi/v1/withdraw", {**params, "address": "bc1qnotsaved00000000000000"})) == -1130
    assert code(bhex.post("/openapi/v1/withdraw", {**params, "withdrawQuantity": "1000"})) == -2010
    assert code(bhex.post("/openapi/v1/withdraw", {k: v for k, v in params.items() if k != "clientOrderId"})) == -1102
    assert not Withdrawal.objects.exists()


def test_sub_accounts_and_transfers(client, bhex, trader, make_key, bal):
    main = Account.objects.get(user=trader, type=AccountType.SPOT, index=0)
    sub = Account.objects.create(
        organization=trader.organization, user=trader, type=AccountType.SPOT, index=1, name="grid bot"
    )
    rows = ok(bhex.post("/openapi/v1/subAccount/query"))
    assert rows == [
        {"accountId": str(main.pk), "accountName": "", "accountType": 1, "accountIndex": 0},
        {"accountId": str(sub.pk), "accountName": "grid bot", "accountType": 1, "accountIndex": 1},
    ]
    transfer = {
        "fromAccountType": 1,
        "fromAccountIndex": 0,
        "toAccountType": 1,
        "toAccountIndex": 1,
        "tokenId": "USDT",
        "amount": "12.5",
    }
    assert ok(bhex.post("/openapi/v1/transfer", transfer)) == {"success": "true"}
    assert bal(trader, "USDT")[0] == Decimal("99987.5")
    assert code(bhex.post("/openapi/v1/transfer", {**transfer, "toAccountType": 3})) == -1130
    assert code(bhex.post("/openapi/v1/transfer", {**transfer, "toAccountIndex": 7})) == -1130
    api_key, secret = make_key(trader, ("read", "trade"))
    assert code(BhexClient(client, api_key.key, secret).post("/openapi/v1/transfer", transfer)) == -2015
    assert Transfer.objects.count() == 1

    flow = ok(bhex.post("/openapi/v1/balance_flow", {"tokenId": "USDT"}))
    assert flow[0] | {"id": "", "created": ""} == {
        "id": "",
        "accountId": str(main.pk),
        "tokenId": "USDT",
        "tokenName": "USDT",
        "flowTypeValue": 51,
        "flowType": "USER_ACCOUNT_TRANSFER",
        "flowName": "Transfer",
        "change": "-12.5",
        "total": "99987.5",
        "created": "",
    }
    assert flow[1]["flowType"] == "DEPOSIT" and flow[1]["change"] == "100000"
    sub_flow = ok(bhex.post("/openapi/v1/balance_flow", {"accountIndex": 1}))
    assert [(f["accountId"], f["change"]) for f in sub_flow] == [(str(sub.pk), "12.5")]
    older = ok(bhex.post("/openapi/v1/balance_flow", {"tokenId": "USDT", "fromFlowId": flow[0]["id"]}))
    assert [f["id"] for f in older] == [flow[1]["id"]]


def test_listen_key_create_keepalive_close(client, bhex, trader, make_user, make_key):
    created = ok(bhex.post("/openapi/v1/userDataStream"))
    listen_key = created["listenKey"]
    assert set(created) == {"listenKey"} and len(listen_key) == 64
    assert listen_key_get(listen_key)["user_id"] == trader.pk
    assert ok(bhex.put("/openapi/v1/userDataStream", {"listenKey": listen_key})) == {}

    stranger = make_user()
    key, secret = make_key(stranger, ("read",))
    other = BhexClient(client, key.key, secret)
    assert code(other.put("/openapi/v1/userDataStream", {"listenKey": listen_key})) == -1125
    assert code(other.delete("/openapi/v1/userDataStream", {"listenKey": listen_key})) == -1125

    assert ok(bhex.delete("/openapi/v1/userDataStream", {"listenKey": listen_key})) == {}
    assert listen_key_get(listen_key) is None
    assert code(bhex.put("/openapi/v1/userDataStream", {"listenKey": listen_key})) == -1125
    assert code(bhex.put("/openapi/v1/userDataStream", {})) == -1102
