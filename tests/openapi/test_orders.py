"""Order endpoints and account reads, signed like a BHEX SDK (matching runs in-process)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.trading.models import Order, OrderStatus
from tests.openapi.conftest import BhexClient

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT_BUY = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.5",
    "price": "100",
}
ORDER_FIELDS = {
    "symbol",
    "orderId",
    "clientOrderId",
    "price",
    "origQty",
    "executedQty",
    "cummulativeQuoteQty",
    "avgPrice",
    "status",
    "timeInForce",
    "type",
    "side",
    "stopPrice",
    "icebergQty",
    "time",
    "updateTime",
    "isWorking",
}


def ok(response):
    assert response.status_code == 200, response.content
    body = response.json()
    assert not (isinstance(body, dict) and "code" in body)  # success bodies never carry a code
    return body


def test_new_order_then_query_by_id_and_by_client_id(bhex, trader, bal):
    placed = ok(bhex.post("/openapi/v1/order", {**LIMIT_BUY, "newClientOrderId": "bot-1"}))
    assert placed == {"orderId": placed["orderId"], "clientOrderId": "bot-1"}
    assert isinstance(placed["orderId"], int)
    assert bal(trader, "USDT")[1] == Decimal("50")

    by_id = ok(bhex.get("/openapi/v1/order", {"orderId": placed["orderId"]}))
    by_client = ok(bhex.get("/openapi/v1/order", {"origClientOrderId": "bot-1"}))
    assert by_id == by_client
    assert set(by_id) == ORDER_FIELDS
    assert by_id | {"time": 0, "updateTime": 0} == {
        "symbol": "BTCUSDT",
        "orderId": placed["orderId"],
        "clientOrderId": "bot-1",
        "price": "100",
        "origQty": "0.5",
        "executedQty": "0",
        "cummulativeQuoteQty": "0",
        "avgPrice": "0",
        "status": "NEW",
        "timeInForce": "GTC",
        "type": "LIMIT",
        "side": "BUY",
        "stopPrice": "0",
        "icebergQty": "0",
        "time": 0,
        "updateTime": 0,
        "isWorking": True,
    }
    assert by_id["time"] > 0


def test_same_new_client_order_id_returns_the_first_order_with_no_second_effect(bhex, trader, bal):
    first = ok(bhex.post("/openapi/v1/order", {**LIMIT_BUY, "newClientOrderId": "once"}))
    again = ok(bhex.post("/openapi/v1/order", {**LIMIT_BUY, "price": "90", "newClientOrderId": "once"}))
    assert again == first
    assert Order.objects.count() == 1
    assert bal(trader, "USDT") == (Decimal("99950"), Decimal("50"))


def test_market_buy_quantity_is_the_quote_amount(bhex, trader, make_user, fund, place, bal):
    seller = make_user()
    fund(seller, "BTC", "1")
    place(seller, "sell", price="100", quantity="1")
    placed = ok(
        bhex.post("/openapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "25"})
    )
    order = Order.objects.get(pk=placed["orderId"])
    assert (order.type, order.quote_amount, order.quantity) == ("market", Decimal("25"), None)
    assert order.status == OrderStatus.FILLED and order.executed_quantity == Decimal("0.25")
    shown = ok(bhex.get("/openapi/v1/order", {"orderId": order.pk}))
    assert (shown["origQty"], shown["executedQty"], shown["cummulativeQuoteQty"]) == ("25", "0.25", "25")
    assert (shown["avgPrice"], shown["status"], shown["type"], shown["timeInForce"]) == (
        "100",
        "FILLED",
        "MARKET",
        "IOC",
    )


def test_market_sell_quantity_is_base(bhex, make_user, fund, place):
    buyer = make_user()
    fund(buyer, "USDT", "1000")
    place(buyer, "buy", price="100", quantity="1")
    placed = ok(
        bhex.post("/openapi/v1/order", {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.3"})
    )
    order = Order.objects.get(pk=placed["orderId"])
    assert (order.quantity, order.executed_quantity, order.status) == (Decimal("0.3"), Decimal("0.3"), "filled")


def test_test_order_validates_but_places_nothing(bhex, bal, trader):
    assert ok(bhex.post("/openapi/v1/order/test", LIMIT_BUY)) == {}
    assert not Order.objects.exists()
    assert bal(trader, "USDT") == (Decimal("100000"), Decimal("0"))
    refused = bhex.post("/openapi/v1/order/test", {**LIMIT_BUY, "price": "100.001"})
    assert refused.json()["code"] == -1111


def test_cancel_by_order_id_and_by_client_order_id(bhex, trader, bal):
    one = ok(bhex.post("/openapi/v1/order", LIMIT_BUY))
    two = ok(bhex.post("/openapi/v1/order", {**LIMIT_BUY, "newClientOrderId": "c-2"}))
    canceled = ok(bhex.delete("/openapi/v1/order", {"orderId": one["orderId"]}))
    assert canceled == {
        "symbol": "BTCUSDT",
        "clientOrderId": one["clientOrderId"],
        "orderId": one["orderId"],
        "status": "CANCELED",
    }
    assert ok(bhex.delete("/openapi/v1/order", {"clientOrderId": "c-2"}))["orderId"] == two["orderId"]
    assert bal(trader, "USDT") == (Decimal("100000"), Decimal("0"))
    again = bhex.delete("/openapi/v1/order", {"orderId": one["orderId"]})
    assert (again.status_code, again.json()["code"]) == (400, -1142)


def test_cancel_filled_order_and_unknown_orders(bhex, make_user, fund, place):
    seller = make_user()
    fund(seller, "BTC", "1")
    place(seller, "sell", price="100", quantity="1")
    filled = ok(bhex.post("/openapi/v1/order", LIMIT_BUY))
    assert bhex.delete("/openapi/v1/order", {"orderId": filled["orderId"]}).json()["code"] == -1139
    assert bhex.delete("/openapi/v1/order", {"orderId": 999999}).json()["code"] == -2013
    assert bhex.get("/openapi/v1/order", {"orderId": 999999}).json()["code"] == -2013
    assert bhex.delete("/openapi/v1/order", {}).json()["code"] == -1102


def test_someone_elses_order_does_not_exist_for_you(bhex, make_user, fund, place):
    other = make_user()
    fund(other, "USDT", "1000")
    theirs = place(other, "buy", price="100", quantity="1")
    assert bhex.get("/openapi/v1/order", {"orderId": theirs.pk}).json()["code"] == -2013
    assert bhex.delete("/openapi/v1/order", {"orderId": theirs.pk}).json()["code"] == -2013
    assert Order.objects.get(pk=theirs.pk).status == OrderStatus.NEW


def test_open_and_history_orders(bhex):
    ids = [ok(bhex.post("/openapi/v1/order", LIMIT_BUY))["orderId"] for _ in range(3)]
    ok(bhex.delete("/openapi/v1/order", {"orderId": ids[0]}))
    open_orders = ok(bhex.get("/openapi/v1/openOrders", {"symbol": "BTCUSDT"}))
    assert [o["orderId"] for o in open_orders] == [ids[2], ids[1]]  # most recent first
    assert all(set(o) == ORDER_FIELDS and o["status"] == "NEW" for o in open_orders)
    assert [o["orderId"] for o in ok(bhex.get("/openapi/v1/openOrders", {"orderId": ids[2]}))] == [ids[1]]
    assert [o["orderId"] for o in ok(bhex.get("/openapi/v1/openOrders", {"limit": 1}))] == [ids[2]]
    history = ok(bhex.get("/openapi/v1/historyOrders"))
    assert [(o["orderId"], o["status"], o["isWorking"]) for o in history] == [(ids[0], "CANCELED", False)]


def test_account_balances(bhex):
    ok(bhex.post("/openapi/v1/order", LIMIT_BUY))
    account = ok(bhex.get("/openapi/v1/account"))
    assert set(account) == {"canTrade", "canWithdraw", "canDeposit", "updateTime", "balances"}
    assert (account["canTrade"], account["canWithdraw"], account["canDeposit"]) == (True, True, True)
    assert isinstance(account["updateTime"], int)
    assert {"asset": "USDT", "free": "99950", "locked": "50"} in account["balances"]
    assert {"asset": "BTC", "free": "10", "locked": "0"} in account["balances"]


def test_account_of_a_read_only_key_cannot_trade(client, trader, make_key):
    api_key, secret = make_key(trader, ("read",))
    account = ok(BhexClient(client, api_key.key, secret).get("/openapi/v1/account"))
    assert (account["canTrade"], account["canWithdraw"]) == (False, False)


def test_my_trades(bhex, trader, make_user, fund, place):
    seller = make_user()
    fund(seller, "BTC", "1")
    resting = place(seller, "sell", price="100", quantity="1")
    placed = ok(bhex.post("/openapi/v1/order", LIMIT_BUY))
    (trade,) = ok(bhex.get("/openapi/v1/myTrades"))
    assert trade | {"id": 0, "time": 0} == {
        "symbol": "BTCUSDT",
        "id": 0,
        "orderId": placed["orderId"],
        "matchOrderId": resting.pk,
        "price": "100",
        "qty": "0.5",
        "commission": "0.001",
        "commissionAsset": "BTC",
        "time": 0,
        "isBuyer": True,
        "isMaker": False,
        "feeTokenId": "BTC",
        "feeAmount": "0.001",
    }
    assert ok(bhex.get("/openapi/v1/myTrades", {"fromId": trade["id"]})) == []
    assert len(ok(bhex.get("/openapi/v1/myTrades", {"toId": trade["id"] - 1}))) == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"side": "HOLD"}, -1117),
        ({"type": "STOP_LOSS"}, -1116),
        ({"timeInForce": "DAY"}, -1115),
        ({"quantity": ""}, -1102),
        ({"quantity": "abc"}, -1102),
        ({"price": ""}, -1102),
        ({"symbol": "NOPEUSDT"}, -1121),
        ({"price": "100.001"}, -1111),
        ({"quantity": "0.00001"}, -1111),
        ({"quantity": "2000"}, -1135),
        ({"quantity": "0.0001", "price": "1"}, -1140),
        ({"quantity": "999", "price": "1000"}, -2010),
        ({"newClientOrderId": "bad id with spaces"}, -1130),
    ],
)
def test_rejected_orders_get_their_documented_codes(bhex, change, code):
    response = bhex.post("/openapi/v1/order", {**LIMIT_BUY, **change})
    assert response.status_code == 400
    assert response.json()["code"] == code, response.json()
    assert not Order.objects.exists()


def test_account_route_aliases(bhex):
    for path in ("/openapi/v1/account", "/openapi/account", "/openapi/account/v1/account"):
        assert set(ok(bhex.get(path))) >= {"balances"}
