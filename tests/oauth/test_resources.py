"""The OAuth resource API: each endpoint needs its scope, sees only the token's user, is throttled
per token, and places/cancels idempotently by client order id."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine

from apps.accounts.funding import deposit_simulate, withdrawal_request
from apps.oauth.scopes import SCOPES
from apps.trading.models import Order

pytestmark = pytest.mark.django_db

PLACE = {"symbol_id": "BTCUSDT", "side": "BUY", "type": "LIMIT", "price": "100", "quantity": "0.5"}

ENDPOINTS = [
    ("GET", "user/getInfo", "userInfo", {}),
    ("GET", "account/getInfo", "accountInfo", {}),
    ("GET", "account/getAsset", "accountInfo", {}),
    ("GET", "account/getDepositAddress", "accountInfo", {"token_id": "BTC"}),
    ("GET", "account/getBalanceFlow", "accountDetail", {}),
    ("GET", "account/getDepositHistory", "accountDetail", {}),
    ("GET", "account/getWithdrawHistory", "accountDetail", {}),
    ("GET", "trade/spot/getOpenOrderList", "tradeInfo", {}),
    ("GET", "trade/spot/getHistoryOrderList", "tradeInfo", {}),
    ("GET", "trade/spot/getTradeDetailList", "tradeInfo", {}),
    ("POST", "trade/spot/placeOrder", "trade", {**PLACE, "client_order_id": "scope-test"}),
    ("POST", "trade/spot/cancelOrder", "trade", {"client_order_id": "resting-1"}),
]


@pytest.fixture
def unthrottled(settings):
    """For tests that make several calls with one token (the throttle has its own test)."""
    settings.OAUTH_API_RATE_PER_SECOND = 1000


@pytest.fixture
def alice(traders):
    return traders[0]


@pytest.fixture
def bob(traders):
    return traders[1]


@pytest.mark.parametrize(("method", "path", "scope", "params"), ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
def test_each_endpoint_needs_its_scope(method, path, scope, params, app, alice, place, issue_token, api):
    application, _ = app
    resting = place(alice, "buy", price="100", quantity="0.1", client_order_id="resting-1")
    others = " ".join(name for name in SCOPES if name != scope)

    refused = api(method, path, issue_token(alice, application, others), **params)
    assert refused.status_code == 403, refused.content
    assert refused.json() == {"code": "insufficient_scope", "msg": f"This endpoint needs the {scope} scope"}
    assert f'scope="{scope}"' in refused["WWW-Authenticate"]
    assert Order.objects.filter(user=alice).count() == 1  # nothing placed
    resting.refresh_from_db()
    assert resting.is_open  # nothing canceled

    allowed = api(method, path, issue_token(alice, application, scope), **params)
    assert allowed.status_code == 200, allowed.content
    assert "code" not in allowed.json() or isinstance(allowed.json(), list)


def test_user_info(app, alice, issue_token, api):
    body = api("GET", "user/getInfo", issue_token(alice, app[0], "userInfo")).json()
    assert body["uid"] == str(alice.uid) and body["email"] == alice.email and body["kyc_level"] == alice.kyc_level
    assert body["main_account_id"] and "password" not in body


def test_account_info_and_assets(app, alice, issue_token, api, unthrottled, place):
    place(alice, "buy", price="100", quantity="1", client_order_id="hold-100")
    token = issue_token(alice, app[0], "accountInfo")
    info = api("GET", "account/getInfo", token).json()
    assert info["uid"] == str(alice.uid)
    assert {a["account_type"] for a in info["accounts"]} >= {"spot"}
    assets = {row["token_id"]: row for row in api("GET", "account/getAsset", token).json()}
    assert assets["BTC"]["total"] == "10" and assets["BTC"]["available"] == "10"
    usdt = assets["USDT"]
    assert usdt["available"] == "99900" and usdt["locked"] == "100" and usdt["total"] == "100000"
    assert usdt["account_id"] == info["main_account_id"]
    only_btc = api("GET", "account/getAsset", token, token_id="btc").json()
    assert [row["token_id"] for row in only_btc] == ["BTC"]


def test_deposit_address_and_deposit_history(app, alice, issue_token, api, unthrottled):
    info = issue_token(alice, app[0], "accountInfo")
    address = api("GET", "account/getDepositAddress", info, token_id="BTC").json()
    assert address["token_id"] == "BTC" and address["chain"] == "BTC" and address["address"]
    # Stable once issued.
    assert api("GET", "account/getDepositAddress", info, token_id="BTC").json()["address"] == address["address"]
    missing = api("GET", "account/getDepositAddress", info)
    assert missing.status_code == 400 and missing.json()["code"] == "INVALID_PARAMETER"

    deposit_simulate(user=alice, token_id="BTC", amount="0.25")
    detail = issue_token(alice, app[0], "accountDetail")
    deposits = api("GET", "account/getDepositHistory", detail).json()
    assert [(d["token_id"], d["amount"], d["status"], d["address"]) for d in deposits] == [
        ("BTC", "0.25", "credited", address["address"])
    ]
    flow = api("GET", "account/getBalanceFlow", detail, token_id="BTC").json()
    assert flow[0]["change"] == "0.25" and flow[0]["total"] == "10.25" and flow[0]["token_id"] == "BTC"
    older = api("GET", "account/getBalanceFlow", detail, token_id="BTC", from_id=flow[0]["id"]).json()
    assert [row["id"] for row in older] == [row["id"] for row in flow[1:]]


def test_withdraw_history(app, alice, issue_token, api):
    withdrawal_request(
        user=alice,
        token_id="BTC",
        amount="0.5",
        fund_password=None,
        totp_code=None,
        address="bc1qexampleaddress0000000000000000000000",
        client_order_id="w-1",
        requested_by_organization=True,
    )
    rows = api("GET", "account/getWithdrawHistory", issue_token(alice, app[0], "accountDetail")).json()
    assert len(rows) == 1
    assert rows[0]["client_order_id"] == "w-1" and rows[0]["amount"] == "0.5" and rows[0]["token_id"] == "BTC"


@pytest.mark.django_db(transaction=True)  # the matching engine runs after commit
def test_orders_and_trades(app, alice, bob, place, issue_token, api, unthrottled):
    sell = place(alice, "sell", price="20000", quantity="0.5", client_order_id="ask-1")
    buy = place(bob, "buy", price="20000", quantity="0.2", client_order_id="bid-1")
    token = issue_token(alice, app[0], "tradeInfo")

    open_orders = api("GET", "trade/spot/getOpenOrderList", token).json()
    assert [(o["order_id"], o["status"], o["executed_quantity"]) for o in open_orders] == [
        (str(sell.pk), "PARTIALLY_FILLED", "0.2")
    ]
    assert open_orders[0]["side"] == "SELL" and open_orders[0]["symbol_id"] == "BTCUSDT"

    trades = api("GET", "trade/spot/getTradeDetailList", token).json()
    assert len(trades) == 1
    trade = trades[0]
    assert trade["order_id"] == str(sell.pk) and trade["match_order_id"] == str(buy.pk)
    assert trade["side"] == "SELL" and trade["price"] == "20000" and trade["quantity"] == "0.2"
    assert trade["amount"] == "4000" and trade["fee_token_id"] == "USDT"

    place(bob, "buy", price="20000", quantity="0.3", client_order_id="bid-2")
    history = api("GET", "trade/spot/getHistoryOrderList", token, symbol_id="BTCUSDT").json()
    assert [(o["client_order_id"], o["status"]) for o in history] == [("ask-1", "FILLED")]
    assert api("GET", "trade/spot/getOpenOrderList", token).json() == []


def test_place_order_is_idempotent_by_client_order_id(app, alice, issue_token, api, bal, unthrottled):
    token = issue_token(alice, app[0], "trade")
    first = api("POST", "trade/spot/placeOrder", token, **PLACE, client_order_id="my-1")
    assert first.status_code == 200, first.content
    order = first.json()
    assert order["client_order_id"] == "my-1" and order["status"] == "NEW" and order["price"] == "100"
    assert bal(alice, "USDT") == (99950, 50)
    again = api("POST", "trade/spot/placeOrder", token, **{**PLACE, "quantity": "3"}, client_order_id="my-1")
    assert again.status_code == 200 and again.json()["order_id"] == order["order_id"]
    assert again.json()["quantity"] == "0.5"
    assert Order.objects.filter(user=alice).count() == 1
    assert bal(alice, "USDT") == (99950, 50)  # held once


def test_place_order_needs_a_client_order_id(app, alice, issue_token, api):
    answer = api("POST", "trade/spot/placeOrder", issue_token(alice, app[0], "trade"), **PLACE)
    assert answer.status_code == 400 and answer.json()["code"] == "INVALID_PARAMETER"
    assert "client_order_id" in answer.json()["msg"]
    assert not Order.objects.filter(user=alice).exists()


def test_business_errors_use_the_catalog_codes(app, alice, issue_token, api, unthrottled):
    token = issue_token(alice, app[0], "trade")
    poor = api("POST", "trade/spot/placeOrder", token, **{**PLACE, "quantity": "5000"}, client_order_id="big")
    assert poor.status_code == 400 and poor.json()["code"] in ("INSUFFICIENT_BALANCE", "QUANTITY_TOO_LARGE")
    unknown = api("POST", "trade/spot/placeOrder", token, **{**PLACE, "symbol_id": "NOPE"}, client_order_id="u")
    assert unknown.status_code == 400 and unknown.json()["code"] == "UNKNOWN_SYMBOL"
    assert set(unknown.json()) == {"code", "msg"}


@pytest.mark.django_db(transaction=True)  # the cancel is carried out by the engine after commit
def test_cancel_order_is_idempotent(app, alice, issue_token, api, bal, unthrottled):
    token = issue_token(alice, app[0], "trade")
    placed = api("POST", "trade/spot/placeOrder", token, **PLACE, client_order_id="c-1").json()
    first = api("POST", "trade/spot/cancelOrder", token, client_order_id="c-1")
    assert first.status_code == 200 and first.json()["status"] == "CANCELED"
    assert first.json()["order_id"] == placed["order_id"]
    assert bal(alice, "USDT") == (100000, 0)
    again = api("POST", "trade/spot/cancelOrder", token, order_id=int(placed["order_id"]))
    assert again.status_code == 200 and again.json() == first.json()
    assert bal(alice, "USDT") == (100000, 0)
    neither = api("POST", "trade/spot/cancelOrder", token)
    assert neither.status_code == 400 and neither.json()["code"] == "INVALID_PARAMETER"


def test_a_token_never_sees_another_users_data(app, alice, bob, place, issue_token, api, unthrottled):
    application, _ = app
    alice_order = place(alice, "buy", price="100", quantity="0.1", client_order_id="alice-1")
    place(bob, "sell", price="30000", quantity="0.1", client_order_id="bob-1")
    deposit_simulate(user=alice, token_id="BTC", amount="1")
    bob_token = issue_token(bob, application, " ".join(SCOPES))

    assert api("GET", "user/getInfo", bob_token).json()["uid"] == str(bob.uid)
    opened = api("GET", "trade/spot/getOpenOrderList", bob_token).json()
    assert [o["client_order_id"] for o in opened] == ["bob-1"]
    assert api("GET", "account/getDepositHistory", bob_token).json() == []
    flow_accounts = {row["account_id"] for row in api("GET", "account/getBalanceFlow", bob_token).json()}
    assert flow_accounts == {api("GET", "account/getInfo", bob_token).json()["main_account_id"]}
    assets = {row["token_id"]: row["total"] for row in api("GET", "account/getAsset", bob_token).json()}
    assert assets["BTC"] == "10"  # not alice's 11
    # Bob cannot touch Alice's order, by id or by her client order id; no uid parameter changes that.
    by_id = api("POST", "trade/spot/cancelOrder", bob_token, order_id=alice_order.pk)
    assert by_id.status_code == 404 and by_id.json()["code"] == "ORDER_NOT_FOUND"
    by_client_id = api("POST", "trade/spot/cancelOrder", bob_token, client_order_id="alice-1")
    assert by_client_id.status_code == 404
    with_uid = api("GET", "user/getInfo", bob_token, uid=str(alice.uid))
    assert with_uid.json()["uid"] == str(bob.uid)
    alice_order.refresh_from_db()
    assert alice_order.is_open


def test_third_request_within_one_second_is_throttled(app, alice, issue_token, api):
    application, _ = app
    with time_machine.travel(datetime(2030, 1, 1, 12, 0, 0, 100_000), tick=False):
        token = issue_token(alice, application, "userInfo tradeInfo")
        other = issue_token(alice, application, "userInfo")
        assert api("GET", "user/getInfo", token).status_code == 200
        assert api("GET", "trade/spot/getOpenOrderList", token).status_code == 200
        third = api("GET", "user/getInfo", token)
        assert third.status_code == 429
        assert third.json()["code"] == "RATE_LIMITED" and int(third["Retry-After"]) >= 1
        assert api("GET", "user/getInfo", other).status_code == 200  # the limit is per token
    with time_machine.travel(datetime(2030, 1, 1, 12, 0, 1, 200_000), tick=False):
        assert api("GET", "user/getInfo", token).status_code == 200  # the next second
